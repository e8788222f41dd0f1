// JobManager: following a job from start to recorded end, stops, timeouts.
#include <utility>

#include "absl/strings/str_cat.h"
#include "domain/job_manager.h"

namespace cmdctl {
namespace {

// How soon a failed commit of a job's end is tried again.
constexpr absl::Duration kRecordRetry = absl::Seconds(1);

}  // namespace

void JobManager::Follow(const std::shared_ptr<Job>& job) {
  std::shared_ptr<Lifeline> lifeline = lifeline_;
  const JobRecord record = job->Record();
  if (record.status.stop_requested &&
      record.kill_at != absl::InfiniteFuture()) {
    ScheduleKill(job, record.kill_at);  // a stop under way before a restart
  }
  if (record.timeout_at != absl::InfiniteFuture()) {
    std::weak_ptr<Job> weak = job;
    const TimerId timer =
        host_->RunAfter(record.timeout_at - host_->Now(), [lifeline, weak] {
          std::shared_ptr<Job> j = weak.lock();
          if (j == nullptr || j->ended()) return;
          WithManager(lifeline, [&](JobManager& m) {
            m.BeginStop(j, m.options_.default_stop.grace, /*by_timeout=*/true);
          });
        });
    ProcessHost* host = host_;
    job->WhenEnded(
        [host, timer](const JobStatus&) { host->CancelTimer(timer); });
  }
  // Weak: the job must not keep itself alive through its own callback.
  job->WhenEnded([lifeline, weak = std::weak_ptr<Job>(job)](const JobStatus&) {
    std::shared_ptr<Job> j = weak.lock();
    if (j == nullptr) return;
    WithManager(lifeline, [&](JobManager& m) { m.RecordEnd(j); });
  });
}

void JobManager::RecordEnd(const std::shared_ptr<Job>& job) {
  absl::Status recorded = store_->Update(job->Record());
  if (!recorded.ok()) {
    // The job stays in memory with its final status (and the host keeps
    // its end) until the store takes it.
    std::shared_ptr<Lifeline> lifeline = lifeline_;
    host_->RunAfter(kRecordRetry, [lifeline, job] {
      WithManager(lifeline, [&](JobManager& m) { m.RecordEnd(job); });
    });
    return;
  }
  host_->Release(job->id());
  registry_.Remove(job->id());
}

void JobManager::DiscardUnrecorded(const std::string& job_id) {
  if (host_->Discard(job_id).ok()) return;
  // The tree could not be signalled (out of fds or processes, say): no
  // record will ever name it, so try until the host can.
  std::shared_ptr<Lifeline> lifeline = lifeline_;
  host_->RunAfter(kRecordRetry, [lifeline, job_id] {
    WithManager(lifeline, [&](JobManager& m) { m.DiscardUnrecorded(job_id); });
  });
}

void JobManager::Stop(const std::string& owner, const std::string& job_id,
                      std::optional<absl::Duration> grace,
                      std::function<void(absl::StatusOr<JobStatus>)> done) {
  const absl::Duration g = grace.value_or(options_.default_stop.grace);
  if (g < absl::ZeroDuration()) {
    done(absl::InvalidArgumentError("grace period must not be negative"));
    return;
  }
  absl::StatusOr<std::shared_ptr<Job>> job = registry_.Find(owner, job_id);
  if (!job.ok()) {
    // Not running: an ended job's final status, or NOT_FOUND.
    absl::StatusOr<JobRecord> record = EndedRecord(owner, job_id);
    if (!record.ok()) {
      done(record.status());
    } else {
      done(record->status);
    }
    return;
  }
  BeginStop(*job, g, /*by_timeout=*/false);
  (*job)->WhenEnded([done = std::move(done)](const JobStatus& final_status) {
    done(final_status);
  });
}

void JobManager::BeginStop(const std::shared_ptr<Job>& job,
                           absl::Duration grace, bool by_timeout) {
  if (job->RequestStop(by_timeout)) {
    if (!host_->Terminate(job->id()).ok()) {
      // TERM could not be delivered: do not wait out the grace period.
      grace = absl::ZeroDuration();
    }
  }
  if (job->ended()) return;
  const absl::Time kill_at = host_->Now() + grace;
  job->SetKillAt(kill_at);
  // The stop and its KILL appointment survive a restart; if the store
  // fails, the stop still happens (only a restart would forget it).
  (void)store_->Update(job->Record());
  // The job may have ended since its record was read above, and its final
  // record (RecordEnd) been written before ours: never leave a running
  // record behind an ended job. (If it ends after this check, RecordEnd
  // writes after us.)
  if (job->ended()) (void)store_->Update(job->Record());
  ScheduleKill(job, kill_at);
}

void JobManager::ScheduleKill(const std::shared_ptr<Job>& job, absl::Time at) {
  std::weak_ptr<Job> weak = job;
  std::shared_ptr<Lifeline> lifeline = lifeline_;
  const TimerId timer = host_->RunAfter(at - host_->Now(), [weak, lifeline] {
    std::shared_ptr<Job> j = weak.lock();
    if (j == nullptr || j->ended()) return;
    WithManager(lifeline, [&](JobManager& m) { (void)m.host_->Kill(j->id()); });
  });
  ProcessHost* host = host_;
  job->WhenEnded([host, timer](const JobStatus&) { host->CancelTimer(timer); });
}

void JobManager::StopAll(absl::Duration grace, std::function<void()> done) {
  struct Countdown {
    absl::Mutex mu;
    size_t left ABSL_GUARDED_BY(mu) = 0;
    std::function<void()> done;
  };
  auto countdown = std::make_shared<Countdown>();
  countdown->done = std::move(done);
  std::vector<std::shared_ptr<Job>> running;
  for (auto& job : registry_.All()) {
    if (!job->ended()) running.push_back(std::move(job));
  }
  {
    absl::MutexLock lock(&countdown->mu);
    // One extra count, released below, so `done` cannot run before every
    // job has been asked to stop.
    countdown->left = running.size() + 1;
  }
  auto release = [countdown] {
    bool last;
    {
      absl::MutexLock lock(&countdown->mu);
      last = --countdown->left == 0;
    }
    if (last) countdown->done();
  };
  for (const auto& job : running) {
    BeginStop(job, grace, /*by_timeout=*/false);
    job->WhenEnded([release](const JobStatus&) { release(); });
  }
  release();
}

}  // namespace cmdctl

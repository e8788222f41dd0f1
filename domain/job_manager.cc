#include "domain/job_manager.h"

#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"

namespace cmdctl {

JobManager::JobManager(ProcessHost* host,
                       std::function<std::string()> new_job_id,
                       JobManagerOptions options)
    : host_(host), new_job_id_(std::move(new_job_id)), options_(options) {}

absl::StatusOr<JobStatus> JobManager::Run(const Caller& caller,
                                          const RunRequest& req) {
  if (absl::Status valid = ValidateRunRequest(req); !valid.ok()) return valid;
  absl::StatusOr<std::string> run_as = ResolveRunAs(caller, req.run_as);
  if (!run_as.ok()) return run_as.status();

  ProcessSpec spec;
  spec.job_id = new_job_id_();
  spec.program = req.command;
  spec.args = req.args;
  spec.run_as = *std::move(run_as);
  spec.working_dir = req.working_dir;
  spec.env.assign(req.env.begin(), req.env.end());

  if (absl::Status claimed = registry_.Reserve(spec.job_id); !claimed.ok()) {
    return absl::InternalError(
        absl::StrCat("could not allocate a job id: ", claimed.message()));
  }
  auto job =
      std::make_shared<Job>(spec.job_id, caller.identity, spec, host_->Now());
  absl::StatusOr<StartedProcess> started = host_->Start(spec, job);
  if (!started.ok()) {
    registry_.Unreserve(spec.job_id);
    return started.status();
  }
  job->SetPid(started->pid);
  (void)registry_.Add(job);  // cannot fail: the id was claimed above
  return job->Status();
}

absl::StatusOr<JobStatus> JobManager::GetStatus(const std::string& owner,
                                                const std::string& job_id) {
  absl::StatusOr<std::shared_ptr<Job>> job = registry_.Find(owner, job_id);
  if (!job.ok()) return job.status();
  return (*job)->Status();
}

std::vector<JobStatus> JobManager::List(const std::string& owner) {
  std::vector<JobStatus> out;
  for (const auto& job : registry_.ListByOwner(owner)) {
    out.push_back(job->Status());
  }
  return out;
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
    done(job.status());
    return;
  }
  BeginStop(*job, g);
  (*job)->WhenEnded([done = std::move(done)](const JobStatus& final_status) {
    done(final_status);
  });
}

void JobManager::BeginStop(const std::shared_ptr<Job>& job,
                           absl::Duration grace) {
  if (job->RequestStop()) {
    if (!host_->Terminate(job->id()).ok()) {
      // TERM could not be delivered: do not wait out the grace period.
      grace = absl::ZeroDuration();
    }
  }
  if (job->ended()) return;
  std::weak_ptr<Job> weak = job;
  ProcessHost* host = host_;
  const TimerId timer = host_->RunAfter(grace, [weak, host] {
    if (std::shared_ptr<Job> j = weak.lock(); j && !j->ended()) {
      (void)host->Kill(j->id());
    }
  });
  job->WhenEnded([host, timer](const JobStatus&) { host->CancelTimer(timer); });
}

absl::StatusOr<std::unique_ptr<OutputCursor>> JobManager::OpenOutput(
    const std::string& owner, const std::string& job_id, bool follow) {
  absl::StatusOr<std::shared_ptr<Job>> job = registry_.Find(owner, job_id);
  if (!job.ok()) return job.status();
  return OutputCursor::Open(*std::move(job), host_, follow,
                            options_.output_chunk_bytes);
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
    BeginStop(job, grace);
    job->WhenEnded([release](const JobStatus&) { release(); });
  }
  release();
}

}  // namespace cmdctl

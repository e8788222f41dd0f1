// JobManager: taking the jobs up again after a restart, and retention.
#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "domain/job_manager.h"

namespace cmdctl {
namespace {

// The retention sweep runs this often at most (and at least every
// retention/4, so that a short retention is honoured closely).
constexpr absl::Duration kMaxSweepInterval = absl::Minutes(10);
constexpr absl::Duration kMinSweepInterval = absl::Seconds(1);

}  // namespace

absl::StatusOr<JobManager::Recovery> JobManager::Recover() {
  absl::StatusOr<std::vector<JobRecord>> running = store_->LoadRunning();
  if (!running.ok()) return running.status();
  Recovery result;
  for (const JobRecord& record : *running) {
    auto job = std::make_shared<Job>(record);
    absl::StatusOr<std::optional<JobEnd>> attached =
        host_->Attach(record.status.job_id, record.host_state, job);
    if (!attached.ok()) {
      // Followed by nobody: its record stays RUNNING for the next start,
      // and the caller logs the count.
      ++result.failed;
      continue;
    }
    (void)registry_.Add(job);
    if (attached->has_value()) {
      ++result.ended;
      if ((*attached)->lost) ++result.lost;
      job->OnEnd(**attached);
    } else {
      ++result.running;
    }
    Follow(job);  // an ended one is recorded (and leaves) at once
  }
  // What the host holds without a record: started, but the record was
  // never committed (a crash in between), or its end recorded but not
  // released.
  for (const std::string& job_id : host_->Leftovers()) {
    if (registry_.FindAny(job_id) != nullptr) continue;
    absl::StatusOr<JobRecord> record = store_->Get(job_id);
    if (record.ok()) {
      host_->Release(job_id);
    } else if (record.status().code() == absl::StatusCode::kNotFound) {
      (void)host_->Discard(job_id);
      ++result.discarded;
    }
  }
  if (options_.retention > absl::ZeroDuration()) {
    ScheduleRetention(absl::ZeroDuration());
  }
  return result;
}

absl::StatusOr<int> JobManager::SweepRetention(int batch) {
  if (options_.retention <= absl::ZeroDuration()) return 0;
  absl::StatusOr<std::vector<JobRecord>> expired =
      store_->EndedBefore(host_->Now() - options_.retention, batch);
  if (!expired.ok()) return expired.status();
  int removed = 0;
  for (const JobRecord& record : *expired) {
    const std::string& id = record.status.job_id;
    // As Remove: the files first, so no file outlives its record.
    if (!host_->RemoveOutput(id, record.host_state).ok()) continue;
    if (store_->Delete(id).ok()) ++removed;
  }
  return removed;
}

void JobManager::ScheduleRetention(absl::Duration delay) {
  std::shared_ptr<Lifeline> lifeline = lifeline_;
  host_->RunAfter(delay, [lifeline] {
    WithManager(lifeline, [](JobManager& m) {
      // Small batches on the host's thread, back to back while there is
      // more, so that exits and timers are never held up for long.
      constexpr int kBatch = 16;
      absl::StatusOr<int> removed = m.SweepRetention(kBatch);
      const absl::Duration interval = std::clamp(
          m.options_.retention / 4, kMinSweepInterval, kMaxSweepInterval);
      m.ScheduleRetention(
          removed.ok() && *removed == kBatch ? absl::ZeroDuration() : interval);
    });
  });
}

}  // namespace cmdctl

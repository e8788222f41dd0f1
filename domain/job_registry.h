// The jobs that run now (and those whose end is not yet recorded), scoped by
// owner, with each owner's count for the per-identity quota. Ended jobs
// leave it once their end is in the JobStore, so its size follows the
// running jobs, never the history. Thread-safe.
#ifndef CMDCTL_DOMAIN_JOB_REGISTRY_H_
#define CMDCTL_DOMAIN_JOB_REGISTRY_H_

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "domain/job.h"

namespace cmdctl {

class JobRegistry {
 public:
  // Claims `job_id` for `owner` before its process is started, so that no
  // second process is ever started under a taken id and the owner's quota
  // counts it from now on. ALREADY_EXISTS if the id is taken or claimed
  // (only a broken random source gets there); RESOURCE_EXHAUSTED, naming
  // the limit, when `owner` already has `max_per_owner` jobs (0: no limit).
  absl::Status Reserve(const std::string& job_id, const std::string& owner,
                       size_t max_per_owner) ABSL_LOCKS_EXCLUDED(mu_);

  // Drops a claim whose job could not be started.
  void Unreserve(const std::string& job_id) ABSL_LOCKS_EXCLUDED(mu_);

  // Adds a job under its claimed (or a free) id. ALREADY_EXISTS if another
  // job holds the id.
  absl::Status Add(std::shared_ptr<Job> job) ABSL_LOCKS_EXCLUDED(mu_);

  // Takes the job out (its end is recorded); frees its quota slot.
  void Remove(const std::string& job_id) ABSL_LOCKS_EXCLUDED(mu_);

  // The job `job_id` if `owner` started it. Another owner's job is NOT_FOUND
  // with exactly the same message as an id that never existed.
  absl::StatusOr<std::shared_ptr<Job>> Find(const std::string& owner,
                                            const std::string& job_id) const
      ABSL_LOCKS_EXCLUDED(mu_);

  // The job `job_id` whoever owns it; nullptr when there is none.
  std::shared_ptr<Job> FindAny(const std::string& job_id) const
      ABSL_LOCKS_EXCLUDED(mu_);

  // `owner`'s jobs and claims now.
  size_t Count(const std::string& owner) const ABSL_LOCKS_EXCLUDED(mu_);

  // Every job (shutdown, tests).
  std::vector<std::shared_ptr<Job>> All() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Entry {
    std::string owner;
    std::shared_ptr<Job> job;  // null: claimed, being started
  };

  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Entry> by_id_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, size_t> per_owner_ ABSL_GUARDED_BY(mu_);
};

}  // namespace cmdctl

#endif  // CMDCTL_DOMAIN_JOB_REGISTRY_H_

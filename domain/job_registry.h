// The set of jobs, scoped by owner. Thread-safe.
#ifndef CMDCTL_DOMAIN_JOB_REGISTRY_H_
#define CMDCTL_DOMAIN_JOB_REGISTRY_H_

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
  // Claims `job_id` before its process is started, so that no second process
  // is ever started under a taken id. ALREADY_EXISTS if the id is taken or
  // claimed (only a broken random source gets there).
  absl::Status Reserve(const std::string& job_id) ABSL_LOCKS_EXCLUDED(mu_);

  // Drops a claim whose process could not be started.
  void Unreserve(const std::string& job_id) ABSL_LOCKS_EXCLUDED(mu_);

  // Adds a started job under its claimed (or a free) id. ALREADY_EXISTS if
  // another job holds the id.
  absl::Status Add(std::shared_ptr<Job> job) ABSL_LOCKS_EXCLUDED(mu_);

  // The job `job_id` if `owner` started it. Another owner's job is NOT_FOUND
  // with exactly the same message as an id that never existed.
  absl::StatusOr<std::shared_ptr<Job>> Find(const std::string& owner,
                                            const std::string& job_id) const
      ABSL_LOCKS_EXCLUDED(mu_);

  // `owner`'s jobs, oldest first.
  std::vector<std::shared_ptr<Job>> ListByOwner(const std::string& owner) const
      ABSL_LOCKS_EXCLUDED(mu_);

  // Every job (for shutdown).
  std::vector<std::shared_ptr<Job>> All() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  mutable absl::Mutex mu_;
  // A null value is a claimed id whose job is being started.
  absl::flat_hash_map<std::string, std::shared_ptr<Job>> by_id_
      ABSL_GUARDED_BY(mu_);
  // Insertion order per owner.
  absl::flat_hash_map<std::string, std::vector<std::shared_ptr<Job>>> by_owner_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace cmdctl

#endif  // CMDCTL_DOMAIN_JOB_REGISTRY_H_

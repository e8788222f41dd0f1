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
  // Adds a started job. ALREADY_EXISTS if its id is taken (a broken random
  // source; the caller must not start the process twice).
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
  absl::flat_hash_map<std::string, std::shared_ptr<Job>> by_id_
      ABSL_GUARDED_BY(mu_);
  // Insertion order per owner.
  absl::flat_hash_map<std::string, std::vector<std::shared_ptr<Job>>> by_owner_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace cmdctl

#endif  // CMDCTL_DOMAIN_JOB_REGISTRY_H_

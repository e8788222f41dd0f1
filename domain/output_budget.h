// A server-wide allowance of bytes for large output reads. An OutputCursor
// whose reader is behind reads (and sends) up to a large chunk at a time
// while it holds a reservation of that many bytes from here; a reader that
// cannot reserve reads normal chunks, as every caught-up follower does. So
// many active readers cost at most their normal chunks plus this budget
// (plus gRPC's serialized copy of each message in flight: about twice it).
//
// Thread-safe: readers on any thread reserve and release.
#ifndef CMDCTL_DOMAIN_OUTPUT_BUDGET_H_
#define CMDCTL_DOMAIN_OUTPUT_BUDGET_H_

#include <cstddef>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace cmdctl {

class OutputBudget {
 public:
  explicit OutputBudget(size_t total_bytes) : total_(total_bytes) {}
  OutputBudget(const OutputBudget&) = delete;
  OutputBudget& operator=(const OutputBudget&) = delete;

  // Reserves `bytes`; false, reserving nothing, when fewer are left.
  bool TryReserve(size_t bytes) ABSL_LOCKS_EXCLUDED(mu_);
  // Gives back `bytes` of an earlier TryReserve.
  void Release(size_t bytes) ABSL_LOCKS_EXCLUDED(mu_);

  size_t total() const { return total_; }
  // Reserved now (tests, metrics).
  size_t reserved() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  const size_t total_;
  mutable absl::Mutex mu_;
  size_t reserved_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace cmdctl

#endif  // CMDCTL_DOMAIN_OUTPUT_BUDGET_H_

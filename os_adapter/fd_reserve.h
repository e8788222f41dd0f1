// A few file descriptors held in reserve (on /dev/null), so that undoing a
// failed start, or removing an ended job, never finds the process without
// the fds it needs: a start that failed because the process ran out of fds
// must still remove the directories, cgroup and files it made (issue 14).
//
// Borrow() closes the reserve for the life of the lease, and the lease's
// end takes it again (what cannot be taken then is taken at a later
// lease's end). Another thread may take a freed fd meanwhile; the reserve
// makes running out far less likely, it cannot forbid it.
//
// Thread-safe.
#ifndef CMDCTL_OS_ADAPTER_FD_RESERVE_H_
#define CMDCTL_OS_ADAPTER_FD_RESERVE_H_

#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/unique_fd.h"

namespace cmdctl {

class FdReserve {
 public:
  // Takes `size` fds now (as many as it can).
  explicit FdReserve(int size);
  FdReserve(const FdReserve&) = delete;
  FdReserve& operator=(const FdReserve&) = delete;

  class Lease {
   public:
    explicit Lease(FdReserve* reserve) : reserve_(reserve) {}
    ~Lease() {
      if (reserve_ != nullptr) reserve_->Refill();
    }
    Lease(Lease&& other) noexcept : reserve_(other.reserve_) {
      other.reserve_ = nullptr;
    }
    Lease& operator=(Lease&&) = delete;

   private:
    FdReserve* reserve_;
  };

  // Frees the reserve until the lease ends.
  Lease Borrow() ABSL_LOCKS_EXCLUDED(mu_);

  // Fds held now (tests).
  int held() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  void Refill() ABSL_LOCKS_EXCLUDED(mu_);

  const int size_;
  mutable absl::Mutex mu_;
  std::vector<UniqueFd> fds_ ABSL_GUARDED_BY(mu_);
};

}  // namespace cmdctl

#endif  // CMDCTL_OS_ADAPTER_FD_RESERVE_H_

#include "os_adapter/fd_reserve.h"

#include <fcntl.h>

#include <utility>

namespace cmdctl {

FdReserve::FdReserve(int size) : size_(size) { Refill(); }

FdReserve::Lease FdReserve::Borrow() {
  std::vector<UniqueFd> freed;
  {
    absl::MutexLock lock(&mu_);
    freed.swap(fds_);
  }
  return Lease(this);  // `freed` closes them here
}

void FdReserve::Refill() {
  absl::MutexLock lock(&mu_);
  while (static_cast<int>(fds_.size()) < size_) {
    UniqueFd fd(open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (!fd) return;  // still short: a later lease's end tries again
    fds_.push_back(std::move(fd));
  }
}

int FdReserve::held() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(fds_.size());
}

}  // namespace cmdctl

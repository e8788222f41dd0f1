#include "domain/output_budget.h"

#include <algorithm>

namespace cmdctl {

bool OutputBudget::TryReserve(size_t bytes) {
  absl::MutexLock lock(&mu_);
  if (bytes > total_ - reserved_) return false;
  reserved_ += bytes;
  return true;
}

void OutputBudget::Release(size_t bytes) {
  absl::MutexLock lock(&mu_);
  // Never below zero, so that a caller's bug cannot wrap the count around.
  reserved_ -= std::min(bytes, reserved_);
}

size_t OutputBudget::reserved() const {
  absl::MutexLock lock(&mu_);
  return reserved_;
}

}  // namespace cmdctl

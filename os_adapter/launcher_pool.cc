#include "os_adapter/launcher_pool.h"

#include <poll.h>

#include <utility>

#include "glog/logging.h"

namespace cmdctl {
namespace {

// True when the process behind `pidfd` has ended (its pidfd is readable).
bool Ended(int pidfd) {
  struct pollfd p = {pidfd, POLLIN, 0};
  return poll(&p, 1, 0) == 1;
}

}  // namespace

LauncherPool::LauncherPool(std::string launcher_path, ChildReaper* reaper)
    : launcher_path_(std::move(launcher_path)), reaper_(reaper) {}

LauncherPool::~LauncherPool() {
  std::optional<SpawnedLauncher> spare;
  {
    absl::MutexLock l(&mu_);
    spare.swap(spare_);
  }
  if (spare) KillAndReapLauncher(*spare);
}

absl::StatusOr<SpawnedLauncher> LauncherPool::Take() {
  std::optional<SpawnedLauncher> spare;
  {
    absl::MutexLock l(&mu_);
    spare.swap(spare_);
  }
  if (spare && !Ended(spare->pidfd.get())) return *std::move(spare);
  if (spare) KillAndReapLauncher(*spare);  // reaps it
  return SpawnLauncher(launcher_path_, reaper_);
}

void LauncherPool::Refill() {
  {
    absl::MutexLock l(&mu_);
    if (spare_) return;
  }
  // Spawned without the lock: Take must not wait for a spawn.
  absl::StatusOr<SpawnedLauncher> spawned =
      SpawnLauncher(launcher_path_, reaper_);
  if (!spawned.ok()) {
    LOG(WARNING) << "no spare launcher: " << spawned.status();
    return;
  }
  std::optional<SpawnedLauncher> extra;
  {
    absl::MutexLock l(&mu_);
    if (spare_) {
      extra = *std::move(spawned);  // another Refill was quicker
    } else {
      spare_ = *std::move(spawned);
    }
  }
  if (extra) KillAndReapLauncher(*extra);
}

pid_t LauncherPool::spare_pid() {
  absl::MutexLock l(&mu_);
  return spare_ ? spare_->pid : 0;
}

}  // namespace cmdctl

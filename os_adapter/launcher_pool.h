// One cmdctl-launcher spawned ahead of need. Spawning the launcher (a
// posix_spawn, the exec of a static binary, its start-up) is about a
// quarter of a job's start on a small machine (docs/BENCHMARKS.md, figure
// 1); a start that finds a spare waiting sends its request at once, and the
// host spawns the next spare off the start path (its event loop).
//
// A spare is a launcher that has not had its request: it holds nothing of
// the server's but its control socket (fd 3), runs as the server does, in
// the server's cgroup, and exits when the socket's other end closes (the
// server ended) or when the pool kills it (destruction). Which job it will
// serve it learns from the request, like any launcher.
#ifndef CMDCTL_OS_ADAPTER_LAUNCHER_POOL_H_
#define CMDCTL_OS_ADAPTER_LAUNCHER_POOL_H_

#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "os_adapter/child_reaper.h"
#include "os_adapter/launcher_client.h"

namespace cmdctl {

class LauncherPool {
 public:
  // `reaper` (may be null) must outlive the pool.
  LauncherPool(std::string launcher_path, ChildReaper* reaper);
  // Kills and reaps the spare.
  ~LauncherPool();
  LauncherPool(const LauncherPool&) = delete;
  LauncherPool& operator=(const LauncherPool&) = delete;

  // A launcher waiting for its request: the spare if one waits and still
  // runs, else a new one (SpawnLauncher's errors). Any thread.
  absl::StatusOr<SpawnedLauncher> Take() ABSL_LOCKS_EXCLUDED(mu_);

  // Spawns a spare unless one waits. A failure (out of fds or processes) is
  // no error: the next start spawns its own launcher. Any thread; it blocks
  // for the spawn, so not on a start's path.
  void Refill() ABSL_LOCKS_EXCLUDED(mu_);

  // The pid of the spare waiting now, 0 if none (tests).
  pid_t spare_pid() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  const std::string launcher_path_;
  ChildReaper* const reaper_;

  absl::Mutex mu_;
  std::optional<SpawnedLauncher> spare_ ABSL_GUARDED_BY(mu_);
};

}  // namespace cmdctl

#endif  // CMDCTL_OS_ADAPTER_LAUNCHER_POOL_H_

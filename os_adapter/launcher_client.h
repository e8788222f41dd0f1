// The host's side of cmdctl-launcher (launcher_main.cc): spawns it with
// posix_spawn, sends the LaunchRequest (launch_protocol.h) with its fds,
// and waits for its replies: until the program has been executed (kLaunch;
// the launcher then stays on as the job's monitor), or until the helper's
// task is done (kOpenOutput, kRemoveOutput).
#ifndef CMDCTL_OS_ADAPTER_LAUNCHER_CLIENT_H_
#define CMDCTL_OS_ADAPTER_LAUNCHER_CLIENT_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/unique_fd.h"
#include "os_adapter/child_reaper.h"
#include "os_adapter/launch_protocol.h"

namespace cmdctl {

// A job whose program runs: its monitor (our child; the reaper, if any,
// reaps it when it ends), its main process (the monitor's child), and read
// fds of its stdout and stderr files.
struct LaunchedJob {
  pid_t monitor_pid = 0;
  UniqueFd monitor_pidfd;
  pid_t job_pid = 0;
  UniqueFd stdout_fd;
  UniqueFd stderr_fd;
};

// A spawned launcher that has not had its request yet: our child (pinned
// by its pidfd), its control socket, and nothing else of ours.
struct SpawnedLauncher {
  pid_t pid = 0;
  UniqueFd pidfd;
  UniqueFd sock;
};

// Spawns the launcher in a new session (empty signal mask, default
// dispositions, fds 0-2 on /dev/null, the control socket as fd 3, nothing
// else). It waits for its request; it exits when the socket's other end
// closes without one.
absl::StatusOr<SpawnedLauncher> SpawnLauncher(const std::string& launcher_path,
                                              ChildReaper* reaper);

// Kills `launcher` if it still runs and reaps it (or learns that the reaper
// did).
void KillAndReapLauncher(const SpawnedLauncher& launcher);

class LauncherPool;

// What the launch needs besides the request.
struct LaunchContext {
  std::string launcher_path;     // absolute
  ChildReaper* reaper;           // null: the pidfd alone reaps
  std::vector<int> attach_fds;   // sent with the request (as its flags say)
  LauncherPool* pool = nullptr;  // null: spawn a launcher for this request
};

// Takes a launcher (the pool's spare, or a new one: SpawnLauncher), sends
// `request` (mode kLaunch) and waits for the program's exec
// (at most kLauncherTimeout). On failure the launcher is killed and reaped
// and the error says what failed (ProcessHost::Start's codes, from
// LaunchFailureToStatus); the launcher has removed the files it made.
absl::StatusOr<LaunchedJob> RunLauncher(const LaunchRequest& request,
                                        const LaunchContext& context);

// Runs the launcher for `request`'s helper task (kOpenOutput: returns the
// two read fds; kRemoveOutput: none) and reaps it. Errors as RunLauncher's.
absl::StatusOr<std::vector<UniqueFd>> RunLauncherTask(
    const LaunchRequest& request, const LaunchContext& context);

}  // namespace cmdctl

#endif  // CMDCTL_OS_ADAPTER_LAUNCHER_CLIENT_H_

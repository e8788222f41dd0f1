// Small parts of cmdctl-launcher (launcher_main.cc) shared by its modes and
// by the job's child and monitor processes: reporting to whoever waits for
// this process (the host, or the monitor for the job's child), the
// privilege drop, and the walk to a job's output directory that never
// follows a link. Plain C++ over libc: the launcher links nothing else.
#ifndef CMDCTL_OS_ADAPTER_LAUNCHER_UTIL_H_
#define CMDCTL_OS_ADAPTER_LAUNCHER_UTIL_H_

#include <cstddef>
#include <string>

#include "os_adapter/launch_protocol.h"

namespace cmdctl::launcher {

// Where Fail reports, and what it undoes first (a process sets both once).
void SetReportSocket(int sock);
void SetFailureCleanup(void (*cleanup)());

// Sends `reply` with `fds` attached over the report socket.
bool Reply(const LaunchReply& reply, const int* fds = nullptr, size_t nfds = 0);

// Runs the cleanup, reports LaunchReply{kFailed, stage, err}, exits 127.
[[noreturn]] void Fail(LaunchStage stage, int err);

// read() until `n` bytes arrived; false at EOF or on an error.
bool ReadFully(int fd, char* buf, size_t n);

// setgroups (the user's, never the server's), setresgid, setresuid, in that
// order; then proves that every id is the user's and root cannot be
// regained. Fails with kDropPrivileges.
void DropPrivileges(const LaunchRequest& r);

// The job's output directory, opened O_NOFOLLOW: <root_fd>/<job_id> when
// root_fd >= 0, else <home>/.local/state/cmdctl/jobs/<job_id>, never
// following a link below the home directory (the home itself may be one).
// `create`: make what is missing (0700) and the job directory itself (which
// must not exist yet); `*parent_out` then gets the fd of the directory
// holding it (home mode) for removing it again. -1 with errno on failure.
int OpenJobDir(const LaunchRequest& r, int root_fd, bool create,
               int* parent_out);

}  // namespace cmdctl::launcher

#endif  // CMDCTL_OS_ADAPTER_LAUNCHER_UTIL_H_

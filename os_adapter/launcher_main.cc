// cmdctl-launcher: the small program LinuxProcessHost spawns (posix_spawn,
// new session, empty signal mask, default dispositions, fds 0-2 on
// /dev/null, the control socket on fd 3, nothing else). It reads one
// LaunchRequest (launch_protocol.h), checks it (the privilege boundary's own
// validation; the server's is in domain/run_request.h: no NUL byte
// anywhere, absolute directories, KEY=VALUE environment entries), and does
// what its mode says:
//   kLaunch        becomes the job's monitor (monitor.h), which forks the
//                  job (launcher_job.h);
//   kOpenOutput    as the user, opens the job's output files for reading;
//   kRemoveOutput  as the user, removes them and the job's directory.
// Every fd it opens is close-on-exec.
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "os_adapter/fd_passing.h"
#include "os_adapter/launch_protocol.h"
#include "os_adapter/launcher_util.h"
#include "os_adapter/monitor.h"

namespace cmdctl::launcher {
namespace {

// glibc's posix_spawn leaves its two internal signals (32 and 33, which
// sigfillset() omits and sigaction() refuses) ignored in the child, and an
// ignored signal stays ignored across execve. Reset every disposition with
// the raw system call so the job starts with all of them at default.
void ResetAllSignalDispositions() {
  struct KernelSigaction {
    void (*handler)(int);
    unsigned long flags;
    void (*restorer)();
    uint64_t mask;
  } action = {SIG_DFL, 0, nullptr, 0};
  for (int sig = 1; sig <= 64; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    syscall(SYS_rt_sigaction, sig, &action, nullptr, sizeof(action.mask));
  }
}

bool HasNul(const std::string& s) { return s.find('\0') != std::string::npos; }

// The launcher's own check at the privilege boundary (the server validated
// the request already): execve and chdir would silently cut a string at a
// NUL, and a relative directory would depend on where we happen to be.
bool IsAcceptable(const LaunchRequest& r) {
  const std::string& id = r.job_id;
  if (id.empty() || id == "." || id == ".." ||
      id.find('/') != std::string::npos || HasNul(id) || HasNul(r.home) ||
      r.home.empty() || r.home[0] != '/') {
    return false;
  }
  if (r.mode != LaunchRequest::kLaunch) return true;
  if (r.program.empty() || HasNul(r.program) || HasNul(r.working_dir) ||
      (!r.working_dir.empty() && r.working_dir[0] != '/') || r.argv.empty() ||
      !r.has_run_dir_fd) {
    return false;
  }
  for (const std::string& arg : r.argv) {
    if (HasNul(arg)) return false;
  }
  for (const std::string& entry : r.envp) {
    const size_t eq = entry.find('=');
    if (HasNul(entry) || eq == 0 || eq == std::string::npos) return false;
  }
  return true;
}

// Reads the length-prefixed request; the attached fds come with its first
// bytes.
LaunchRequest ReadRequest(std::vector<int>& fds) {
  uint32_t len = 0;
  bool truncated = false;
  const ssize_t n =
      ReceiveWithFds(kLauncherSocketFd, &len, sizeof(len), &fds, &truncated);
  if (n != sizeof(len)) Fail(LaunchStage::kProtocol, n < 0 ? errno : EPROTO);
  if (truncated || len > kMaxLaunchRequestBytes) {
    Fail(LaunchStage::kProtocol, EPROTO);
  }
  std::string body(len, '\0');
  if (!ReadFully(kLauncherSocketFd, body.data(), len)) {
    Fail(LaunchStage::kProtocol, EPROTO);
  }
  std::optional<LaunchRequest> request = DecodeLaunchRequest(body);
  if (!request) Fail(LaunchStage::kProtocol, EPROTO);
  const size_t want = (request->has_cgroup_parent_fd ? 1 : 0) +
                      (request->has_output_dir_fd ? 1 : 0) +
                      (request->has_run_dir_fd ? 1 : 0);
  if (fds.size() != want) Fail(LaunchStage::kProtocol, EPROTO);
  if (!IsAcceptable(*request)) Fail(LaunchStage::kValidate, EINVAL);
  return *std::move(request);
}

// kOpenOutput: read fds of the job's two files, opened as the user.
[[noreturn]] void OpenOutput(const LaunchRequest& r, int output_root) {
  if (r.drop_privileges) DropPrivileges(r);
  const int dir = OpenJobDir(r, output_root, /*create=*/false, nullptr);
  if (dir < 0) Fail(LaunchStage::kOutput, errno);
  int fds[2];
  const char* names[2] = {"stdout", "stderr"};
  for (int s = 0; s < 2; ++s) {
    fds[s] = openat(dir, names[s], O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fds[s] < 0) Fail(LaunchStage::kOutput, errno);
  }
  LaunchReply ready;
  ready.kind = LaunchReply::kOutputReady;
  _exit(Reply(ready, fds, 2) ? 0 : 1);
}

// kRemoveOutput: the job's files and directory, removed as the user. Gone
// already is fine.
[[noreturn]] void RemoveOutput(const LaunchRequest& r, int output_root) {
  if (r.drop_privileges) DropPrivileges(r);
  int parent = -1;
  const int dir = OpenJobDir(r, output_root, /*create=*/false, &parent);
  if (dir < 0 && errno != ENOENT) Fail(LaunchStage::kRemove, errno);
  if (dir >= 0) {
    for (const char* name : {"stdout", "stderr"}) {
      if (unlinkat(dir, name, 0) != 0 && errno != ENOENT) {
        Fail(LaunchStage::kRemove, errno);
      }
    }
    // With --output_dir the directory is in root's directory: the host
    // removes it.
    if (output_root < 0 &&
        unlinkat(parent, r.job_id.c_str(), AT_REMOVEDIR) != 0 &&
        errno != ENOENT) {
      Fail(LaunchStage::kRemove, errno);
    }
  }
  LaunchReply done;
  done.kind = LaunchReply::kDone;
  _exit(Reply(done) ? 0 : 1);
}

// A launcher may be spawned before its job is known (a spare,
// launcher_pool.h): its argv[1] is then a blank placeholder that the job's
// id overwrites once the request came, so that `ps` and /proc/<pid>/cmdline
// name the job a monitor serves (cut to the placeholder's length).
void ShowJobId(int argc, char** argv, const std::string& job_id) {
  if (argc < 2) return;
  const size_t room = strlen(argv[1]);
  memset(argv[1], 0, room);
  memcpy(argv[1], job_id.data(), std::min(room, job_id.size()));
}

int Main(int argc, char** argv) {
  ResetAllSignalDispositions();
  signal(SIGPIPE, SIG_IGN);  // a vanished host is an error, not our death
  std::vector<int> fds;
  LaunchRequest request = ReadRequest(fds);
  ShowJobId(argc, argv, request.job_id);
  size_t next = 0;
  MonitorSetup setup;
  if (request.has_cgroup_parent_fd) setup.cgroup_parent = fds[next++];
  if (request.has_output_dir_fd) setup.output_root = fds[next++];
  if (request.has_run_dir_fd) setup.run_dir = fds[next++];
  switch (request.mode) {
    case LaunchRequest::kOpenOutput:
      OpenOutput(request, setup.output_root);
    case LaunchRequest::kRemoveOutput:
      RemoveOutput(request, setup.output_root);
    default:
      return RunMonitor(request, setup);
  }
}

}  // namespace
}  // namespace cmdctl::launcher

int main(int argc, char** argv) { return cmdctl::launcher::Main(argc, argv); }

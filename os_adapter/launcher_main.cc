// cmdctl-launcher: the small program LinuxProcessHost spawns (posix_spawn,
// new session, empty signal mask, default dispositions, fds 0-2 on
// /dev/null, the control socket on fd 3, nothing else) to become one job.
//
// In order, and reporting any failure (stage + errno) over the socket before
// exiting 127:
//   1. reads the LaunchRequest (launch_protocol.h) and checks it: no NUL
//      byte anywhere, absolute directories, KEY=VALUE environment entries
//      (the privilege boundary's own validation; the server's is in
//      domain/run_request.h);
//   2. joins the job's cgroup (writes "0" to the cgroup.procs fd it was
//      given) while still root, so every later child is in it;
//   3. drops privileges: setgroups(the user's groups, never the server's),
//      setresgid, setresuid; then proves it cannot regain root;
//   4. sets no_new_privs;
//   5. enters the working directory (as the user);
//   6. creates the output directory and files as the user, never following a
//      symlink below the home directory, and sends read fds of them back;
//   7. stdin from /dev/null, stdout/stderr into the files;
//   8. execs the program with the clean environment, searching PATH itself.
// Every fd it opens is close-on-exec, so the program starts with 0-2 only,
// and the socket's EOF tells the host that the exec succeeded.
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include <cstdint>
#include <string>
#include <vector>

#include "os_adapter/exec_env.h"
#include "os_adapter/fd_passing.h"
#include "os_adapter/launch_protocol.h"

namespace cmdctl {
namespace {

constexpr int kSock = kLauncherSocketFd;

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

// What to undo if the launch fails after the output files exist.
struct Created {
  int jobs_dir_fd = -1;  // parent of the job directory we made (home mode)
  int job_dir_fd = -1;
  std::string job_id;
  bool stdout_file = false;
  bool stderr_file = false;
} created;

void RemoveCreatedOutput() {
  if (created.job_dir_fd >= 0) {
    if (created.stdout_file) unlinkat(created.job_dir_fd, "stdout", 0);
    if (created.stderr_file) unlinkat(created.job_dir_fd, "stderr", 0);
  }
  if (created.jobs_dir_fd >= 0) {
    unlinkat(created.jobs_dir_fd, created.job_id.c_str(), AT_REMOVEDIR);
  }
}

bool SendReply(const LaunchReply& reply, const int* fds, int nfds) {
  struct iovec iov = {const_cast<LaunchReply*>(&reply), sizeof(reply)};
  return SendWithFds(kSock, &iov, 1, fds, static_cast<size_t>(nfds)) ==
         static_cast<ssize_t>(sizeof(reply));
}

[[noreturn]] void Fail(LaunchStage stage, int err) {
  RemoveCreatedOutput();
  LaunchReply reply;
  reply.kind = LaunchReply::kFailed;
  reply.stage = static_cast<uint32_t>(stage);
  reply.error = err;
  SendReply(reply, nullptr, 0);
  _exit(127);
}

bool ReadFully(int fd, char* buf, size_t n) {
  while (n > 0) {
    const ssize_t r = read(fd, buf, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    buf += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

bool HasNul(const std::string& s) { return s.find('\0') != std::string::npos; }

// The launcher's own check at the privilege boundary (the server validated
// the request already): execve and chdir would silently cut a string at a
// NUL, and a relative directory would depend on where we happen to be.
bool IsAcceptable(const LaunchRequest& r) {
  if (r.program.empty() || HasNul(r.program) || HasNul(r.home) ||
      HasNul(r.working_dir) || r.home.empty() || r.home[0] != '/' ||
      (!r.working_dir.empty() && r.working_dir[0] != '/')) {
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
  const ssize_t n = ReceiveWithFds(kSock, &len, sizeof(len), &fds, &truncated);
  if (n != sizeof(len)) Fail(LaunchStage::kProtocol, n < 0 ? errno : EPROTO);
  if (truncated || len > kMaxLaunchRequestBytes) {
    Fail(LaunchStage::kProtocol, EPROTO);
  }
  std::string body(len, '\0');
  if (!ReadFully(kSock, body.data(), len)) Fail(LaunchStage::kProtocol, EPROTO);
  std::optional<LaunchRequest> request = DecodeLaunchRequest(body);
  if (!request) Fail(LaunchStage::kProtocol, EPROTO);
  const size_t want = (request->has_cgroup_procs_fd ? 1 : 0) +
                      (request->has_output_dir_fd ? 1 : 0);
  const std::string& id = request->job_id;
  if (fds.size() != want || id.empty() || id == "." || id == ".." ||
      id.find('/') != std::string::npos || request->argv.empty()) {
    Fail(LaunchStage::kProtocol, EPROTO);
  }
  if (!IsAcceptable(*request)) Fail(LaunchStage::kValidate, EINVAL);
  return *std::move(request);
}

void JoinCgroup(int procs_fd) {
  ssize_t n;
  do {
    n = write(procs_fd, "0", 1);
  } while (n < 0 && errno == EINTR);
  if (n != 1) Fail(LaunchStage::kCgroup, n < 0 ? errno : EIO);
  close(procs_fd);
}

void DropPrivileges(const LaunchRequest& r) {
  std::vector<gid_t> groups(r.groups.begin(), r.groups.end());
  if (setgroups(groups.size(), groups.data()) != 0 ||
      setresgid(r.gid, r.gid, r.gid) != 0 ||
      setresuid(r.uid, r.uid, r.uid) != 0) {
    Fail(LaunchStage::kDropPrivileges, errno);
  }
  // Prove it: every id is the user's and root cannot be regained.
  uid_t ru, eu, su;
  gid_t rg, eg, sg;
  if (getresuid(&ru, &eu, &su) != 0 || getresgid(&rg, &eg, &sg) != 0 ||
      ru != r.uid || eu != r.uid || su != r.uid || rg != r.gid || eg != r.gid ||
      sg != r.gid) {
    Fail(LaunchStage::kDropPrivileges, EPERM);
  }
  std::vector<gid_t> now(groups.size() + 1);
  const int count = getgroups(static_cast<int>(now.size()), now.data());
  if (count != static_cast<int>(groups.size())) {
    Fail(LaunchStage::kDropPrivileges, EPERM);
  }
  if (r.uid != 0) {
    if (setuid(0) == 0 || seteuid(0) == 0) {
      Fail(LaunchStage::kDropPrivileges, EPERM);
    }
  }
  if (r.gid != 0 && (setgid(0) == 0 || setegid(0) == 0)) {
    Fail(LaunchStage::kDropPrivileges, EPERM);
  }
}

// Opens (creating with 0700 if missing) the directory `name` under `parent`,
// never following a symlink.
int OpenOrMakeDir(int parent, const char* name) {
  if (mkdirat(parent, name, 0700) != 0 && errno != EEXIST) return -1;
  return openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

int CreateFile(int dir, const char* name) {
  int fd;
  do {
    fd = openat(dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                0600);
  } while (fd < 0 && errno == EINTR);
  return fd;
}

// A read-only fd of the same inode, without walking any path again.
int ReopenForReading(int fd) {
  const std::string proc = "/proc/self/fd/" + std::to_string(fd);
  return open(proc.c_str(), O_RDONLY | O_CLOEXEC);
}

struct OutputFds {
  int out_w, err_w;
};

OutputFds CreateOutput(const LaunchRequest& r, int output_dir_fd) {
  umask(077);
  created.job_id = r.job_id;
  if (output_dir_fd >= 0) {
    // The host made <output_dir>/<job_id> (root's directory) and gave it to
    // the user; it removes it itself on failure.
    created.job_dir_fd = output_dir_fd;
  } else {
    // The home directory itself is the user's and may legitimately be
    // reached through a symlink; nothing below it is followed.
    int dir = open(r.home.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0) Fail(LaunchStage::kOutput, errno);
    for (const char* name : {".local", "state", "cmdctl", "jobs"}) {
      const int next = OpenOrMakeDir(dir, name);
      const int err = errno;
      close(dir);
      if (next < 0) Fail(LaunchStage::kOutput, err);
      dir = next;
    }
    if (mkdirat(dir, r.job_id.c_str(), 0700) != 0) {
      Fail(LaunchStage::kOutput, errno);
    }
    created.jobs_dir_fd = dir;
    created.job_dir_fd = openat(
        dir, r.job_id.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (created.job_dir_fd < 0) Fail(LaunchStage::kOutput, errno);
  }
  OutputFds fds;
  fds.out_w = CreateFile(created.job_dir_fd, "stdout");
  if (fds.out_w < 0) Fail(LaunchStage::kOutput, errno);
  created.stdout_file = true;
  fds.err_w = CreateFile(created.job_dir_fd, "stderr");
  if (fds.err_w < 0) Fail(LaunchStage::kOutput, errno);
  created.stderr_file = true;

  int readers[2] = {ReopenForReading(fds.out_w), ReopenForReading(fds.err_w)};
  if (readers[0] < 0 || readers[1] < 0) Fail(LaunchStage::kOutput, errno);
  LaunchReply ready;
  ready.kind = LaunchReply::kOutputReady;
  if (!SendReply(ready, readers, 2)) Fail(LaunchStage::kProtocol, EPIPE);
  close(readers[0]);
  close(readers[1]);
  return fds;
}

void SetUpStdio(const OutputFds& out) {
  const int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null_fd < 0 || dup2(null_fd, 0) < 0 || dup2(out.out_w, 1) < 0 ||
      dup2(out.err_w, 2) < 0) {
    Fail(LaunchStage::kStdio, errno);
  }
  close(null_fd);
  close(out.out_w);
  close(out.err_w);
}

std::vector<char*> CStrings(std::vector<std::string>& v) {
  std::vector<char*> out;
  out.reserve(v.size() + 1);
  for (std::string& s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

[[noreturn]] void Exec(LaunchRequest& r) {
  std::vector<char*> argv = CStrings(r.argv);
  std::vector<char*> envp = CStrings(r.envp);
  ExecSearch search;
  for (const std::string& candidate :
       ExecCandidates(r.program, EnvValue(r.envp, "PATH", kCleanPath))) {
    execve(candidate.c_str(), argv.data(), envp.data());
    if (!search.Failed(errno)) break;
  }
  Fail(LaunchStage::kExec, search.Error());
}

int Main() {
  ResetAllSignalDispositions();
  std::vector<int> fds;
  LaunchRequest request = ReadRequest(fds);
  size_t next_fd = 0;
  if (request.has_cgroup_procs_fd) JoinCgroup(fds[next_fd++]);
  const int output_dir_fd = request.has_output_dir_fd ? fds[next_fd++] : -1;
  if (request.drop_privileges) DropPrivileges(request);
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    Fail(LaunchStage::kNoNewPrivs, errno);
  }
  const std::string& dir =
      request.working_dir.empty() ? request.home : request.working_dir;
  if (chdir(dir.c_str()) != 0) Fail(LaunchStage::kWorkingDir, errno);
  const OutputFds out = CreateOutput(request, output_dir_fd);
  SetUpStdio(out);
  umask(022);
  // Belt and braces: every fd above 2 (the socket included) is already
  // close-on-exec; make sure of it for any we did not open ourselves.
  syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);
  Exec(request);
}

}  // namespace
}  // namespace cmdctl

int main() { return cmdctl::Main(); }

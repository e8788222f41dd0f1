#include "os_adapter/launcher_job.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "os_adapter/exec_env.h"
#include "os_adapter/launcher_util.h"

namespace cmdctl::launcher {
namespace {

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

void JoinCgroup(int procs_fd) {
  ssize_t n;
  do {
    n = write(procs_fd, "0", 1);
  } while (n < 0 && errno == EINTR);
  if (n != 1) Fail(LaunchStage::kCgroup, n < 0 ? errno : EIO);
  close(procs_fd);
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

void CreateOutput(const LaunchRequest& r, int output_root) {
  umask(077);
  created.job_id = r.job_id;
  int parent = -1;
  created.job_dir_fd = OpenJobDir(r, output_root, /*create=*/true, &parent);
  if (created.job_dir_fd < 0) Fail(LaunchStage::kOutput, errno);
  // Home mode: we made the job directory and remove it on failure. With
  // --output_dir the host made it and removes it itself.
  if (output_root < 0) {
    created.jobs_dir_fd = parent;
  } else {
    close(parent);
  }
  int fds[4];
  fds[0] = CreateFile(created.job_dir_fd, "stdout");
  if (fds[0] < 0) Fail(LaunchStage::kOutput, errno);
  created.stdout_file = true;
  fds[1] = CreateFile(created.job_dir_fd, "stderr");
  if (fds[1] < 0) Fail(LaunchStage::kOutput, errno);
  created.stderr_file = true;
  fds[2] = ReopenForReading(fds[0]);
  fds[3] = ReopenForReading(fds[1]);
  if (fds[2] < 0 || fds[3] < 0) Fail(LaunchStage::kOutput, errno);
  LaunchReply ready;
  ready.kind = LaunchReply::kOutputReady;
  if (!Reply(ready, fds, 4)) Fail(LaunchStage::kProtocol, EPIPE);
  for (int fd : fds) close(fd);
}

void SetUpStdio(const JobChildSetup& setup) {
  const int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null_fd < 0 || dup2(null_fd, 0) < 0 || dup2(setup.stdout_pipe, 1) < 0 ||
      dup2(setup.stderr_pipe, 2) < 0) {
    Fail(LaunchStage::kStdio, errno);
  }
  close(null_fd);
  close(setup.stdout_pipe);
  close(setup.stderr_pipe);
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

}  // namespace

void RunJobChild(LaunchRequest& r, const JobChildSetup& setup) {
  SetReportSocket(setup.report);
  SetFailureCleanup(RemoveCreatedOutput);
  if (setup.cgroup_procs >= 0) JoinCgroup(setup.cgroup_procs);
  if (setsid() < 0) Fail(LaunchStage::kMonitor, errno);
  if (r.drop_privileges) DropPrivileges(r);
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    Fail(LaunchStage::kNoNewPrivs, errno);
  }
  const std::string& dir = r.working_dir.empty() ? r.home : r.working_dir;
  if (chdir(dir.c_str()) != 0) Fail(LaunchStage::kWorkingDir, errno);
  CreateOutput(r, setup.output_root);
  SetUpStdio(setup);
  umask(022);
  // Belt and braces: every fd above 2 (the socket included) is already
  // close-on-exec; make sure of it for any we did not open ourselves.
  syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);
  Exec(r);
}

}  // namespace cmdctl::launcher

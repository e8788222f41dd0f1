#include "os_adapter/launcher_util.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vector>

#include "os_adapter/fd_passing.h"

namespace cmdctl::launcher {
namespace {

int report_socket = kLauncherSocketFd;
void (*failure_cleanup)() = nullptr;

// Opens (creating with 0700 if missing) the directory `name` under `parent`,
// never following a symlink.
int OpenOrMakeDir(int parent, const char* name) {
  if (mkdirat(parent, name, 0700) != 0 && errno != EEXIST) return -1;
  return openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

}  // namespace

void SetReportSocket(int sock) { report_socket = sock; }
void SetFailureCleanup(void (*cleanup)()) { failure_cleanup = cleanup; }

bool Reply(const LaunchReply& reply, const int* fds, size_t nfds) {
  struct iovec iov = {const_cast<LaunchReply*>(&reply), sizeof(reply)};
  return SendWithFds(report_socket, &iov, 1, fds, nfds) ==
         static_cast<ssize_t>(sizeof(reply));
}

void Fail(LaunchStage stage, int err) {
  if (failure_cleanup != nullptr) failure_cleanup();
  LaunchReply reply;
  reply.kind = LaunchReply::kFailed;
  reply.stage = static_cast<uint32_t>(stage);
  reply.error = err;
  Reply(reply);
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

int OpenJobDir(const LaunchRequest& r, int root_fd, bool create,
               int* parent_out) {
  constexpr int kDir = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
  const char* id = r.job_id.c_str();
  int parent;
  if (root_fd >= 0) {
    // <output_dir>/<job_id>: the host made it (root's directory, given to
    // the user) before the launch.
    parent = dup(root_fd);
    if (parent < 0) return -1;
  } else {
    // The home directory itself is the user's and may legitimately be
    // reached through a symlink; nothing below it is followed.
    parent = open(r.home.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (parent < 0) return -1;
    for (const char* name : {".local", "state", "cmdctl", "jobs"}) {
      const int next =
          create ? OpenOrMakeDir(parent, name) : openat(parent, name, kDir);
      const int err = errno;
      close(parent);
      if (next < 0) {
        errno = err;
        return -1;
      }
      parent = next;
    }
    if (create && mkdirat(parent, id, 0700) != 0) {
      const int err = errno;
      close(parent);
      errno = err;
      return -1;
    }
  }
  const int dir = openat(parent, id, kDir);
  const int err = errno;
  if (dir >= 0 && parent_out != nullptr) {
    *parent_out = parent;
  } else {
    close(parent);
  }
  errno = err;
  return dir;
}

}  // namespace cmdctl::launcher

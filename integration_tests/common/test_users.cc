#include "integration_tests/common/test_users.h"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

extern char** environ;

namespace cmdctl::test {
namespace {

// Serializes user/group creation across test processes (useradd refuses to
// run while another holds /etc/passwd's lock).
class CreationLock {
 public:
  CreationLock() {
    fd_ = open("/run/cmdctl-it-users.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ >= 0) {
      while (flock(fd_, LOCK_EX) != 0 && errno == EINTR) {
      }
    }
  }
  ~CreationLock() {
    if (fd_ >= 0) close(fd_);
  }

 private:
  int fd_ = -1;
};

std::optional<gid_t> FindGroup(const std::string& name) {
  struct group gr, *found = nullptr;
  std::vector<char> buf(65536);
  if (getgrnam_r(name.c_str(), &gr, buf.data(), buf.size(), &found) != 0 ||
      found == nullptr) {
    return std::nullopt;
  }
  return gr.gr_gid;
}

std::optional<TestUser> FindUser(const std::string& login) {
  struct passwd pw, *found = nullptr;
  std::vector<char> buf(65536);
  if (getpwnam_r(login.c_str(), &pw, buf.data(), buf.size(), &found) != 0 ||
      found == nullptr) {
    return std::nullopt;
  }
  return TestUser{pw.pw_name, pw.pw_uid, pw.pw_gid, pw.pw_dir};
}

bool InGroup(const TestUser& user, gid_t gid) {
  int n = 64;
  std::vector<gid_t> groups(n);
  while (getgrouplist(user.login.c_str(), user.gid, groups.data(), &n) < 0) {
    groups.resize(n + 16);
    n = static_cast<int>(groups.size());
  }
  groups.resize(n);
  return std::find(groups.begin(), groups.end(), gid) != groups.end();
}

}  // namespace

absl::Status RunCommand(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const std::string& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid;
  const int rc =
      posix_spawn(&pid, args[0], nullptr, nullptr, args.data(), environ);
  if (rc != 0) {
    return absl::InternalError(
        absl::StrCat("spawn ", argv[0], ": ", strerror(rc)));
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      return absl::InternalError(absl::StrCat("waitpid: ", strerror(errno)));
    }
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return absl::InternalError(
        absl::StrCat(absl::StrJoin(argv, " "), " failed with status ", status));
  }
  return absl::OkStatus();
}

absl::StatusOr<gid_t> EnsureTestGroup(const std::string& name) {
  if (std::optional<gid_t> gid = FindGroup(name)) return *gid;
  CreationLock lock;
  if (std::optional<gid_t> gid = FindGroup(name)) return *gid;
  absl::Status s = RunCommand({"/usr/sbin/groupadd", name});
  if (!s.ok()) return s;
  if (std::optional<gid_t> gid = FindGroup(name)) return *gid;
  return absl::InternalError(
      absl::StrCat("group ", name, " not found after groupadd"));
}

absl::StatusOr<TestUser> EnsureTestUser(
    const std::string& login, const std::vector<std::string>& extra_groups) {
  std::vector<gid_t> extra;
  for (const std::string& g : extra_groups) {
    absl::StatusOr<gid_t> gid = EnsureTestGroup(g);
    if (!gid.ok()) return gid.status();
    extra.push_back(*gid);
  }
  std::optional<TestUser> user = FindUser(login);
  if (!user) {
    CreationLock lock;
    user = FindUser(login);
    if (!user) {
      absl::Status s =
          RunCommand({"/usr/sbin/useradd", "--create-home", "--shell",
                      "/bin/sh", "--user-group", login});
      if (!s.ok()) return s;
      user = FindUser(login);
      if (!user) {
        return absl::InternalError(
            absl::StrCat("user ", login, " not found after useradd"));
      }
    }
  }
  for (size_t i = 0; i < extra.size(); ++i) {
    if (InGroup(*user, extra[i])) continue;
    CreationLock lock;
    absl::Status s = RunCommand(
        {"/usr/sbin/usermod", "--append", "--groups", extra_groups[i], login});
    if (!s.ok()) return s;
  }
  struct stat st;
  if (stat(user->home.c_str(), &st) != 0) {
    if (mkdir(user->home.c_str(), 0750) != 0 && errno != EEXIST) {
      return absl::InternalError(
          absl::StrCat("mkdir ", user->home, ": ", strerror(errno)));
    }
    if (chown(user->home.c_str(), user->uid, user->gid) != 0) {
      return absl::InternalError(
          absl::StrCat("chown ", user->home, ": ", strerror(errno)));
    }
  }
  return *user;
}

}  // namespace cmdctl::test

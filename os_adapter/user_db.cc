#include "os_adapter/user_db.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "common/errno_status.h"

namespace cmdctl {
namespace {

// getgrouplist reports no error: a group database it could not open looks
// like a user with no supplementary groups. errno, cleared before the call,
// is the only witness.
absl::StatusOr<std::vector<gid_t>> GroupsOf(const std::string& login,
                                            gid_t gid) {
  int ngroups = 32;
  std::vector<gid_t> groups(ngroups);
  for (;;) {
    errno = 0;
    const int n = getgrouplist(login.c_str(), gid, groups.data(), &ngroups);
    const int err = errno;
    if (n >= 0) {
      if (IsResourceErrno(err)) {
        return ErrnoStatus(err,
                           absl::StrCat("looking up the groups of ", login),
                           ErrnoCause::kMachinery);
      }
      groups.resize(n);
      return groups;
    }
    groups.resize(ngroups + 16);
    ngroups = static_cast<int>(groups.size());
  }
}

// The errno of opening /etc/passwd (nss_files' source) now; 0 when it opens.
int CannotOpenPasswd() {
  const int fd = open("/etc/passwd", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  close(fd);
  return 0;
}

}  // namespace

absl::StatusOr<UserEntry> LookupUser(const std::string& login) {
  struct passwd pw, *found = nullptr;
  std::vector<char> buf(16384);
  int rc;
  int err;
  do {
    errno = 0;
    rc = getpwnam_r(login.c_str(), &pw, buf.data(), buf.size(), &found);
    err = errno;
    if (rc == ERANGE) buf.resize(buf.size() * 2);
  } while (rc == ERANGE);
  // Not found is rc 0 with no entry (or ENOENT/ESRCH from some modules, as
  // getpwnam_r(3) allows); any other rc is a failed lookup.
  if (rc != 0 && rc != ENOENT && rc != ESRCH) {
    return ErrnoStatus(rc, absl::StrCat("looking up user ", login),
                       ErrnoCause::kMachinery);
  }
  if (found == nullptr) {
    // A module that could not look (nss_files out of fds) lets the next one
    // ("passwd: files systemd") say "not found". errno, cleared before the
    // call, may witness it; else the passwd file that cannot be opened now.
    if (!IsResourceErrno(err)) err = CannotOpenPasswd();
    if (IsResourceErrno(err)) {
      return ErrnoStatus(err, absl::StrCat("looking up user ", login),
                         ErrnoCause::kMachinery);
    }
    return absl::InvalidArgumentError(absl::StrCat("unknown user: ", login));
  }
  UserEntry user;
  user.login = pw.pw_name;
  user.uid = pw.pw_uid;
  user.gid = pw.pw_gid;
  user.home = pw.pw_dir != nullptr ? pw.pw_dir : "";
  user.shell = pw.pw_shell != nullptr ? pw.pw_shell : "";
  if (user.home.empty() || user.home[0] != '/') {
    return absl::FailedPreconditionError(
        absl::StrCat("user ", login, " has no absolute home directory"));
  }
  absl::StatusOr<std::vector<gid_t>> groups = GroupsOf(user.login, user.gid);
  if (!groups.ok()) return groups.status();
  user.groups = *std::move(groups);
  return user;
}

std::string LoginOf(uid_t uid) {
  struct passwd pw, *found = nullptr;
  std::vector<char> buf(16384);
  if (getpwuid_r(uid, &pw, buf.data(), buf.size(), &found) == 0 &&
      found != nullptr) {
    return pw.pw_name;
  }
  return absl::StrCat("uid ", uid);
}

}  // namespace cmdctl

#include "integration_tests/common/runnable_copy.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace cmdctl::test {
namespace {

namespace fs = std::filesystem;

// "" when every user can pass through directory `dir` and exec below it,
// else why not.
std::string DirObstacle(const std::string& dir) {
  struct stat st;
  if (stat(dir.c_str(), &st) != 0) {
    return absl::StrCat(dir, ": ", strerror(errno));
  }
  if (!S_ISDIR(st.st_mode)) return absl::StrCat(dir, " is not a directory");
  if ((st.st_mode & S_IXOTH) == 0) {
    return absl::StrFormat(
        "%s (mode %04o, owner uid %d) cannot be traversed by other users", dir,
        st.st_mode & 07777, st.st_uid);
  }
  struct statvfs fs_info;
  if (statvfs(dir.c_str(), &fs_info) == 0 &&
      (fs_info.f_flag & ST_NOEXEC) != 0) {
    return absl::StrCat(dir, " is on a noexec mount");
  }
  return "";
}

// The first obstacle on the way from / down to `dir` (included).
std::string PathObstacle(const std::string& dir) {
  fs::path so_far = "/";
  for (const fs::path& part :
       fs::path(dir).lexically_normal().relative_path()) {
    if (std::string why = DirObstacle(so_far.string()); !why.empty()) {
      return why;
    }
    so_far /= part;
  }
  return DirObstacle(so_far.string());
}

}  // namespace

absl::Status CheckRunnableByEveryone(const std::string& path) {
  const fs::path file = fs::path(path).lexically_normal();
  if (std::string why = PathObstacle(file.parent_path().string());
      !why.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("unprivileged users cannot execute ", path, ": ", why));
  }
  struct stat st;
  if (stat(path.c_str(), &st) != 0 || (st.st_mode & S_IXOTH) == 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("unprivileged users cannot execute ", path,
                     ": it is missing or not executable by others"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> MakeUserRunnableDir(
    const std::vector<std::string>& bases) {
  std::vector<std::string> tried;
  for (const std::string& base : bases) {
    if (base.empty() || base[0] != '/') continue;
    if (std::string why = PathObstacle(base); !why.empty()) {
      tried.push_back(why);
      continue;
    }
    std::string dir = absl::StrCat(base, "/cmdctl_it_bin_XXXXXX");
    if (mkdtemp(dir.data()) == nullptr) {
      tried.push_back(absl::StrCat("mkdtemp in ", base, ": ", strerror(errno)));
      continue;
    }
    if (chmod(dir.c_str(), 0755) != 0) {
      tried.push_back(absl::StrCat("chmod ", dir, ": ", strerror(errno)));
      rmdir(dir.c_str());
      continue;
    }
    return dir;
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "no temporary directory that every user can traverse and execute "
      "from (",
      tried.empty() ? "none given" : absl::StrJoin(tried, "; "),
      "). Fix: make /tmp usable by every user (mode 1777, not mounted "
      "noexec), or point TMPDIR at a directory every user can traverse and "
      "execute from"));
}

RunnableCopies::~RunnableCopies() {
  absl::MutexLock lock(&mu_);
  if (!dir_.empty() && getpid() == owner_) {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }
}

absl::StatusOr<std::string> RunnableCopies::Copy(const std::string& binary) {
  absl::MutexLock lock(&mu_);
  if (auto it = copies_.find(binary); it != copies_.end()) return it->second;
  if (dir_.empty()) {
    const char* tmpdir = getenv("TMPDIR");
    absl::StatusOr<std::string> dir = MakeUserRunnableDir(
        {tmpdir != nullptr ? tmpdir : "", "/tmp", "/var/tmp"});
    if (!dir.ok()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "cannot make ", binary,
          " runnable by unprivileged test users: ", dir.status().message()));
    }
    dir_ = *dir;
    owner_ = getpid();
  }
  const std::string copy =
      absl::StrCat(dir_, "/", fs::path(binary).filename().string());
  std::error_code error;
  fs::copy_file(binary, copy, fs::copy_options::overwrite_existing, error);
  if (!error) {
    fs::permissions(copy, fs::perms(0755), fs::perm_options::replace, error);
  }
  if (error) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot copy ", binary, " to ", copy, ": ", error.message()));
  }
  if (absl::Status runnable = CheckRunnableByEveryone(copy); !runnable.ok()) {
    return runnable;
  }
  copies_[binary] = copy;
  return copy;
}

absl::StatusOr<std::string> UserRunnableCopy(const std::string& binary) {
  static RunnableCopies copies;  // destroyed at exit: removes the directory
  return copies.Copy(binary);
}

}  // namespace cmdctl::test

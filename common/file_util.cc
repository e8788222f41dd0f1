#include "common/file_util.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "common/errno_status.h"

namespace cmdctl {

absl::StatusOr<UniqueFd> OpenAt(int dirfd, const std::string& path, int flags,
                                mode_t mode, ErrnoCause cause) {
  int fd;
  do {
    fd = openat(dirfd, path.c_str(), flags | O_CLOEXEC, mode);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return ErrnoStatus(errno, path, cause);
  return UniqueFd(fd);
}

absl::StatusOr<std::string> PreadAll(int fd, size_t max_bytes) {
  std::string out;
  char buf[8192];
  off_t off = 0;
  for (;;) {
    const ssize_t n = pread(fd, buf, sizeof(buf), off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus(errno, "read", ErrnoCause::kMachinery);
    if (n == 0) return out;
    out.append(buf, static_cast<size_t>(n));
    off += n;
    if (out.size() > max_bytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("larger than ", max_bytes, " bytes"));
    }
  }
}

absl::StatusOr<std::string> ReadFileToString(int dirfd, const std::string& path,
                                             size_t max_bytes,
                                             ErrnoCause cause) {
  absl::StatusOr<UniqueFd> fd =
      OpenAt(dirfd, path, O_RDONLY | O_NOCTTY, 0, cause);
  if (!fd.ok()) return fd.status();
  absl::StatusOr<std::string> data = PreadAll(fd->get(), max_bytes);
  if (!data.ok()) {
    return absl::Status(data.status().code(),
                        absl::StrCat(path, ": ", data.status().message()));
  }
  return data;
}

bool WriteAll(int fd, absl::string_view data) {
  while (!data.empty()) {
    const ssize_t n = write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

absl::Status EnsurePrivateDirectory(const std::string& path) {
  if (path.empty() || path[0] != '/') {
    return absl::FailedPreconditionError(
        absl::StrCat("'", path, "' is not an absolute path"));
  }
  // Missing parents first (root's, like /var/lib), then the directory.
  for (size_t slash = path.find('/', 1); slash != std::string::npos;
       slash = path.find('/', slash + 1)) {
    const std::string parent = path.substr(0, slash);
    if (mkdir(parent.c_str(), 0755) != 0 && errno != EEXIST) {
      return ErrnoStatus(errno, absl::StrCat("creating ", parent),
                         ErrnoCause::kMachinery);
    }
  }
  if (mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
    return ErrnoStatus(errno, absl::StrCat("creating ", path),
                       ErrnoCause::kMachinery);
  }
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) {
    return ErrnoStatus(errno, path, ErrnoCause::kMachinery);
  }
  if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
      (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, " must be a directory owned by uid ", geteuid(),
                     " and writable by nobody else (mode 0700)"));
  }
  return absl::OkStatus();
}

}  // namespace cmdctl

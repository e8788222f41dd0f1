// Small file I/O helpers shared by every layer but the domain: EINTR is
// retried here, every fd is opened O_CLOEXEC, and errors are absl::Status
// values from ErrnoStatus (common/errno_status.h).
#ifndef CMDCTL_COMMON_FILE_UTIL_H_
#define CMDCTL_COMMON_FILE_UTIL_H_

#include <sys/types.h>

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/errno_status.h"
#include "common/unique_fd.h"

namespace cmdctl {

// openat(dirfd, path, flags | O_CLOEXEC, mode), EINTR retried. The error
// names `path`; its code is ErrnoStatus's for `cause`.
absl::StatusOr<UniqueFd> OpenAt(int dirfd, const std::string& path, int flags,
                                mode_t mode = 0,
                                ErrnoCause cause = ErrnoCause::kRequest);

// The whole content of an open file from offset 0 (pread: the fd's position
// is not used). RESOURCE_EXHAUSTED-or-INTERNAL errors; INVALID_ARGUMENT when
// it holds more than `max_bytes`.
absl::StatusOr<std::string> PreadAll(int fd, size_t max_bytes = 1 << 20);

// Reads the file at `path` (relative to `dirfd`, AT_FDCWD for the working
// directory) whole. Errors name the path: NOT_FOUND, PERMISSION_DENIED, ...
// (ErrnoStatus for `cause`), INVALID_ARGUMENT when over `max_bytes`.
absl::StatusOr<std::string> ReadFileToString(
    int dirfd, const std::string& path, size_t max_bytes = 1 << 20,
    ErrnoCause cause = ErrnoCause::kRequest);

// A directory only this process's user may change: made (mode 0700, with
// missing parents 0755) when absent; FAILED_PRECONDITION naming it when it
// is not a directory, not owned by this user, or writable by group or
// others.
absl::Status EnsurePrivateDirectory(const std::string& path);

// Writes all of `data`, retrying short writes and EINTR. false (errno set)
// on failure.
bool WriteAll(int fd, absl::string_view data);

}  // namespace cmdctl

#endif  // CMDCTL_COMMON_FILE_UTIL_H_

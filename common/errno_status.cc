#include "common/errno_status.h"

#include <string.h>

#include <cerrno>

#include "absl/strings/str_cat.h"

namespace cmdctl {

bool IsResourceErrno(int err) {
  switch (err) {
    case EMFILE:
    case ENFILE:
    case ENOMEM:
    case EAGAIN:
    case ENOSPC:
    case EDQUOT:
    case ENOBUFS:
      return true;
    default:
      return false;
  }
}

std::string ErrnoText(int err) {
  char buf[256];
  // GNU strerror_r returns the message (maybe not in buf).
  return strerror_r(err, buf, sizeof(buf));
}

const char* ResourceErrnoName(int err) {
  switch (err) {
    case EMFILE:
      return "EMFILE";
    case ENFILE:
      return "ENFILE";
    case ENOMEM:
      return "ENOMEM";
    case EAGAIN:
      return "EAGAIN";
    case ENOSPC:
      return "ENOSPC";
    case EDQUOT:
      return "EDQUOT";
    case ENOBUFS:
      return "ENOBUFS";
    default:
      return "";
  }
}

absl::Status ErrnoStatus(int err, absl::string_view what, ErrnoCause cause) {
  std::string message = absl::StrCat(what, ": ", ErrnoText(err));
  if (IsResourceErrno(err)) {
    // The operator looks up the limit by the errno's name.
    absl::StrAppend(&message, " (", ResourceErrnoName(err), ")");
    return absl::ResourceExhaustedError(message);
  }
  if (cause == ErrnoCause::kMachinery) return absl::InternalError(message);
  switch (err) {
    case ENOENT:
    case ENOTDIR:
    case ESRCH:
      return absl::NotFoundError(message);
    case EACCES:
    case EPERM:
      return absl::PermissionDeniedError(message);
    case EINVAL:
    case ENAMETOOLONG:
    case E2BIG:
      return absl::InvalidArgumentError(message);
    case EEXIST:
      return absl::AlreadyExistsError(message);
    default:
      return absl::InternalError(message);
  }
}

}  // namespace cmdctl

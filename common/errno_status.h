// The project's one errno -> absl::Status mapping (named so that it does not
// shadow absl::ErrnoToStatus, whose codes differ).
#ifndef CMDCTL_COMMON_ERRNO_STATUS_H_
#define CMDCTL_COMMON_ERRNO_STATUS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace cmdctl {

// Whose failure an errno describes, which decides its code.
enum class ErrnoCause {
  // The caller's request (a path it named, a program it asked for):
  // ENOENT -> NOT_FOUND, EACCES -> PERMISSION_DENIED, EINVAL ->
  // INVALID_ARGUMENT, EEXIST -> ALREADY_EXISTS, resource errnos ->
  // RESOURCE_EXHAUSTED, anything else INTERNAL.
  kRequest,
  // Our own machinery (cgroups, sockets, spawning, an fd we hold), whose
  // errno says nothing about the request: RESOURCE_EXHAUSTED for the
  // resource errnos, INTERNAL otherwise.
  kMachinery,
};

// True for the errnos that mean "out of something": EMFILE, ENFILE, ENOMEM,
// EAGAIN, ENOSPC, EDQUOT, ENOBUFS.
bool IsResourceErrno(int err);

// "EMFILE", "ENFILE", "ENOMEM", "EAGAIN", "ENOSPC", "EDQUOT", "ENOBUFS" for
// the resource errnos; "" for any other.
const char* ResourceErrnoName(int err);

// strerror_r's text for `err`.
std::string ErrnoText(int err);

// "<what>: <strerror(err)>" with the code `cause` gives `err`; a resource
// errno's message ends with its name: "socketpair: Too many open files
// (EMFILE)".
absl::Status ErrnoStatus(int err, absl::string_view what,
                         ErrnoCause cause = ErrnoCause::kRequest);

}  // namespace cmdctl

#endif  // CMDCTL_COMMON_ERRNO_STATUS_H_

#include "domain/authorization.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace cmdctl {

absl::StatusOr<std::string> ResolveRunAs(const Caller& caller,
                                         const std::string& requested) {
  if (caller.principals.empty()) {
    return absl::PermissionDeniedError(
        absl::StrCat("identity '", caller.identity,
                     "' has no principals: its certificate grants no unix "
                     "user (add a SAN URI principal:<login>)"));
  }
  if (requested.empty()) return caller.principals.front();
  if (std::find(caller.principals.begin(), caller.principals.end(),
                requested) != caller.principals.end()) {
    return requested;
  }
  return absl::PermissionDeniedError(absl::StrCat(
      "identity '", caller.identity, "' may not run processes as '", requested,
      "' (allowed: ", absl::StrJoin(caller.principals, ", "), ")"));
}

}  // namespace cmdctl

// The host's view of the user database (passwd and group, through NSS).
#ifndef CMDCTL_OS_ADAPTER_USER_DB_H_
#define CMDCTL_OS_ADAPTER_USER_DB_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace cmdctl {

struct UserEntry {
  std::string login;
  uid_t uid = 0;
  gid_t gid = 0;
  std::string home;
  std::string shell;
  std::vector<gid_t> groups;  // supplementary groups (the primary included)
};

// The user `login` and its groups. INVALID_ARGUMENT "unknown user" only when
// the database says there is no such user; a lookup that fails for another
// reason is RESOURCE_EXHAUSTED (out of fds or memory) or INTERNAL, never
// "unknown user". FAILED_PRECONDITION for a user without an absolute home.
absl::StatusOr<UserEntry> LookupUser(const std::string& login);

// The login of `uid`, or "uid N" when it has none.
std::string LoginOf(uid_t uid);

}  // namespace cmdctl

#endif  // CMDCTL_OS_ADAPTER_USER_DB_H_

// Who may run what (SPEC §4). Pure functions.
#ifndef CMDCTL_DOMAIN_AUTHORIZATION_H_
#define CMDCTL_DOMAIN_AUTHORIZATION_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace cmdctl {

// The authenticated caller: the client certificate's Subject CN and its
// `principal:<login>` SAN URIs, in certificate order.
struct Caller {
  std::string identity;
  std::vector<std::string> principals;
};

// The unix login a request runs as. Empty `requested`: the first principal.
// PERMISSION_DENIED when `requested` is not among the principals, or when
// there are none (an empty list grants nothing). `root` is granted only by
// an explicit `principal:root`, like any other login.
absl::StatusOr<std::string> ResolveRunAs(const Caller& caller,
                                         const std::string& requested);

}  // namespace cmdctl

#endif  // CMDCTL_DOMAIN_AUTHORIZATION_H_

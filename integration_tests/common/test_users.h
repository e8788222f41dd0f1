// Unix users for integration tests (they run as root, like CI). Creation is
// idempotent and serialized across test processes, so parallel ctest runs
// and repeated runs reuse the same users. Names start with "cmdctl-it-".
#ifndef CMDCTL_INTEGRATION_TESTS_COMMON_TEST_USERS_H_
#define CMDCTL_INTEGRATION_TESTS_COMMON_TEST_USERS_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace cmdctl::test {

struct TestUser {
  std::string login;
  uid_t uid = 0;
  gid_t gid = 0;  // primary group (a group of the same name)
  std::string home;
};

// The group `name`, created (groupadd) if missing. Requires root.
absl::StatusOr<gid_t> EnsureTestGroup(const std::string& name);

// The user `login` with a home directory under /home (made and owned by the
// user if missing), a same-name primary group and at least the
// supplementary groups `extra_groups` (created if missing). Requires root.
absl::StatusOr<TestUser> EnsureTestUser(
    const std::string& login,
    const std::vector<std::string>& extra_groups = {});

// Runs argv[0] (absolute path) with argv, waits for it; OK on exit code 0.
// Not for use while a process-wide child reaper is active.
absl::Status RunCommand(const std::vector<std::string>& argv);

}  // namespace cmdctl::test

#endif  // CMDCTL_INTEGRATION_TESTS_COMMON_TEST_USERS_H_

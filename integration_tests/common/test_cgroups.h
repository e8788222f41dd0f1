// cgroup v2 subtrees for the resource-control tests (SPEC §5a).
//
// cgroup v2's no-internal-process rule: a cgroup that holds processes cannot
// give controllers to its children. So a test that needs the controllers
// (memory.max, cpu.max, pids.max, io.max) must be alone in its cgroup <own>
// (ci/vm-tests.sh starts each test binary alone in a fresh cgroup of the
// VM); EnableTestControllers then moves the test process into the leaf
// <own>/cmdctl-it-<pid>-runner and enables the controllers in <own>, and
// each host or cmdctld under test gets a fresh cgroup of its own from
// NewTestCgroup, beside the runner, with exactly the controllers the test
// asks for. Nothing here writes outside <own>.
//
// A test that needs the controllers skips where the host cannot give them
// (a hybrid or v1 host, a cgroup shared with other processes), unless
// CMDCTL_REQUIRE_CGROUP_CONTROLLERS=1 (ci/vm-tests.sh's guest sets it): then
// it fails.
#ifndef CMDCTL_INTEGRATION_TESTS_COMMON_TEST_CGROUPS_H_
#define CMDCTL_INTEGRATION_TESTS_COMMON_TEST_CGROUPS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace cmdctl::test {

// The controllers the resource-control tests need.
inline const std::vector<std::string>& AllTestControllers() {
  static const std::vector<std::string> all = {"cpu", "io", "memory", "pids"};
  return all;
}

// CMDCTL_REQUIRE_CGROUP_CONTROLLERS=1: tests that need the controllers must
// run (a missing controller is a failure, not a skip).
bool CgroupControllersRequired();

// The cgroup v2 directory this process was in when first asked (e.g.
// /sys/fs/cgroup/vmtest-1). NOT_FOUND without a cgroup v2 mount.
absl::StatusOr<std::string> OwnCgroup();

// Makes AllTestControllers() available to the cgroups NewTestCgroup makes:
// moves this process (all its threads) into <own>/cmdctl-it-<pid>-runner
// and enables them in <own>. Once done, later calls return OK at once.
// FAILED_PRECONDITION, naming the missing controllers or the reason, when
// <own> does not offer them all or other processes share <own> (the process
// is then moved back: nothing changed).
absl::Status EnableTestControllers();

// Makes a fresh cgroup for one host or server,
// <own>/cmdctl-it-<pid>-<n>/<name>, with exactly `controllers` available in
// it (a subset of AllTestControllers(); non-empty only after
// EnableTestControllers succeeded) and none of its own enabled, and returns
// its directory.
absl::StatusOr<std::string> NewTestCgroup(
    const std::string& name, const std::vector<std::string>& controllers);

// The controllers `cgroup` offers (its cgroup.controllers).
std::vector<std::string> CgroupControllersOf(const std::string& cgroup);

// Kills every process in the cgroup NewTestCgroup returned and below it,
// waits for them to go (up to 10 s) and removes its cgroups, the one made
// around it included. Best effort; empty `cgroup`: nothing.
void RemoveTestCgroup(const std::string& cgroup);

}  // namespace cmdctl::test

#endif  // CMDCTL_INTEGRATION_TESTS_COMMON_TEST_CGROUPS_H_

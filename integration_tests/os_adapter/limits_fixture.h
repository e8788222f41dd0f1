// The fixture of LinuxProcessHost's resource-control tests (SPEC §5a): a
// host whose jobs get their cgroups under a fresh cgroup of the test's own
// (integration_tests/common/test_cgroups.h) that offers exactly the
// controllers the test asks for, and jobs run to their end with the whole
// JobEnd kept. Runs as root; jobs run as cmdctl-it-alice unless told.
#ifndef CMDCTL_INTEGRATION_TESTS_OS_ADAPTER_LIMITS_FIXTURE_H_
#define CMDCTL_INTEGRATION_TESTS_OS_ADAPTER_LIMITS_FIXTURE_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "domain/process_host.h"
#include "gtest/gtest.h"
#include "os_adapter/linux_process_host.h"

namespace cmdctl::it {

inline constexpr char kAlice[] = "cmdctl-it-alice";
// A bound against hangs (the VM is slow), never a timing assertion.
inline constexpr absl::Duration kBound = absl::Seconds(120);
inline constexpr int64_t kMiB = 1 << 20;

// Keeps what the host reports at a job's end.
class EndObserver : public ProcessObserver {
 public:
  void OnOutput() override {}
  void OnEnd(const JobEnd& end) override;
  // The end, or nullopt after `timeout`.
  std::optional<JobEnd> Wait(absl::Duration timeout = kBound);
  bool ended();

 private:
  absl::Mutex mu_;
  absl::CondVar changed_;
  std::optional<JobEnd> end_ ABSL_GUARDED_BY(mu_);
};

std::string Describe(const ExitInfo& exit);

// Prints "[ OBSERVED ] <test>: <name> = <value>" (the figures a run of the
// limit tests measured, e.g. in the VM's log) and records it as a property.
void Observed(const std::string& name, const std::string& value);

class LimitsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite();
  void TearDown() override;

  // Creates host_ with its jobs under a fresh cgroup offering exactly
  // `controllers` (test::AllTestControllers() or a subset). When the host
  // cannot give them, the test is skipped, or fails where
  // CMDCTL_REQUIRE_CGROUP_CONTROLLERS=1; check IsSkipped()/HasFailure()
  // after it. Without controllers and without a writable cgroup v2 the
  // host uses no cgroup (cgroup_ stays empty).
  void StartHost(const std::vector<std::string>& controllers);

  ProcessSpec Spec(const std::string& program, std::vector<std::string> args,
                   const ResourceLimits& limits = {},
                   const std::string& user = kAlice);

  struct Ended {
    std::optional<JobEnd> end;  // nullopt: did not start or did not end
    std::string out, err;
    absl::Duration wall;  // Start to OnEnd, as the test saw it
  };
  Ended RunToEnd(const ProcessSpec& spec);
  // The job's stored output (after its end).
  std::string ReadOutput(const std::string& id, const std::string& host_state,
                         const JobEnd& end, OutputStream stream);

  // <cgroup_>/<id>, the job's cgroup ("" without cgroups).
  std::string JobCgroup(const std::string& id) const;
  // Expects that nothing of a refused start is left: no record (run
  // directory), no cgroup, no output directory, no process.
  void ExpectNothingLeft(const std::string& id);

  static std::string* work_dir_;  // state/ and out/ of the hosts
  std::string cgroup_;            // the host's cgroup parent, if any
  std::unique_ptr<LinuxProcessHost> host_;
};

}  // namespace cmdctl::it

#endif  // CMDCTL_INTEGRATION_TESTS_OS_ADAPTER_LIMITS_FIXTURE_H_

// LinuxProcessHost where no controller is available to its cgroup (this
// development machine and CI: a hybrid host; in the VM, a cgroup without
// controllers): limits are refused naming the controller and start nothing,
// jobs without limits run, CPU comes from cpu.stat, and the memory peak
// from the jobs' rusage (SPEC §5a). Runs on every host.
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "integration_tests/os_adapter/limits_fixture.h"

namespace cmdctl::it {
namespace {

using ::testing::HasSubstr;

// Busy in user space until the process has used `seconds` of CPU, whatever
// the load of the machine, then says so and sleeps (perl is Essential in
// Debian).
std::vector<std::string> BusyFor(double seconds, int then_sleep) {
  return {"-e",
          absl::StrCat("1 while (times)[0] < ", seconds,
                       "; $| = 1; print qq(busy\\n); sleep ", then_sleep)};
}

class NoControllersTest : public LimitsTest {
 protected:
  void SetUp() override { StartHost({}); }
};

struct Refused {
  const char* what;
  ResourceLimits limits;
  const char* controller;
};

TEST_F(NoControllersTest,
       LimitIsFailedPreconditionNamingTheControllerAndLeavesNothing) {
  const Refused cases[] = {
      {"memory", {64 * kMiB, 0, 0, 0, 0}, "memory"},
      {"cpus", {0, 500, 0, 0, 0}, "cpu"},
      {"pids", {0, 0, 8, 0, 0}, "pids"},
      {"io read", {0, 0, 0, kMiB, 0}, "io"},
      {"io write", {0, 0, 0, 0, kMiB}, "io"},
  };
  for (const Refused& c : cases) {
    SCOPED_TRACE(c.what);
    const std::string controller = absl::StrCat(" ", c.controller, " ");
    const absl::Status checked = host_->CheckLimits(c.limits);
    EXPECT_EQ(checked.code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_THAT(std::string(checked.message()), HasSubstr(controller));
    ProcessSpec spec = Spec("sleep", {"30"}, c.limits);
    auto observer = std::make_shared<EndObserver>();
    absl::StatusOr<StartedProcess> started = host_->Start(spec, observer);
    ASSERT_EQ(started.status().code(), absl::StatusCode::kFailedPrecondition)
        << started.status();
    EXPECT_THAT(std::string(started.status().message()), HasSubstr(controller));
    ExpectNothingLeft(spec.job_id);
    EXPECT_FALSE(observer->ended());
  }
}

TEST_F(NoControllersTest, JobsWithoutLimitsStillRun) {
  Ended r = RunToEnd(Spec("sh", {"-c", "echo hi; echo err >&2; exit 3"}));
  ASSERT_TRUE(r.end);
  EXPECT_FALSE(r.end->exit.signaled) << Describe(r.end->exit);
  EXPECT_EQ(r.end->exit.exit_code, 3);
  EXPECT_FALSE(r.end->oom_killed);
  EXPECT_EQ(r.out, "hi\n");
  EXPECT_EQ(r.err, "err\n");
}

// While the job runs only the cgroup's cpu.stat can know its CPU (its
// processes are not reaped yet, so no rusage has it); at its end the same
// figure is kept.
TEST_F(NoControllersTest, CpuUsageComesFromTheCgroupsCpuStat) {
  if (cgroup_.empty()) GTEST_SKIP() << "no cgroup v2 here: rusage only";
  ASSERT_TRUE(std::filesystem::exists(cgroup_ + "/cgroup.controllers"));
  ProcessSpec spec = Spec("perl", BusyFor(0.5, 60));
  auto observer = std::make_shared<EndObserver>();
  absl::StatusOr<StartedProcess> started = host_->Start(spec, observer);
  ASSERT_TRUE(started.ok()) << started.status();
  const absl::Time deadline = absl::Now() + kBound;
  LiveStats live;
  while (absl::Now() < deadline && !observer->ended()) {
    absl::StatusOr<LiveStats> stats = host_->Stats(spec.job_id);
    ASSERT_TRUE(stats.ok()) << stats.status();
    live = *stats;
    if (live.output[0].written > 0) break;  // "busy" is out: 0.5 s used
    absl::SleepFor(absl::Milliseconds(50));
  }
  ASSERT_FALSE(observer->ended()) << "the job ended early";
  // The printing itself is after the loop: the figure is complete.
  absl::StatusOr<LiveStats> stats = host_->Stats(spec.job_id);
  ASSERT_TRUE(stats.ok()) << stats.status();
  live = *stats;
  EXPECT_GE(live.usage.cpu_user + live.usage.cpu_system,
            absl::Milliseconds(450));
  EXPECT_GE(live.usage.cpu_user, absl::Milliseconds(300));
  EXPECT_LE(live.usage.cpu_user, absl::Seconds(3));
  ASSERT_TRUE(host_->Kill(spec.job_id).ok());
  std::optional<JobEnd> end = observer->Wait();
  ASSERT_TRUE(end);
  EXPECT_TRUE(end->exit.signaled && end->exit.signal == SIGKILL)
      << Describe(end->exit);
  EXPECT_GE(end->usage.cpu_user, live.usage.cpu_user);
  EXPECT_LE(end->usage.cpu_user + end->usage.cpu_system,
            live.usage.cpu_user + live.usage.cpu_system + absl::Seconds(1));
  EXPECT_EQ(end->usage.io_read_bytes, 0);  // no io controller: 0
  EXPECT_EQ(end->usage.io_write_bytes, 0);
  Observed("cpu_user_ms",
           absl::StrCat(absl::ToInt64Milliseconds(end->usage.cpu_user)));
}

TEST_F(NoControllersTest, MemoryPeakFallsBackToTheLargestResidentSet) {
  if (!cgroup_.empty()) {
    ASSERT_FALSE(std::filesystem::exists(cgroup_ + "/memory.peak"))
        << "a memory controller: not the fallback";
  }
  // 50 MiB, touched (a string of 50 Mi "x").
  Ended big = RunToEnd(
      Spec("perl", {"-e",
                    "my $b = q(x) x (50 << 20); select(undef, undef, undef, "
                    "0.2); print length($b), qq(\\n)"}));
  ASSERT_TRUE(big.end);
  EXPECT_EQ(big.out, absl::StrCat(50 * kMiB, "\n"));
  EXPECT_GE(big.end->usage.memory_peak_bytes, 40 * kMiB);
  EXPECT_LE(big.end->usage.memory_peak_bytes, 1024 * kMiB);
  // A small job's peak is its own, not the host's nor the last job's.
  Ended small = RunToEnd(Spec("true", {}));
  ASSERT_TRUE(small.end);
  EXPECT_GT(small.end->usage.memory_peak_bytes, 0);
  EXPECT_LT(small.end->usage.memory_peak_bytes, 20 * kMiB);
  Observed("memory_peak_mib",
           absl::StrCat(big.end->usage.memory_peak_bytes / kMiB));
}

// The largest resident set of any process of the tree, not only of the
// main one: a child that allocates counts.
TEST_F(NoControllersTest, MemoryPeakFallbackCountsTheWholeTree) {
  Ended r = RunToEnd(
      Spec("sh", {"-c", "perl -e 'my $b = q(x) x (50 << 20)'; echo done"}));
  ASSERT_TRUE(r.end);
  EXPECT_EQ(r.out, "done\n");
  EXPECT_GE(r.end->usage.memory_peak_bytes, 40 * kMiB);
}

}  // namespace
}  // namespace cmdctl::it

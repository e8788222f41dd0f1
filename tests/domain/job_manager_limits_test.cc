// JobManager and resource control (SPEC §5a) over a fake host: limits and
// the server's defaults-as-ceilings, limits the host cannot enforce, the
// per-identity quota, timeouts on the fake clock, and the OOM flag.
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/domain/job_manager_support.h"

namespace cmdctl::test {
namespace {

using ::testing::HasSubstr;
using SignalResponse = FakeProcessHost::SignalResponse;

JobManagerOptions WithDefaults() {
  JobManagerOptions options;
  options.limit_defaults.memory_bytes = int64_t{512} << 20;
  options.limit_defaults.cpu_millicores = 1500;
  options.limit_defaults.pids = 256;
  return options;
}

TEST(JobManagerLimitsTest, RequestedLimitsReachTheHostAndTheStatus) {
  ManagerBench bench;
  RunRequest req = Cmd("make");
  req.limits.memory_bytes = 64 << 20;
  req.limits.cpu_millicores = 250;
  req.limits.pids = 16;
  req.limits.io_read_bytes_per_second = 1 << 20;
  req.limits.io_write_bytes_per_second = 2 << 20;
  const std::string id = bench.RunOk(kAlice, req);
  EXPECT_EQ(bench.host.job(id).spec->limits, req.limits);
  EXPECT_EQ(bench.manager.GetStatus("alice", id)->limits, req.limits);
}

TEST(JobManagerLimitsTest, DefaultsApplyWhereTheRequestAsksForNone) {
  ManagerBench bench(WithDefaults());
  RunRequest req = Cmd("make");
  req.limits.cpu_millicores = 500;  // below the ceiling: as asked
  const std::string id = bench.RunOk(kAlice, req);
  const ResourceLimits applied = bench.host.job(id).spec->limits;
  EXPECT_EQ(applied.memory_bytes, int64_t{512} << 20);
  EXPECT_EQ(applied.cpu_millicores, 500);
  EXPECT_EQ(applied.pids, 256);
  EXPECT_EQ(applied.io_read_bytes_per_second, 0);
  // The status shows the limits as applied.
  EXPECT_EQ(bench.manager.GetStatus("alice", id)->limits, applied);
}

TEST(JobManagerLimitsTest, MoreThanTheDefaultIsInvalidArgumentNamingBoth) {
  ManagerBench bench(WithDefaults());
  RunRequest req = Cmd("make");
  req.limits.memory_bytes = int64_t{1} << 30;
  absl::StatusOr<JobStatus> run = bench.manager.Run(kAlice, req);
  EXPECT_EQ(run.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string message(run.status().message());
  EXPECT_THAT(message, HasSubstr("1073741824"));
  EXPECT_THAT(message, HasSubstr("536870912"));
  EXPECT_THAT(message, HasSubstr("--default_memory"));
  EXPECT_TRUE(bench.host.snapshot().start_attempts.empty());
}

TEST(JobManagerLimitsTest, NegativeLimitsAndTimeoutsAreInvalidArgument) {
  ManagerBench bench;
  RunRequest req = Cmd("make");
  req.limits.pids = -1;
  EXPECT_EQ(bench.manager.Run(kAlice, req).status().code(),
            absl::StatusCode::kInvalidArgument);
  req = Cmd("make");
  req.timeout = absl::Seconds(-1);
  EXPECT_EQ(bench.manager.Run(kAlice, req).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(bench.host.snapshot().start_attempts.empty());
}

TEST(JobManagerLimitsTest, LimitTheHostCannotEnforceStartsNothing) {
  ManagerBench bench;
  bench.host.set_limits_error(absl::FailedPreconditionError(
      "cannot enforce memory_bytes: the memory controller is not available"));
  RunRequest req = Cmd("make");
  req.limits.memory_bytes = 64 << 20;
  absl::StatusOr<JobStatus> run = bench.manager.Run(kAlice, req);
  EXPECT_EQ(run.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(run.status().message()), HasSubstr("memory"));
  EXPECT_TRUE(bench.host.snapshot().start_attempts.empty());
  EXPECT_TRUE(bench.store.records().empty());
  // Jobs without limits still run on such a host.
  EXPECT_TRUE(bench.manager.Run(kAlice, Cmd("make")).ok());
}

TEST(JobManagerQuotaTest, OneMoreRunningJobThanTheQuotaIsResourceExhausted) {
  JobManagerOptions options;
  options.max_jobs_per_identity = 2;
  ManagerBench bench(options);
  const std::string a = bench.RunOk(kAlice, Cmd("sleep"));
  bench.RunOk(kAlice, Cmd("sleep"));
  absl::StatusOr<JobStatus> third = bench.manager.Run(kAlice, Cmd("sleep"));
  EXPECT_EQ(third.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(third.status().message()), HasSubstr("2"));
  EXPECT_THAT(std::string(third.status().message()),
              HasSubstr("--max_jobs_per_identity"));
  EXPECT_EQ(bench.host.snapshot().start_attempts.size(), 2u);
  // Another identity is not held back by alice's jobs.
  EXPECT_TRUE(bench.manager.Run(kBob, Cmd("sleep")).ok());
  // An ended job frees its slot.
  bench.host.Exit(a, ExitInfo::Exited(0));
  EXPECT_TRUE(bench.manager.Run(kAlice, Cmd("sleep")).ok());
}

TEST(JobManagerQuotaTest, FailedStartsDoNotUseUpTheQuota) {
  JobManagerOptions options;
  options.max_jobs_per_identity = 1;
  ManagerBench bench(options);
  bench.host.SetProgramError("missing", absl::NotFoundError("not found"));
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(bench.manager.Run(kAlice, Cmd("missing")).status().code(),
              absl::StatusCode::kNotFound);
  }
  bench.store.set_insert_error(absl::ResourceExhaustedError("disk full"));
  EXPECT_FALSE(bench.manager.Run(kAlice, Cmd("sleep")).ok());
  bench.store.set_insert_error(absl::OkStatus());
  EXPECT_TRUE(bench.manager.Run(kAlice, Cmd("sleep")).ok());
}

TEST(JobManagerQuotaTest, JobsTakenUpAfterARestartCount) {
  JobManagerOptions options;
  options.max_jobs_per_identity = 1;
  FakeProcessHost host;
  FakeJobStore store;
  const auto ids = SequentialIds();  // one sequence: no id is made twice
  {
    JobManager first(&host, &store, ids, options);
    ASSERT_TRUE(first.Run(kAlice, Cmd("sleep")).ok());
    host.Crash();
  }
  JobManager second(&host, &store, ids, options);
  ASSERT_TRUE(second.Recover().ok());
  EXPECT_EQ(second.Run(kAlice, Cmd("sleep")).status().code(),
            absl::StatusCode::kResourceExhausted);
}

TEST(JobManagerTimeoutTest, TimeoutStopsTheJobWithTheServersGrace) {
  JobManagerOptions options;
  options.default_stop.grace = absl::Seconds(2);
  ManagerBench bench(options);
  RunRequest req = Cmd("sleep");
  req.timeout = absl::Seconds(10);
  const std::string id = bench.RunOk(kAlice, req);
  bench.host.clock().AdvanceTime(absl::Seconds(10) - absl::Milliseconds(1));
  EXPECT_EQ(bench.host.job(id).terminate_count, 0);
  bench.host.clock().AdvanceTime(absl::Milliseconds(1));
  EXPECT_EQ(bench.host.job(id).terminate_count, 1);  // TERM ignored (default)
  bench.host.clock().AdvanceTime(absl::Seconds(2));
  EXPECT_EQ(bench.host.job(id).kill_count, 1);
  bench.host.clock().RunReady();
  const JobStatus s = bench.manager.GetStatus("alice", id).value();
  EXPECT_EQ(s.state, JobState::kStopped);
  EXPECT_TRUE(s.timed_out);
  EXPECT_TRUE(s.stop_requested);
  EXPECT_EQ(s.timeout, absl::Seconds(10));
}

TEST(JobManagerTimeoutTest, JobEndingInTimeIsNotTimedOut) {
  ManagerBench bench;
  RunRequest req = Cmd("sleep");
  req.timeout = absl::Seconds(10);
  const std::string id = bench.RunOk(kAlice, req);
  bench.host.clock().AdvanceTime(absl::Seconds(3));
  bench.host.Exit(id, ExitInfo::Exited(0));
  bench.host.clock().AdvanceTime(absl::Minutes(1));
  EXPECT_EQ(bench.host.job(id).terminate_count, 0);
  const JobStatus s = bench.manager.GetStatus("alice", id).value();
  EXPECT_EQ(s.state, JobState::kExited);
  EXPECT_FALSE(s.timed_out);
}

TEST(JobManagerTimeoutTest, StopBeforeTheTimeoutIsNotTimedOut) {
  ManagerBench bench;
  bench.host.set_on_terminate(SignalResponse::kExitLater);
  RunRequest req = Cmd("sleep");
  req.timeout = absl::Seconds(10);
  const std::string id = bench.RunOk(kAlice, req);
  StopResult stop;
  bench.manager.Stop("alice", id, absl::Seconds(1), stop.Callback());
  bench.host.clock().RunReady();
  ASSERT_TRUE(stop.result.ok());
  EXPECT_EQ(stop.result->state, JobState::kStopped);
  EXPECT_FALSE(stop.result->timed_out);
  bench.host.clock().AdvanceTime(absl::Minutes(1));
  EXPECT_EQ(bench.host.job(id).terminate_count, 1);
}

TEST(JobManagerOomTest, OomKillComesOnlyFromTheHostsReport) {
  ManagerBench bench;
  const std::string oom = bench.RunOk(kAlice, Cmd("eat-memory"));
  const std::string killed = bench.RunOk(kAlice, Cmd("kill-myself"));
  ResourceUsage usage;
  usage.memory_peak_bytes = 64 << 20;
  bench.host.Exit(oom, ExitInfo::Signaled(9), usage, /*oom_killed=*/true);
  bench.host.Exit(killed, ExitInfo::Signaled(9));  // same signal, no OOM
  JobStatus s = bench.manager.GetStatus("alice", oom).value();
  EXPECT_EQ(s.state, JobState::kSignaled);
  EXPECT_EQ(s.signal, 9);
  EXPECT_TRUE(s.oom_killed);
  EXPECT_EQ(s.usage.memory_peak_bytes, 64 << 20);
  s = bench.manager.GetStatus("alice", killed).value();
  EXPECT_EQ(s.state, JobState::kSignaled);
  EXPECT_FALSE(s.oom_killed);
}

TEST(JobManagerOomTest, StopThatCameFirstKeepsTheJobStoppedButNotesTheOom) {
  ManagerBench bench;
  const std::string id = bench.RunOk(kAlice, Cmd("eat-memory"));
  StopResult stop;
  bench.manager.Stop("alice", id, absl::Seconds(5), stop.Callback());
  bench.host.Exit(id, ExitInfo::Signaled(9), {}, /*oom_killed=*/true);
  ASSERT_TRUE(stop.result.ok());
  EXPECT_EQ(stop.result->state, JobState::kStopped);
  EXPECT_TRUE(stop.result->oom_killed);
}

}  // namespace
}  // namespace cmdctl::test

// A start that fails, at any step, leaves nothing behind (SPEC §5, issue
// 14): no record, no registered job, no quota slot, no process the host
// still runs; and a resource error reaches the caller as what it is.
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/domain/job_manager_support.h"

namespace cmdctl::test {
namespace {

using ::testing::HasSubstr;

// One identity may run one job: a slot a failed start kept would show.
JobManagerOptions OneJobEach() {
  JobManagerOptions options;
  options.max_jobs_per_identity = 1;
  return options;
}

// Nothing of a failed start is left: no job listed or found, no record,
// no host job still running, and the identity's one slot is free.
void ExpectNothingLeft(ManagerBench& bench) {
  EXPECT_TRUE(ListAll(bench.manager, "alice").empty());
  EXPECT_TRUE(bench.store.records().empty());
  for (const ProcessSpec& attempt : bench.host.snapshot().start_attempts) {
    EXPECT_EQ(bench.manager.GetStatus("alice", attempt.job_id).status().code(),
              absl::StatusCode::kNotFound);
    const FakeProcessHost::JobSnapshot job = bench.host.job(attempt.job_id);
    if (job.known) {
      EXPECT_TRUE(job.discarded) << attempt.job_id;
      EXPECT_TRUE(job.output_removed) << attempt.job_id;
      EXPECT_FALSE(job.holds_observer) << attempt.job_id;
    }
  }
}

void ExpectSlotFree(ManagerBench& bench) {
  bench.host.set_start_error(absl::OkStatus());
  bench.store.set_insert_error(absl::OkStatus());
  absl::StatusOr<JobStatus> next = bench.manager.Run(kAlice, Cmd("sleep"));
  EXPECT_TRUE(next.ok()) << next.status();
}

TEST(StartFailuresTest, HostOutOfResourcesIsResourceExhaustedNamingIt) {
  for (const char* errno_name : {"EMFILE", "ENFILE", "ENOMEM", "EAGAIN"}) {
    SCOPED_TRACE(errno_name);
    ManagerBench bench(OneJobEach());
    bench.host.set_start_error(absl::ResourceExhaustedError(absl::StrCat(
        "the job was not started: socketpair: (", errno_name, ")")));
    absl::StatusOr<JobStatus> run = bench.manager.Run(kAlice, Cmd("sleep"));
    EXPECT_EQ(run.status().code(), absl::StatusCode::kResourceExhausted);
    EXPECT_THAT(run.status().message(), HasSubstr(errno_name));
    EXPECT_TRUE(bench.host.snapshot().started_job_ids.empty());
    ExpectNothingLeft(bench);
    ExpectSlotFree(bench);
  }
}

TEST(StartFailuresTest, RequestErrorsOfTheHostLeaveNothing) {
  for (const absl::Status& error :
       {absl::NotFoundError("no such program"),
        absl::FailedPreconditionError("cannot execute"),
        absl::InvalidArgumentError("unknown user: nobody-here"),
        absl::PermissionDeniedError("not root"),
        absl::DeadlineExceededError("exec hung"),
        absl::InternalError("the launcher died")}) {
    SCOPED_TRACE(error.ToString());
    ManagerBench bench(OneJobEach());
    bench.host.set_start_error(error);
    EXPECT_EQ(bench.manager.Run(kAlice, Cmd("sleep")).status(), error);
    ExpectNothingLeft(bench);
    ExpectSlotFree(bench);
  }
}

TEST(StartFailuresTest, UnenforceableLimitStartsNothing) {
  ManagerBench bench(OneJobEach());
  bench.host.set_limits_error(
      absl::FailedPreconditionError("no memory controller"));
  RunRequest req = Cmd("sleep");
  req.limits.memory_bytes = 1 << 20;
  EXPECT_EQ(bench.manager.Run(kAlice, req).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(bench.host.snapshot().start_attempts.empty());
  ExpectNothingLeft(bench);
  ExpectSlotFree(bench);
}

TEST(StartFailuresTest, RecordThatCannotBeCommittedDiscardsTheProcess) {
  ManagerBench bench(OneJobEach());
  bench.store.set_insert_error(
      absl::ResourceExhaustedError("database or disk is full (ENOSPC)"));
  absl::StatusOr<JobStatus> run = bench.manager.Run(kAlice, Cmd("sleep"));
  EXPECT_EQ(run.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(run.status().message(), HasSubstr("ENOSPC"));
  EXPECT_THAT(run.status().message(), HasSubstr("not started"));
  ASSERT_EQ(bench.host.snapshot().started_job_ids.size(), 1u);
  ExpectNothingLeft(bench);
  ExpectSlotFree(bench);
}

TEST(StartFailuresTest, DiscardThatFailsIsTriedAgainUntilItWorks) {
  ManagerBench bench(OneJobEach());
  bench.store.set_insert_error(absl::ResourceExhaustedError("disk full"));
  bench.host.set_remove_error(
      absl::ResourceExhaustedError("out of processes (EAGAIN)"));
  EXPECT_FALSE(bench.manager.Run(kAlice, Cmd("sleep")).ok());
  ASSERT_EQ(bench.host.snapshot().started_job_ids.size(), 1u);
  const std::string id = bench.host.snapshot().started_job_ids[0];
  // Nobody can see it meanwhile, and the caller's slot is free.
  EXPECT_FALSE(bench.host.job(id).discarded);
  EXPECT_TRUE(bench.store.records().empty());
  EXPECT_EQ(bench.manager.GetStatus("alice", id).status().code(),
            absl::StatusCode::kNotFound);
  bench.host.clock().AdvanceTime(absl::Seconds(5));  // still failing
  EXPECT_FALSE(bench.host.job(id).discarded);
  bench.host.set_remove_error(absl::OkStatus());
  bench.host.clock().AdvanceTime(absl::Seconds(2));
  EXPECT_TRUE(bench.host.job(id).discarded);
  EXPECT_TRUE(bench.host.job(id).output_removed);
  ExpectNothingLeft(bench);
  ExpectSlotFree(bench);
}

}  // namespace
}  // namespace cmdctl::test

// JobManager over a fake (and, for "never calls the host", a mock) ProcessHost:
// validation, authorization, start failures, status, listing, output and
// owner scoping. The stop policy: job_manager_stop_test.cc; records and
// restarts: job_manager_records_test.cc; limits, quotas and timeouts:
// job_manager_limits_test.cc.
#include "domain/job_manager.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "domain/uuid.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/domain/domain_test_support.h"
#include "tests/domain/job_manager_support.h"
#include "tests/fakes/fake_process_host.h"
#include "tests/fakes/mock_process_host.h"

namespace cmdctl::test {
namespace {

using ::testing::_;
using ::testing::ElementsAre;
using ::testing::NiceMock;
using ::testing::Pair;
using ::testing::Return;
using SignalResponse = FakeProcessHost::SignalResponse;

// ---------------------------------------------------------------------------
// Validation: bad input never reaches the host.

class JobManagerValidationTest : public ::testing::Test {
 protected:
  JobManagerValidationTest() : manager_(&host_, &store_, SequentialIds()) {
    EXPECT_CALL(host_, Start(_, _)).Times(0);
    EXPECT_CALL(host_, Terminate(_)).Times(0);
    EXPECT_CALL(host_, Kill(_)).Times(0);
  }

  void ExpectRejected(const RunRequest& req, absl::StatusCode code,
                      const Caller& caller = kAlice) {
    absl::StatusOr<JobStatus> status = manager_.Run(caller, req);
    EXPECT_EQ(status.status().code(), code) << status.status();
    EXPECT_FALSE(status.status().message().empty());
    EXPECT_TRUE(ListAll(manager_, caller.identity).empty());
  }

  NiceMock<MockProcessHost> host_;
  FakeJobStore store_;
  JobManager manager_;
};

const std::string kNul("a\0b", 3);

TEST_F(JobManagerValidationTest, EmptyCommandIsInvalidArgument) {
  ExpectRejected(Cmd(""), absl::StatusCode::kInvalidArgument);
}

TEST_F(JobManagerValidationTest, NulInCommandIsInvalidArgument) {
  ExpectRejected(Cmd(kNul), absl::StatusCode::kInvalidArgument);
}

TEST_F(JobManagerValidationTest, NulInAnyArgIsInvalidArgument) {
  ExpectRejected(Cmd("echo", {"fine", kNul}),
                 absl::StatusCode::kInvalidArgument);
}

TEST_F(JobManagerValidationTest, NulInRunAsIsInvalidArgument) {
  RunRequest req = Cmd("echo");
  req.run_as = std::string("alice\0root", 10);
  ExpectRejected(req, absl::StatusCode::kInvalidArgument);
}

TEST_F(JobManagerValidationTest, NulInWorkingDirIsInvalidArgument) {
  RunRequest req = Cmd("echo");
  req.working_dir = std::string("/tmp\0/etc", 9);
  ExpectRejected(req, absl::StatusCode::kInvalidArgument);
}

TEST_F(JobManagerValidationTest, NulInEnvNameIsInvalidArgument) {
  RunRequest req = Cmd("echo");
  req.env[kNul] = "v";
  ExpectRejected(req, absl::StatusCode::kInvalidArgument);
}

TEST_F(JobManagerValidationTest, NulInEnvValueIsInvalidArgument) {
  RunRequest req = Cmd("echo");
  req.env["NAME"] = kNul;
  ExpectRejected(req, absl::StatusCode::kInvalidArgument);
}

TEST_F(JobManagerValidationTest, EmptyEnvNameIsInvalidArgument) {
  RunRequest req = Cmd("echo");
  req.env[""] = "v";
  ExpectRejected(req, absl::StatusCode::kInvalidArgument);
}

TEST_F(JobManagerValidationTest, EnvNameWithEqualsIsInvalidArgument) {
  RunRequest req = Cmd("echo");
  req.env["LD_PRELOAD=/tmp/x.so PATH"] = "v";
  ExpectRejected(req, absl::StatusCode::kInvalidArgument);
}

TEST_F(JobManagerValidationTest, RelativeWorkingDirIsInvalidArgument) {
  RunRequest req = Cmd("echo");
  req.working_dir = "../../etc";
  ExpectRejected(req, absl::StatusCode::kInvalidArgument);
}

TEST_F(JobManagerValidationTest, UnlistedRunAsIsPermissionDenied) {
  RunRequest req = Cmd("echo");
  req.run_as = "root";
  ExpectRejected(req, absl::StatusCode::kPermissionDenied);
}

TEST_F(JobManagerValidationTest, CallerWithoutPrincipalsIsPermissionDenied) {
  ExpectRejected(Cmd("echo"), absl::StatusCode::kPermissionDenied,
                 Caller{"mallory", {}});
}

// ---------------------------------------------------------------------------
// Run.

TEST_F(JobManagerTest, RunStartsTheSpecAndReturnsARunningRecord) {
  RunRequest req = Cmd("make", {"-j2", "all"});
  req.run_as = "builder";
  req.working_dir = "/srv/src";
  req.env = {{"B", "2"}, {"A", "1"}};
  absl::StatusOr<JobStatus> status = manager_.Run(kAlice, req);
  ASSERT_TRUE(status.ok()) << status.status();

  EXPECT_TRUE(IsUuidV4(status->job_id)) << status->job_id;
  EXPECT_EQ(status->owner, "alice");
  EXPECT_EQ(status->run_as, "builder");
  EXPECT_EQ(status->command, "make");
  EXPECT_THAT(status->args, ElementsAre("-j2", "all"));
  EXPECT_EQ(status->state, JobState::kRunning);
  EXPECT_EQ(status->pid, host_.job(status->job_id).pid);
  EXPECT_NE(status->pid, 0);
  EXPECT_EQ(status->started_at, host_.Now());
  EXPECT_FALSE(status->stop_requested);

  std::optional<ProcessSpec> spec = host_.job(status->job_id).spec;
  ASSERT_TRUE(spec.has_value());
  EXPECT_EQ(spec->job_id, status->job_id);
  EXPECT_EQ(spec->program, "make");
  EXPECT_THAT(spec->args, ElementsAre("-j2", "all"));
  EXPECT_EQ(spec->run_as, "builder");
  EXPECT_EQ(spec->working_dir, "/srv/src");
  EXPECT_THAT(spec->env, ElementsAre(Pair("A", "1"), Pair("B", "2")));
}

TEST_F(JobManagerTest, EmptyRunAsRunsAsTheFirstPrincipal) {
  const std::string id = RunOk(kAlice, Cmd("id"));
  EXPECT_EQ(host_.job(id).spec->run_as, "alice");
  EXPECT_EQ(StatusOf(id).run_as, "alice");
}

TEST_F(JobManagerTest, EachRunGetsAFreshId) {
  const std::string a = RunSleep();
  const std::string b = RunSleep();
  EXPECT_NE(a, b);
  EXPECT_THAT(host_.snapshot().started_job_ids, ElementsAre(a, b));
}

TEST_F(JobManagerTest, MissingProgramIsNotFoundAndLeavesNoJob) {
  host_.SetProgramError("missing", absl::NotFoundError("missing: not found"));
  absl::StatusOr<JobStatus> status = manager_.Run(kAlice, Cmd("missing"));
  EXPECT_EQ(status.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(ListAll(manager_, "alice").empty());
  ASSERT_EQ(host_.snapshot().start_attempts.size(), 1u);
  const std::string attempted = host_.snapshot().start_attempts[0].job_id;
  EXPECT_EQ(manager_.GetStatus("alice", attempted).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(JobManagerTest, StartFailureCodesPassThroughUnchanged) {
  for (absl::Status error :
       {absl::FailedPreconditionError("not executable"),
        absl::InvalidArgumentError("unknown user"),
        absl::PermissionDeniedError("not root"),
        absl::ResourceExhaustedError("EAGAIN"), absl::InternalError("boom")}) {
    host_.set_start_error(error);
    EXPECT_EQ(manager_.Run(kAlice, Cmd("x")).status().code(), error.code());
  }
  EXPECT_TRUE(ListAll(manager_, "alice").empty());
  host_.set_start_error(absl::OkStatus());
  EXPECT_TRUE(manager_.Run(kAlice, Cmd("x")).ok());
  EXPECT_EQ(ListAll(manager_, "alice").size(), 1u);
}

TEST_F(JobManagerTest, JobThatEndsDuringStartIsReportedEnded) {
  host_.set_exit_during_start(ExitInfo::Exited(0));
  const std::string id = RunOk(kAlice, Cmd("true"));
  JobStatus s = StatusOf(id);
  EXPECT_EQ(s.state, JobState::kExited);
  EXPECT_EQ(s.exit_code, 0);
  EXPECT_NE(s.pid, 0);
}

TEST_F(JobManagerTest, ExitCodeAndEndTimeAreReported) {
  const std::string id = RunSleep();
  host_.clock().AdvanceTime(absl::Seconds(7));
  host_.Exit(id, ExitInfo::Exited(42));
  JobStatus s = StatusOf(id);
  EXPECT_EQ(s.state, JobState::kExited);
  EXPECT_EQ(s.exit_code, 42);
  EXPECT_EQ(s.ended_at - s.started_at, absl::Seconds(7));
}

TEST_F(JobManagerTest, UnrequestedSignalIsSignaled) {
  const std::string id = RunSleep();
  host_.Exit(id, ExitInfo::Signaled(11));
  JobStatus s = StatusOf(id);
  EXPECT_EQ(s.state, JobState::kSignaled);
  EXPECT_EQ(s.signal, 11);
  EXPECT_FALSE(s.stop_requested);
}

TEST_F(JobManagerTest, DuplicateIdFromABrokenRandomSourceNeverStartsTwice) {
  NiceMock<MockProcessHost> host;
  FakeJobStore store;
  JobManager manager(&host, &store, [] { return std::string("same-id"); });
  ON_CALL(host, Start(_, _)).WillByDefault(Return(StartedProcess{77, "mock"}));
  // The first job with the id must not be signalled, and no second process
  // may be started under an id that is taken.
  EXPECT_CALL(host, Start(::testing::Field(&ProcessSpec::job_id, "same-id"), _))
      .Times(1);
  EXPECT_CALL(host, Kill(_)).Times(0);
  EXPECT_CALL(host, Terminate(_)).Times(0);
  ASSERT_TRUE(manager.Run(kAlice, Cmd("first")).ok());
  EXPECT_FALSE(manager.Run(kBob, Cmd("second")).ok());
  EXPECT_EQ(manager.GetStatus("alice", "same-id").value().command, "first");
  EXPECT_TRUE(ListAll(manager, "bob").empty());
}

// ---------------------------------------------------------------------------
// Status and list.

TEST_F(JobManagerTest, ListIsNewestFirstAndOnlyTheCallersJobs) {
  const std::string a1 = RunOk(kAlice, Cmd("one"));
  host_.clock().AdvanceTime(absl::Seconds(1));
  const std::string b1 = RunOk(kBob, Cmd("two"));
  host_.clock().AdvanceTime(absl::Seconds(1));
  const std::string a2 = RunOk(kAlice, Cmd("three"));
  host_.Exit(a1, ExitInfo::Exited(0));  // ended jobs stay listed
  std::vector<std::string> ids;
  for (const JobStatus& s : ListAll(manager_, "alice")) ids.push_back(s.job_id);
  EXPECT_THAT(ids, ElementsAre(a2, a1));
  ASSERT_EQ(ListAll(manager_, "bob").size(), 1u);
  EXPECT_EQ(ListAll(manager_, "bob")[0].job_id, b1);
  EXPECT_TRUE(ListAll(manager_, "carol").empty());
}

TEST_F(JobManagerTest, OtherOwnersJobIsNotFoundLikeAnUnknownIdEverywhere) {
  const std::string id = RunSleep();
  // The same id in a manager that never had it: what bob must see.
  FakeProcessHost other_host;
  FakeJobStore other_store;
  JobManager empty(&other_host, &other_store, SequentialIds());

  const absl::Status want = empty.GetStatus("bob", id).status();
  ASSERT_EQ(want.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(manager_.GetStatus("bob", id).status(), want);

  auto cursor = manager_.OpenOutput("bob", id, Follow());
  EXPECT_EQ(cursor.status(), empty.OpenOutput("bob", id, Follow()).status());
  EXPECT_EQ(manager_.OpenOutput("bob", id, Snapshot()).status().code(),
            absl::StatusCode::kNotFound);

  StopResult stop, stop_empty;
  manager_.Stop("bob", id, absl::Seconds(1), stop.Callback());
  empty.Stop("bob", id, absl::Seconds(1), stop_empty.Callback());
  EXPECT_EQ(stop.calls, 1);
  EXPECT_EQ(stop.result.status(), stop_empty.result.status());
  EXPECT_EQ(stop.result.status().code(), absl::StatusCode::kNotFound);

  // Bob's attempts did nothing to alice's job.
  host_.clock().AdvanceTime(absl::Minutes(1));
  EXPECT_EQ(host_.job(id).terminate_count, 0);
  EXPECT_EQ(host_.job(id).kill_count, 0);
  JobStatus s = StatusOf(id);
  EXPECT_EQ(s.state, JobState::kRunning);
  EXPECT_FALSE(s.stop_requested);
}

TEST_F(JobManagerTest, UnknownIdIsNotFound) {
  EXPECT_EQ(manager_.GetStatus("alice", "no-such-job").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(
      manager_.OpenOutput("alice", "no-such-job", Follow()).status().code(),
      absl::StatusCode::kNotFound);
  StopResult stop;
  manager_.Stop("alice", "no-such-job", std::nullopt, stop.Callback());
  EXPECT_EQ(stop.calls, 1);
  EXPECT_EQ(stop.result.status().code(), absl::StatusCode::kNotFound);
}

// ---------------------------------------------------------------------------
// OpenOutput.

TEST_F(JobManagerTest, OpenOutputReadsTheOwnersJobInConfiguredChunks) {
  FakeProcessHost host;
  FakeJobStore store;
  JobManagerOptions options;
  options.output_chunk_bytes = 3;
  JobManager manager(&host, &store, SequentialIds(), options);
  const std::string id = manager.Run(kAlice, Cmd("echo")).value().job_id;
  host.AppendOutput(id, OutputStream::kStdout, "hello world\n");
  host.Exit(id, ExitInfo::Exited(0));
  auto cursor = manager.OpenOutput("alice", id, Follow());
  ASSERT_TRUE(cursor.ok()) << cursor.status();
  Received r = DrainNow(**cursor);
  EXPECT_TRUE(r.at_end);
  EXPECT_EQ(r.out, "hello world\n");
  EXPECT_EQ(r.chunks.size(), 4u);
  for (const OutputChunk& c : r.chunks) EXPECT_LE(c.data.size(), 3u);
}

}  // namespace
}  // namespace cmdctl::test

// JobManager over a fake (and, for "never calls the host", a mock) ProcessHost:
// validation, authorization, start failures, status, listing, the stop policy
// on a manual clock, and owner scoping.
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

const Caller kAlice{"alice", {"alice", "builder"}};
const Caller kBob{"bob", {"bob"}};

RunRequest Cmd(std::string command, std::vector<std::string> args = {}) {
  RunRequest req;
  req.command = std::move(command);
  req.args = std::move(args);
  return req;
}

// Records every completion of a Stop.
struct StopResult {
  int calls = 0;
  absl::StatusOr<JobStatus> result = absl::UnknownError("not called");

  std::function<void(absl::StatusOr<JobStatus>)> Callback() {
    return [this](absl::StatusOr<JobStatus> r) {
      ++calls;
      result = std::move(r);
    };
  }
};

class JobManagerTest : public ::testing::Test {
 protected:
  JobManagerTest() : manager_(&host_, SequentialIds()) {}

  std::string RunOk(const Caller& caller, const RunRequest& req) {
    absl::StatusOr<JobStatus> status = manager_.Run(caller, req);
    EXPECT_TRUE(status.ok()) << status.status();
    return status.ok() ? status->job_id : "";
  }
  std::string RunSleep() { return RunOk(kAlice, Cmd("sleep", {"100"})); }

  JobStatus StatusOf(const std::string& id, const Caller& caller = kAlice) {
    absl::StatusOr<JobStatus> s = manager_.GetStatus(caller.identity, id);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? *s : JobStatus{};
  }

  FakeProcessHost host_;
  JobManager manager_;
};

// ---------------------------------------------------------------------------
// Validation: bad input never reaches the host.

class JobManagerValidationTest : public ::testing::Test {
 protected:
  JobManagerValidationTest() : manager_(&host_, SequentialIds()) {
    EXPECT_CALL(host_, Start(_, _)).Times(0);
    EXPECT_CALL(host_, Terminate(_)).Times(0);
    EXPECT_CALL(host_, Kill(_)).Times(0);
  }

  void ExpectRejected(const RunRequest& req, absl::StatusCode code,
                      const Caller& caller = kAlice) {
    absl::StatusOr<JobStatus> status = manager_.Run(caller, req);
    EXPECT_EQ(status.status().code(), code) << status.status();
    EXPECT_FALSE(status.status().message().empty());
    EXPECT_TRUE(manager_.List(caller.identity).empty());
  }

  NiceMock<MockProcessHost> host_;
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
  EXPECT_TRUE(manager_.List("alice").empty());
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
  EXPECT_TRUE(manager_.List("alice").empty());
  host_.set_start_error(absl::OkStatus());
  EXPECT_TRUE(manager_.Run(kAlice, Cmd("x")).ok());
  EXPECT_EQ(manager_.List("alice").size(), 1u);
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
  JobManager manager(&host, [] { return std::string("same-id"); });
  ON_CALL(host, Start(_, _)).WillByDefault(Return(StartedProcess{77}));
  // The first job with the id must not be signalled, and no second process
  // may be started under an id that is taken.
  EXPECT_CALL(host, Start(::testing::Field(&ProcessSpec::job_id, "same-id"), _))
      .Times(1);
  EXPECT_CALL(host, Kill(_)).Times(0);
  EXPECT_CALL(host, Terminate(_)).Times(0);
  ASSERT_TRUE(manager.Run(kAlice, Cmd("first")).ok());
  EXPECT_FALSE(manager.Run(kBob, Cmd("second")).ok());
  EXPECT_EQ(manager.GetStatus("alice", "same-id").value().command, "first");
  EXPECT_TRUE(manager.List("bob").empty());
}

// ---------------------------------------------------------------------------
// Status and list.

TEST_F(JobManagerTest, ListIsOldestFirstAndOnlyTheCallersJobs) {
  const std::string a1 = RunOk(kAlice, Cmd("one"));
  const std::string b1 = RunOk(kBob, Cmd("two"));
  const std::string a2 = RunOk(kAlice, Cmd("three"));
  host_.Exit(a1, ExitInfo::Exited(0));  // ended jobs stay listed
  std::vector<std::string> ids;
  for (const JobStatus& s : manager_.List("alice")) ids.push_back(s.job_id);
  EXPECT_THAT(ids, ElementsAre(a1, a2));
  ASSERT_EQ(manager_.List("bob").size(), 1u);
  EXPECT_EQ(manager_.List("bob")[0].job_id, b1);
  EXPECT_TRUE(manager_.List("carol").empty());
}

TEST_F(JobManagerTest, OtherOwnersJobIsNotFoundLikeAnUnknownIdEverywhere) {
  const std::string id = RunSleep();
  // The same id in a manager that never had it: what bob must see.
  FakeProcessHost other_host;
  JobManager empty(&other_host, SequentialIds());

  const absl::Status want = empty.GetStatus("bob", id).status();
  ASSERT_EQ(want.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(manager_.GetStatus("bob", id).status(), want);

  auto cursor = manager_.OpenOutput("bob", id, /*follow=*/true);
  EXPECT_EQ(cursor.status(), empty.OpenOutput("bob", id, true).status());
  EXPECT_EQ(manager_.OpenOutput("bob", id, false).status().code(),
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
  EXPECT_EQ(manager_.OpenOutput("alice", "no-such-job", true).status().code(),
            absl::StatusCode::kNotFound);
  StopResult stop;
  manager_.Stop("alice", "no-such-job", std::nullopt, stop.Callback());
  EXPECT_EQ(stop.calls, 1);
  EXPECT_EQ(stop.result.status().code(), absl::StatusCode::kNotFound);
}

// ---------------------------------------------------------------------------
// Stop policy: TERM, grace, KILL; on the fake clock.

TEST_F(JobManagerTest, StopSendsTermOnceThenKillAfterTheGrace) {
  const std::string id = RunSleep();  // ignores TERM (the fake's default)
  StopResult stop;
  manager_.Stop("alice", id, absl::Seconds(5), stop.Callback());
  EXPECT_EQ(host_.job(id).terminate_count, 1);
  EXPECT_EQ(host_.job(id).kill_count, 0);
  EXPECT_EQ(stop.calls, 0);
  EXPECT_TRUE(StatusOf(id).stop_requested);
  EXPECT_EQ(StatusOf(id).state, JobState::kRunning);

  host_.clock().AdvanceTime(absl::Seconds(5) - absl::Milliseconds(1));
  EXPECT_EQ(host_.job(id).kill_count, 0);
  EXPECT_EQ(stop.calls, 0);

  host_.clock().AdvanceTime(absl::Milliseconds(1));
  EXPECT_EQ(host_.job(id).kill_count, 1);
  host_.clock().RunReady();  // the KILL's exit arrives
  ASSERT_EQ(stop.calls, 1);
  ASSERT_TRUE(stop.result.ok()) << stop.result.status();
  EXPECT_EQ(stop.result->state, JobState::kStopped);
  EXPECT_EQ(stop.result->signal, FakeProcessHost::kSigKill);
  EXPECT_TRUE(stop.result->stop_requested);
  EXPECT_EQ(host_.job(id).terminate_count, 1);
}

TEST_F(JobManagerTest, JobThatObeysTermIsNeverKilled) {
  host_.set_on_terminate(SignalResponse::kExitLater);
  const std::string id = RunSleep();
  StopResult stop;
  manager_.Stop("alice", id, absl::Seconds(5), stop.Callback());
  EXPECT_EQ(stop.calls, 0);
  host_.clock().RunReady();
  ASSERT_EQ(stop.calls, 1);
  EXPECT_EQ(stop.result->state, JobState::kStopped);
  EXPECT_EQ(stop.result->signal, FakeProcessHost::kSigTerm);
  host_.clock().AdvanceTime(absl::Minutes(1));
  EXPECT_EQ(host_.job(id).kill_count, 0);
  EXPECT_EQ(stop.calls, 1);
  EXPECT_EQ(host_.clock().snapshot().pending_timers,
            0u);  // the KILL timer was cancelled
}

TEST_F(JobManagerTest, JobThatExitsCleanlyDuringTheGraceIsStoppedWithItsCode) {
  const std::string id = RunSleep();
  StopResult stop;
  manager_.Stop("alice", id, absl::Seconds(5), stop.Callback());
  host_.clock().AdvanceTime(absl::Seconds(2));
  host_.Exit(id, ExitInfo::Exited(0));
  ASSERT_EQ(stop.calls, 1);
  EXPECT_EQ(stop.result->state, JobState::kStopped);
  EXPECT_EQ(stop.result->exit_code, 0);
  EXPECT_EQ(stop.result->signal, 0);
  host_.clock().AdvanceTime(absl::Seconds(10));
  EXPECT_EQ(host_.job(id).kill_count, 0);
}

TEST_F(JobManagerTest, StopWithoutGraceUsesTheDefaultFiveSeconds) {
  const std::string id = RunSleep();
  StopResult stop;
  manager_.Stop("alice", id, std::nullopt, stop.Callback());
  host_.clock().AdvanceTime(absl::Seconds(5) - absl::Milliseconds(1));
  EXPECT_EQ(host_.job(id).kill_count, 0);
  host_.clock().AdvanceTime(absl::Milliseconds(1));
  EXPECT_EQ(host_.job(id).kill_count, 1);
}

TEST(JobManagerOptionsTest, StopWithoutGraceUsesTheConfiguredDefault) {
  FakeProcessHost host;
  JobManagerOptions options;
  options.default_stop.grace = absl::Seconds(2);
  JobManager manager(&host, SequentialIds(), options);
  const std::string id = manager.Run(kAlice, Cmd("sleep")).value().job_id;
  StopResult stop;
  manager.Stop("alice", id, std::nullopt, stop.Callback());
  host.clock().AdvanceTime(absl::Seconds(2) - absl::Milliseconds(1));
  EXPECT_EQ(host.job(id).kill_count, 0);
  host.clock().AdvanceTime(absl::Milliseconds(1));
  EXPECT_EQ(host.job(id).kill_count, 1);
}

TEST_F(JobManagerTest, ZeroGraceKillsAsSoonAsPossible) {
  const std::string id = RunSleep();
  StopResult stop;
  manager_.Stop("alice", id, absl::ZeroDuration(), stop.Callback());
  EXPECT_EQ(host_.job(id).terminate_count, 1);
  host_.clock().RunReady();  // the KILL timer
  EXPECT_EQ(host_.job(id).kill_count, 1);
  host_.clock().RunReady();  // its exit, if not already delivered
  ASSERT_EQ(stop.calls, 1);
  EXPECT_EQ(stop.result->state, JobState::kStopped);
}

TEST_F(JobManagerTest, NegativeGraceIsInvalidArgumentAndSendsNothing) {
  const std::string id = RunSleep();
  StopResult stop;
  manager_.Stop("alice", id, absl::Seconds(-1), stop.Callback());
  ASSERT_EQ(stop.calls, 1);
  EXPECT_EQ(stop.result.status().code(), absl::StatusCode::kInvalidArgument);
  host_.clock().AdvanceTime(absl::Minutes(1));
  EXPECT_EQ(host_.job(id).terminate_count, 0);
  EXPECT_EQ(host_.job(id).kill_count, 0);
  EXPECT_FALSE(StatusOf(id).stop_requested);
}

TEST_F(JobManagerTest, StopOfEndedJobReturnsItsFinalStatusWithoutSignalling) {
  const std::string id = RunSleep();
  host_.Exit(id, ExitInfo::Exited(3));
  StopResult stop;
  manager_.Stop("alice", id, absl::Seconds(5), stop.Callback());
  ASSERT_EQ(stop.calls, 1);  // at once
  ASSERT_TRUE(stop.result.ok());
  EXPECT_EQ(stop.result->state, JobState::kExited);
  EXPECT_EQ(stop.result->exit_code, 3);
  EXPECT_FALSE(stop.result->stop_requested);
  EXPECT_EQ(host_.job(id).terminate_count, 0);
  EXPECT_EQ(host_.job(id).kill_count, 0);
  EXPECT_EQ(host_.clock().snapshot().pending_timers, 0u);
}

TEST_F(JobManagerTest, SecondStopSendsNoSecondTermAndBothGetTheSameStatus) {
  const std::string id = RunSleep();
  StopResult first, second;
  manager_.Stop("alice", id, absl::Seconds(5), first.Callback());
  manager_.Stop("alice", id, absl::Seconds(5), second.Callback());
  EXPECT_EQ(host_.job(id).terminate_count, 1);
  host_.clock().AdvanceTime(absl::Seconds(5));
  host_.clock().RunReady();
  ASSERT_EQ(first.calls, 1);
  ASSERT_EQ(second.calls, 1);
  EXPECT_EQ(first.result->state, JobState::kStopped);
  EXPECT_EQ(second.result->state, first.result->state);
  EXPECT_EQ(second.result->signal, first.result->signal);
  EXPECT_EQ(second.result->ended_at, first.result->ended_at);
  EXPECT_EQ(host_.job(id).terminate_count, 1);
}

TEST_F(JobManagerTest, LaterStopWithShorterGraceBringsTheKillForward) {
  const std::string id = RunSleep();
  StopResult first, second;
  manager_.Stop("alice", id, absl::Seconds(30), first.Callback());
  host_.clock().AdvanceTime(absl::Seconds(1));
  manager_.Stop("alice", id, absl::Seconds(2), second.Callback());
  EXPECT_EQ(host_.job(id).terminate_count, 1);
  host_.clock().AdvanceTime(absl::Seconds(2) - absl::Milliseconds(1));
  EXPECT_EQ(host_.job(id).kill_count, 0);
  host_.clock().AdvanceTime(absl::Milliseconds(1));  // t = 3 s
  EXPECT_EQ(host_.job(id).kill_count, 1);
  host_.clock().RunReady();
  ASSERT_EQ(first.calls, 1);
  ASSERT_EQ(second.calls, 1);
  EXPECT_EQ(first.result->ended_at, second.result->ended_at);
  EXPECT_EQ(first.result->state, JobState::kStopped);
}

TEST_F(JobManagerTest, LaterStopWithLongerGraceDoesNotDelayTheKill) {
  const std::string id = RunSleep();
  StopResult first, second;
  manager_.Stop("alice", id, absl::Seconds(2), first.Callback());
  manager_.Stop("alice", id, absl::Seconds(60), second.Callback());
  host_.clock().AdvanceTime(absl::Seconds(2));
  EXPECT_EQ(host_.job(id).kill_count, 1);
  host_.clock().RunReady();
  EXPECT_EQ(first.calls, 1);
  EXPECT_EQ(second.calls, 1);
  host_.clock().AdvanceTime(absl::Minutes(5));
  EXPECT_EQ(host_.job(id).kill_count, 1);  // the later timer died with the job
}

TEST_F(JobManagerTest, ExitDuringTerminateStillEndsAsStopped) {
  // The job dies of the TERM before Terminate even returns.
  host_.set_on_terminate(SignalResponse::kExitInline);
  const std::string id = RunSleep();
  StopResult stop;
  manager_.Stop("alice", id, absl::Seconds(5), stop.Callback());
  ASSERT_EQ(stop.calls, 1);
  EXPECT_EQ(stop.result->state, JobState::kStopped);
  EXPECT_EQ(stop.result->signal, FakeProcessHost::kSigTerm);
  host_.clock().AdvanceTime(absl::Minutes(1));
  EXPECT_EQ(host_.job(id).kill_count, 0);
}

TEST_F(JobManagerTest, FailedTermStillEndsInAKillWithinTheGrace) {
  host_.set_terminate_error(absl::InternalError("EPERM"));
  const std::string id = RunSleep();
  StopResult stop;
  manager_.Stop("alice", id, absl::Seconds(30), stop.Callback());
  host_.clock().AdvanceTime(absl::Seconds(30));
  EXPECT_EQ(host_.job(id).kill_count, 1);
  host_.clock().RunReady();
  ASSERT_EQ(stop.calls, 1);
  EXPECT_EQ(stop.result->state, JobState::kStopped);
}

TEST_F(JobManagerTest, StopOnlyTouchesTheNamedJob) {
  const std::string a = RunSleep();
  const std::string b = RunSleep();
  StopResult stop;
  manager_.Stop("alice", a, absl::Seconds(1), stop.Callback());
  host_.clock().AdvanceTime(absl::Seconds(1));
  host_.clock().RunReady();
  EXPECT_EQ(stop.calls, 1);
  EXPECT_EQ(host_.job(b).terminate_count, 0);
  EXPECT_EQ(host_.job(b).kill_count, 0);
  EXPECT_EQ(StatusOf(b).state, JobState::kRunning);
}

TEST_F(JobManagerTest, StopCallbackMayCallBackIntoTheManager) {
  // The RPC layer answers from the callback; the manager must not hold a
  // lock of its own while it runs, on any of the paths that complete a stop.
  host_.set_on_terminate(SignalResponse::kExitInline);
  const std::string inline_exit = RunSleep();
  const std::string ended = RunSleep();
  host_.Exit(ended, ExitInfo::Exited(0));
  const std::string later = RunSleep();
  host_.set_on_terminate(SignalResponse::kExitLater);

  int answered = 0;
  auto reentrant = [&](absl::StatusOr<JobStatus> r) {
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(manager_.GetStatus("alice", r->job_id).value().state, r->state);
    EXPECT_EQ(manager_.List("alice").size(), 3u);
    StopResult again;
    manager_.Stop("alice", r->job_id, absl::Seconds(1), again.Callback());
    EXPECT_EQ(again.calls, 1);  // the job has ended: answered at once
    ++answered;
  };
  manager_.Stop("alice", inline_exit, absl::Seconds(5), reentrant);
  manager_.Stop("alice", ended, absl::Seconds(5), reentrant);
  manager_.Stop("alice", later, absl::Seconds(5), reentrant);
  host_.clock().RunReady();
  EXPECT_EQ(answered, 3);
}

// ---------------------------------------------------------------------------
// StopAll.

TEST_F(JobManagerTest, StopAllStopsEveryRunningJobOfEveryOwner) {
  const std::string a = RunSleep();
  const std::string b = RunOk(kBob, Cmd("sleep"));
  const std::string ended = RunSleep();
  host_.Exit(ended, ExitInfo::Exited(0));

  int done = 0;
  manager_.StopAll(absl::Seconds(3), [&] { ++done; });
  EXPECT_EQ(host_.job(a).terminate_count, 1);
  EXPECT_EQ(host_.job(b).terminate_count, 1);
  EXPECT_EQ(host_.job(ended).terminate_count, 0);
  EXPECT_EQ(done, 0);

  host_.Exit(a, ExitInfo::Exited(0));  // one obeys in time
  EXPECT_EQ(done, 0);
  host_.clock().AdvanceTime(absl::Seconds(3));
  EXPECT_EQ(host_.job(a).kill_count, 0);
  EXPECT_EQ(host_.job(b).kill_count, 1);
  host_.clock().RunReady();
  EXPECT_EQ(done, 1);
  EXPECT_EQ(StatusOf(a).state, JobState::kStopped);
  EXPECT_EQ(StatusOf(b, kBob).state, JobState::kStopped);
  EXPECT_EQ(StatusOf(ended).state, JobState::kExited);
  host_.clock().AdvanceTime(absl::Minutes(1));
  EXPECT_EQ(done, 1);
}

TEST_F(JobManagerTest, StopAllCallbackMayCallBackIntoTheManager) {
  const std::string id = RunSleep();
  bool done = false;
  manager_.StopAll(absl::Seconds(1), [&] {
    EXPECT_EQ(manager_.List("alice").size(), 1u);
    EXPECT_NE(manager_.GetStatus("alice", id).value().state,
              JobState::kRunning);
    done = true;
  });
  host_.clock().AdvanceTime(absl::Seconds(1));
  host_.clock().RunReady();
  EXPECT_TRUE(done);
}

TEST_F(JobManagerTest, StopAllWithNothingRunningIsDoneAtOnce) {
  const std::string id = RunSleep();
  host_.Exit(id, ExitInfo::Exited(0));
  int done = 0;
  manager_.StopAll(absl::Seconds(3), [&] { ++done; });
  EXPECT_EQ(done, 1);
  FakeProcessHost empty_host;
  JobManager empty(&empty_host, SequentialIds());
  int empty_done = 0;
  empty.StopAll(absl::Seconds(3), [&] { ++empty_done; });
  EXPECT_EQ(empty_done, 1);
}

// ---------------------------------------------------------------------------
// OpenOutput.

TEST_F(JobManagerTest, OpenOutputReadsTheOwnersJobInConfiguredChunks) {
  FakeProcessHost host;
  JobManagerOptions options;
  options.output_chunk_bytes = 3;
  JobManager manager(&host, SequentialIds(), options);
  const std::string id = manager.Run(kAlice, Cmd("echo")).value().job_id;
  host.AppendOutput(id, OutputStream::kStdout, "hello world\n");
  host.Exit(id, ExitInfo::Exited(0));
  auto cursor = manager.OpenOutput("alice", id, /*follow=*/true);
  ASSERT_TRUE(cursor.ok()) << cursor.status();
  Received r = DrainNow(**cursor);
  EXPECT_TRUE(r.at_end);
  EXPECT_EQ(r.out, "hello world\n");
  EXPECT_EQ(r.chunks.size(), 4u);
  for (const OutputChunk& c : r.chunks) EXPECT_LE(c.data.size(), 3u);
}

}  // namespace
}  // namespace cmdctl::test

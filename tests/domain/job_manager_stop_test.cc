// JobManager's stop policy over the fake host, on its manual clock: TERM,
// grace, KILL; concurrent stops; StopAll.
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/domain/job_manager_support.h"

namespace cmdctl::test {
namespace {

using SignalResponse = FakeProcessHost::SignalResponse;

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
  FakeJobStore store;
  JobManagerOptions options;
  options.default_stop.grace = absl::Seconds(2);
  JobManager manager(&host, &store, SequentialIds(), options);
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
    EXPECT_EQ(ListAll(manager_, "alice").size(), 3u);
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
    EXPECT_EQ(ListAll(manager_, "alice").size(), 1u);
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
  FakeJobStore empty_store;
  JobManager empty(&empty_host, &empty_store, SequentialIds());
  int empty_done = 0;
  empty.StopAll(absl::Seconds(3), [&] { ++empty_done; });
  EXPECT_EQ(empty_done, 1);
}

}  // namespace
}  // namespace cmdctl::test

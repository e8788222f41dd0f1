// Job: the state machine RUNNING -> EXITED | SIGNALED | STOPPED, its final
// states, end waiters and the change notifications readers wait on.
#include "domain/job.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cmdctl {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1700000000);
const absl::Time kEnd = kStart + absl::Seconds(3);

ProcessSpec Spec() {
  ProcessSpec spec;
  spec.job_id = "job-1";
  spec.program = "sleep";
  spec.args = {"10", "--flag"};
  spec.run_as = "builder";
  spec.working_dir = "/tmp";
  spec.env = {{"A", "1"}};
  return spec;
}

std::shared_ptr<Job> NewJob() {
  return std::make_shared<Job>("job-1", "alice", Spec(), kStart);
}

TEST(JobTest, NewJobIsRunningWithItsRecord) {
  auto job = NewJob();
  job->SetPid(4242);
  JobStatus s = job->Status();
  EXPECT_EQ(s.job_id, "job-1");
  EXPECT_EQ(s.owner, "alice");
  EXPECT_EQ(s.run_as, "builder");
  EXPECT_EQ(s.command, "sleep");
  EXPECT_THAT(s.args, ::testing::ElementsAre("10", "--flag"));
  EXPECT_EQ(s.state, JobState::kRunning);
  EXPECT_EQ(s.pid, 4242);
  EXPECT_EQ(s.started_at, kStart);
  EXPECT_EQ(s.ended_at, absl::InfinitePast());
  EXPECT_FALSE(s.stop_requested);
  EXPECT_FALSE(job->ended());
  EXPECT_EQ(job->id(), "job-1");
  EXPECT_EQ(job->owner(), "alice");
}

TEST(JobTest, ExitOnItsOwnIsExitedWithCode) {
  auto job = NewJob();
  job->OnEnd(JobEnd::Of(ExitInfo::Exited(3), kEnd));
  JobStatus s = job->Status();
  EXPECT_EQ(s.state, JobState::kExited);
  EXPECT_EQ(s.exit_code, 3);
  EXPECT_EQ(s.signal, 0);
  EXPECT_EQ(s.ended_at, kEnd);
  EXPECT_TRUE(job->ended());
}

TEST(JobTest, SignalNobodyAskedForIsSignaled) {
  auto job = NewJob();
  job->OnEnd(JobEnd::Of(ExitInfo::Signaled(11), kEnd));
  JobStatus s = job->Status();
  EXPECT_EQ(s.state, JobState::kSignaled);
  EXPECT_EQ(s.signal, 11);
  EXPECT_EQ(s.exit_code, 0);
  EXPECT_FALSE(s.stop_requested);
}

TEST(JobTest, EndAfterStopRequestIsStoppedWithTheSignal) {
  auto job = NewJob();
  EXPECT_TRUE(job->RequestStop());
  EXPECT_TRUE(job->Status().stop_requested);
  EXPECT_EQ(job->Status().state, JobState::kRunning);
  job->OnEnd(JobEnd::Of(ExitInfo::Signaled(15), kEnd));
  JobStatus s = job->Status();
  EXPECT_EQ(s.state, JobState::kStopped);
  EXPECT_EQ(s.signal, 15);
  EXPECT_TRUE(s.stop_requested);
  EXPECT_EQ(s.ended_at, kEnd);
}

TEST(JobTest, CleanExitAfterStopRequestIsStoppedWithTheExitCode) {
  auto job = NewJob();
  ASSERT_TRUE(job->RequestStop());
  job->OnEnd(JobEnd::Of(ExitInfo::Exited(0), kEnd));
  JobStatus s = job->Status();
  EXPECT_EQ(s.state, JobState::kStopped);
  EXPECT_EQ(s.exit_code, 0);
  EXPECT_EQ(s.signal, 0);
}

TEST(JobTest, OnlyTheFirstStopRequestOnARunningJobReturnsTrue) {
  auto job = NewJob();
  EXPECT_TRUE(job->RequestStop());
  EXPECT_FALSE(job->RequestStop());
  EXPECT_FALSE(job->RequestStop());
}

TEST(JobTest, StopRequestOnEndedJobChangesNothing) {
  auto job = NewJob();
  job->OnEnd(JobEnd::Of(ExitInfo::Exited(0), kEnd));
  const JobStatus before = job->Status();
  EXPECT_FALSE(job->RequestStop());
  const JobStatus after = job->Status();
  EXPECT_EQ(after.state, JobState::kExited);
  EXPECT_FALSE(after.stop_requested);
  EXPECT_EQ(after.ended_at, before.ended_at);
}

TEST(JobTest, SecondExitIsIgnored) {
  auto job = NewJob();
  job->OnEnd(JobEnd::Of(ExitInfo::Exited(1), kEnd));
  const uint64_t version = job->version();
  job->OnEnd(JobEnd::Of(ExitInfo::Signaled(9), kEnd + absl::Seconds(1)));
  JobStatus s = job->Status();
  EXPECT_EQ(s.state, JobState::kExited);
  EXPECT_EQ(s.exit_code, 1);
  EXPECT_EQ(s.signal, 0);
  EXPECT_EQ(s.ended_at, kEnd);
  EXPECT_EQ(job->version(), version);
}

TEST(JobTest, StopRequestAfterEndDoesNotTurnExitedIntoStopped) {
  auto job = NewJob();
  job->OnEnd(JobEnd::Of(ExitInfo::Signaled(9), kEnd));
  job->RequestStop();
  job->OnEnd(JobEnd::Of(ExitInfo::Signaled(15), kEnd));
  EXPECT_EQ(job->Status().state, JobState::kSignaled);
  EXPECT_EQ(job->Status().signal, 9);
}

TEST(JobTest, WhenEndedOnEndedJobRunsAtOnceWithTheFinalStatus) {
  auto job = NewJob();
  job->OnEnd(JobEnd::Of(ExitInfo::Exited(7), kEnd));
  int calls = 0;
  JobStatus got;
  job->WhenEnded([&](const JobStatus& s) {
    ++calls;
    got = s;
  });
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(got.state, JobState::kExited);
  EXPECT_EQ(got.exit_code, 7);
}

TEST(JobTest, WhenEndedOnRunningJobWaitsForTheEndAndRunsOnce) {
  auto job = NewJob();
  std::vector<JobStatus> got;
  job->WhenEnded([&](const JobStatus& s) { got.push_back(s); });
  job->WhenEnded([&](const JobStatus& s) { got.push_back(s); });
  EXPECT_TRUE(got.empty());
  job->OnOutput();
  EXPECT_TRUE(got.empty());
  job->OnEnd(JobEnd::Of(ExitInfo::Signaled(6), kEnd));
  ASSERT_EQ(got.size(), 2u);
  for (const JobStatus& s : got) {
    EXPECT_EQ(s.state, JobState::kSignaled);
    EXPECT_EQ(s.signal, 6);
    EXPECT_EQ(s.ended_at, kEnd);
  }
  job->OnEnd(JobEnd::Of(ExitInfo::Exited(0), kEnd));
  EXPECT_EQ(got.size(), 2u);
}

TEST(JobTest, WhenEndedCallbackMayCallBackIntoTheJob) {
  auto job = NewJob();
  JobStatus inner;
  bool inner_ended = false;
  job->WhenEnded([&](const JobStatus&) {
    inner = job->Status();  // would deadlock if called with mu_ held
    inner_ended = job->ended();
    job->RequestStop();
  });
  job->OnEnd(JobEnd::Of(ExitInfo::Exited(0), kEnd));
  EXPECT_TRUE(inner_ended);
  EXPECT_EQ(inner.state, JobState::kExited);
}

TEST(JobTest, VersionGrowsOnOutputAndOnExit) {
  auto job = NewJob();
  const uint64_t v0 = job->version();
  job->OnOutput();
  EXPECT_EQ(job->version(), v0 + 1);
  job->OnOutput();
  EXPECT_EQ(job->version(), v0 + 2);
  job->OnEnd(JobEnd::Of(ExitInfo::Exited(0), kEnd));
  EXPECT_EQ(job->version(), v0 + 3);
  EXPECT_EQ(job->VersionAndEnded(), std::make_pair(v0 + 3, true));
}

TEST(JobTest, AwaitChangeWithStaleVersionRefusesAndNeverWakes) {
  auto job = NewJob();
  const uint64_t seen = job->version();
  job->OnOutput();
  int wakes = 0;
  Job::WaitId id = 0;
  EXPECT_FALSE(job->AwaitChange(
      seen, [&] { ++wakes; }, &id));
  EXPECT_EQ(job->PendingWaits(), 0u);
  job->OnOutput();
  EXPECT_EQ(wakes, 0);
}

TEST(JobTest, AwaitChangeWakesOnceOnTheNextOutput) {
  auto job = NewJob();
  int wakes = 0;
  Job::WaitId id = 0;
  ASSERT_TRUE(job->AwaitChange(
      job->version(), [&] { ++wakes; }, &id));
  EXPECT_EQ(job->PendingWaits(), 1u);
  EXPECT_EQ(wakes, 0);
  job->OnOutput();
  EXPECT_EQ(wakes, 1);
  EXPECT_EQ(job->PendingWaits(), 0u);
  job->OnOutput();
  job->OnEnd(JobEnd::Of(ExitInfo::Exited(0), kEnd));
  EXPECT_EQ(wakes, 1);
}

TEST(JobTest, AwaitChangeWakesOnExit) {
  auto job = NewJob();
  int wakes = 0;
  Job::WaitId id = 0;
  ASSERT_TRUE(job->AwaitChange(
      job->version(), [&] { ++wakes; }, &id));
  job->OnEnd(JobEnd::Of(ExitInfo::Exited(0), kEnd));
  EXPECT_EQ(wakes, 1);
}

TEST(JobTest, EveryWaiterIsWokenOnce) {
  auto job = NewJob();
  int a = 0, b = 0;
  Job::WaitId ida = 0, idb = 0;
  ASSERT_TRUE(job->AwaitChange(
      job->version(), [&] { ++a; }, &ida));
  ASSERT_TRUE(job->AwaitChange(
      job->version(), [&] { ++b; }, &idb));
  EXPECT_NE(ida, idb);
  job->OnOutput();
  EXPECT_EQ(a, 1);
  EXPECT_EQ(b, 1);
}

TEST(JobTest, CancelledWaitIsNeverWoken) {
  auto job = NewJob();
  int wakes = 0;
  Job::WaitId id = 0;
  ASSERT_TRUE(job->AwaitChange(
      job->version(), [&] { ++wakes; }, &id));
  EXPECT_TRUE(job->CancelAwait(id));
  EXPECT_EQ(job->PendingWaits(), 0u);
  job->OnOutput();
  job->OnEnd(JobEnd::Of(ExitInfo::Exited(0), kEnd));
  EXPECT_EQ(wakes, 0);
}

TEST(JobTest, CancelAfterWakeReportsItWasCalled) {
  auto job = NewJob();
  int wakes = 0;
  Job::WaitId id = 0;
  ASSERT_TRUE(job->AwaitChange(
      job->version(), [&] { ++wakes; }, &id));
  job->OnOutput();
  EXPECT_FALSE(job->CancelAwait(id));
  EXPECT_EQ(wakes, 1);
}

TEST(JobTest, CancellingOneWaitLeavesOthers) {
  auto job = NewJob();
  int a = 0, b = 0;
  Job::WaitId ida = 0, idb = 0;
  ASSERT_TRUE(job->AwaitChange(
      job->version(), [&] { ++a; }, &ida));
  ASSERT_TRUE(job->AwaitChange(
      job->version(), [&] { ++b; }, &idb));
  EXPECT_TRUE(job->CancelAwait(ida));
  job->OnOutput();
  EXPECT_EQ(a, 0);
  EXPECT_EQ(b, 1);
}

TEST(JobTest, WakeMayRegisterAgainFromInsideTheCallback) {
  auto job = NewJob();
  int wakes = 0;
  Job::WaitId id = 0;
  std::function<void()> wake;
  wake = [&] {
    ++wakes;
    Job::WaitId again = 0;
    // Runs without mu_ held, so it may call back into the job.
    EXPECT_TRUE(job->AwaitChange(job->version(), wake, &again));
  };
  ASSERT_TRUE(job->AwaitChange(job->version(), wake, &id));
  job->OnOutput();
  EXPECT_EQ(wakes, 1);
  EXPECT_EQ(job->PendingWaits(), 1u);
  job->OnOutput();
  EXPECT_EQ(wakes, 2);
}

}  // namespace
}  // namespace cmdctl

// `run --wait` ties the job to cmdctl as ssh does (SPEC §7): Ctrl-C,
// SIGTERM, SIGHUP or a closed stdout stop the job, and cmdctl then dies by
// that same signal, so a shell loop around it stops. get-output and wait
// only follow: Ctrl-C ends them and the job runs on.
#include <signal.h>
#include <unistd.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "integration_tests/cli/cli_fixture.h"

namespace cmdctl::test {
namespace {

using ::testing::IsEmpty;
using ::testing::SizeIs;

// The one job of alice's with `marker` in its args; its status.
cmdctl::v1::ProcessStatus OnlyJobWith(
    const std::vector<cmdctl::v1::ProcessStatus>& jobs) {
  EXPECT_THAT(jobs, SizeIs(1));
  return jobs.empty() ? cmdctl::v1::ProcessStatus() : jobs[0];
}

TEST_F(CliTest, CtrlCStopsAShellLoopAtTheFirstJob) {
  // for i in 1 2 3; do cmdctl run --wait ...; done, in a process group of
  // its own, as a terminal runs it; Ctrl-C is a SIGINT to the whole group.
  const std::string marker = UniqueMarker("loop");
  const std::string log = dir_->path() + "/" + marker + ".log";
  const std::string loop =
      absl::StrCat("for i in 1 2 3; do ", CMDCTL_BIN,
                   " run --wait sh -c 'echo started-$0; exec sleep 30' ",
                   marker, "-$i; done; echo loop-finished");
  BackgroundProcess shell(InAliceEnv({"/bin/bash", "-c", loop}), log,
                          /*own_process_group=*/true);
  ASSERT_TRUE(WaitForLine(log, absl::StrCat("started-", marker, "-1"), shell)
                  .has_value());
  ASSERT_EQ(kill(-shell.pid(), SIGINT), 0);
  // bash ends by SIGINT too: its child died by it (not exit 130).
  EXPECT_EQ(shell.Wait(absl::Seconds(60)), 128 + SIGINT);
  EXPECT_EQ(WaitForLine(log, "loop-finished", shell), std::nullopt);
  EXPECT_EQ(WaitForLine(log, absl::StrCat("started-", marker, "-2"), shell),
            std::nullopt);
  // The first job was stopped (SIGTERM from the stop); no second one ran.
  cmdctl::v1::ProcessStatus first = OnlyJobWith(JobsWithArg(marker + "-1"));
  EXPECT_EQ(first.state(), cmdctl::v1::JOB_STATE_STOPPED);
  EXPECT_EQ(first.signal(), SIGTERM);
  EXPECT_THAT(JobsWithArg(marker + "-2"), IsEmpty());
}

TEST_F(CliTest, ClosedPipeStopsTheJobAndEndsBySigpipe) {
  // set -o pipefail; cmdctl run --wait sh -c 'yes' | head -1
  const std::string marker = UniqueMarker("yes");
  ProcessResult r = RunProcess(
      {"/bin/bash", "-c",
       absl::StrCat("set -o pipefail; ", CMDCTL_BIN, " run --wait yes ", marker,
                    " | head -n 1; echo \"status $?\"")},
      AliceEnv());
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(r.out, absl::StrCat(marker, "\nstatus ", 128 + SIGPIPE, "\n"));
  EXPECT_THAT(r.err, IsEmpty());
  // cmdctl ended only once the job had: it is stopped, not writing forever.
  cmdctl::v1::ProcessStatus job = OnlyJobWith(JobsWithArg(marker));
  EXPECT_EQ(job.state(), cmdctl::v1::JOB_STATE_STOPPED);
  EXPECT_EQ(job.signal(), SIGTERM);
}

TEST_F(CliTest, SigtermAndSighupStopTheJobAndEndCmdctlByTheSameSignal) {
  for (int signal : {SIGTERM, SIGHUP}) {
    const std::string marker = UniqueMarker("sig");
    const std::string log = dir_->path() + "/" + marker + ".log";
    // The job has last words on SIGTERM: they still reach the client.
    std::unique_ptr<BackgroundProcess> waiter =
        CliInBackground({"run", "--wait", "sh", "-c",
                         "trap 'echo bye; exit 3' TERM; echo started; "
                         "while :; do sleep 0.1; done",
                         marker},
                        log);
    ASSERT_TRUE(WaitForLine(log, "started", *waiter).has_value());
    ASSERT_EQ(kill(waiter->pid(), signal), 0);
    EXPECT_EQ(waiter->Wait(absl::Seconds(60)), 128 + signal) << signal;
    EXPECT_EQ(WaitForLine(log, "bye", *waiter), std::optional<std::string>(""))
        << signal;
    cmdctl::v1::ProcessStatus job = OnlyJobWith(JobsWithArg(marker));
    EXPECT_EQ(job.state(), cmdctl::v1::JOB_STATE_STOPPED) << signal;
    EXPECT_EQ(job.exit_code(), 3) << signal;
  }
}

TEST_F(CliTest, IgnoredSighupTiesNothingUnderNohup) {
  const std::string marker = UniqueMarker("nohup");
  const std::string log = dir_->path() + "/" + marker + ".log";
  BackgroundProcess waiter(
      InAliceEnv({"/usr/bin/nohup", CMDCTL_BIN, "run", "--wait", "sh", "-c",
                  "echo started; exec sleep 30", marker}),
      log);
  ASSERT_TRUE(WaitForLine(log, "started", waiter).has_value());
  ASSERT_EQ(kill(waiter.pid(), SIGHUP), 0);
  // nohup asked for SIGHUP to be ignored: cmdctl and the job run on.
  EXPECT_EQ(waiter.Wait(absl::Seconds(2)), -1);
  EXPECT_EQ(OnlyJobWith(JobsWithArg(marker)).state(),
            cmdctl::v1::JOB_STATE_RUNNING);
  // Ctrl-C still counts.
  ASSERT_EQ(kill(waiter.pid(), SIGINT), 0);
  EXPECT_EQ(waiter.Wait(absl::Seconds(60)), 128 + SIGINT);
  EXPECT_EQ(OnlyJobWith(JobsWithArg(marker)).state(),
            cmdctl::v1::JOB_STATE_STOPPED);
}

TEST_F(CliTest, CtrlCOnlyDetachesGetOutputAndWait) {
  const std::string id = Start({"sh", "-c", "echo started; exec sleep 1000"});
  for (const char* command : {"get-output", "wait"}) {
    const std::string log =
        absl::StrCat(dir_->path(), "/detach-", command, ".log");
    std::unique_ptr<BackgroundProcess> follower =
        CliInBackground({command, id}, log);
    if (std::string(command) == "get-output") {
      ASSERT_TRUE(WaitForLine(log, "started", *follower).has_value());
    } else {
      // wait prints nothing: give it time to be waiting.
      ASSERT_EQ(follower->Wait(absl::Seconds(1)), -1);
    }
    ASSERT_EQ(kill(follower->pid(), SIGINT), 0);
    EXPECT_EQ(follower->Wait(absl::Seconds(60)), 128 + SIGINT) << command;
    EXPECT_EQ(StatusJson(id).state(), cmdctl::v1::JOB_STATE_RUNNING) << command;
  }
  EXPECT_EQ(Cli({"stop", "--grace=0s", id}).exit_code, 0);
}

}  // namespace
}  // namespace cmdctl::test

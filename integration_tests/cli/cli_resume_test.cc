// run --wait, wait and get-output survive a restart of cmdctld (SPEC §7, §9):
// the server is killed (SIGKILL, as a crash) while they follow a job and
// started again on the same port and state directory; they reconnect and
// resume at their offsets, with no byte lost or repeated.
#include <signal.h>
#include <unistd.h>

#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "integration_tests/cli/cli_fixture.h"

namespace cmdctl::test {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

// A job that writes `lines` numbered lines to stdout ("line 0" ...), and
// every 100th number to stderr too, a few milliseconds apart, then exits
// with `code`: it runs for several seconds.
std::vector<std::string> NumberedLinesJob(int lines, int code) {
  return {"sh", "-c",
          absl::StrCat("i=0; while [ $i -lt ", lines,
                       " ]; do echo \"line $i\"; "
                       "[ $((i % 100)) = 0 ] && echo \"err $i\" >&2; "
                       "i=$((i+1)); [ $((i % 20)) = 0 ] && sleep 0.1; done; "
                       "exit ",
                       code)};
}

std::string ExpectedStdout(int lines) {
  std::string out;
  for (int i = 0; i < lines; ++i) absl::StrAppend(&out, "line ", i, "\n");
  return out;
}

std::string ExpectedStderr(int lines) {
  std::string err;
  for (int i = 0; i < lines; i += 100) absl::StrAppend(&err, "err ", i, "\n");
  return err;
}

// Runs cmdctl `args` against `address` on a thread of its own.
class CliRun {
 public:
  CliRun(std::vector<std::string> args, std::vector<std::string> env)
      : thread_([this, args = std::move(args), env = std::move(env)] {
          std::vector<std::string> argv{CMDCTL_BIN};
          argv.insert(argv.end(), args.begin(), args.end());
          result_ = RunProcess(argv, env, absl::Seconds(120));
        }) {}
  ~CliRun() {
    if (thread_.joinable()) thread_.join();
  }
  ProcessResult Result() {
    thread_.join();
    return result_;
  }

 private:
  ProcessResult result_;
  std::thread thread_;
};

class CliResumeTest : public CliTest {
 protected:
  void SetUp() override {
    server_ = StartServer(UniqueMarker("restart"));
    ASSERT_FALSE(server_.address.empty());
  }
  std::vector<std::string> Env() { return AliceEnv(server_.address); }
  // Lines of stdout the job has written so far (read from the server).
  int LinesSoFar(const std::string& id) {
    ProcessResult r = Cli({"get-output", "--follow=false", id}, Env());
    return static_cast<int>(std::count(r.out.begin(), r.out.end(), '\n'));
  }
  // Waits until the job has written at least `lines` lines.
  void AwaitLines(const std::string& id, int lines) {
    for (int i = 0; i < 1200 && LinesSoFar(id) < lines; ++i) {
      absl::SleepFor(absl::Milliseconds(25));
    }
    ASSERT_GE(LinesSoFar(id), lines);
  }

  ExtraServer server_;
};

TEST_F(CliResumeTest, GetOutputFollowsAcrossRestartsWithEveryByteOnce) {
  constexpr int kLines = 1500;
  const std::string id = Start(NumberedLinesJob(kLines, 0), server_.address);
  AwaitLines(id, 50);
  CliRun follower({"get-output", id}, Env());
  CliRun tail({"get-output", "--tail=10", id}, Env());
  // Two crashes while they follow, the second soon after the first.
  AwaitLines(id, 300);
  KillAndRestart(server_);
  AwaitLines(id, 600);
  KillServer(server_);
  absl::SleepFor(absl::Seconds(2));  // the job writes on meanwhile
  RestartServer(server_);
  ProcessResult out = follower.Result();
  EXPECT_EQ(out.exit_code, 0) << Describe(out);
  EXPECT_EQ(out.out.size(), ExpectedStdout(kLines).size());
  EXPECT_TRUE(out.out == ExpectedStdout(kLines))
      << "stdout differs from what the job wrote";
  EXPECT_EQ(out.err, ExpectedStderr(kLines));
  // --tail: from where the tail began, every later byte once.
  ProcessResult tailed = tail.Result();
  EXPECT_EQ(tailed.exit_code, 0) << Describe(tailed);
  const std::string all = ExpectedStdout(kLines);
  ASSERT_GE(tailed.out.size(), 10u);
  const size_t start = all.size() - tailed.out.size();
  EXPECT_TRUE(all.compare(start, std::string::npos, tailed.out) == 0 &&
              (start == 0 || all[start - 1] == '\n'))
      << "the tail is not the end of what the job wrote";
  // What the restarted server serves is the same, byte for byte.
  ProcessResult stored = Cli({"get-output", "--follow=false", id}, Env());
  EXPECT_TRUE(stored.out == out.out);
}

TEST_F(CliResumeTest, RunWaitAndWaitExitWithTheJobsCodeAcrossARestart) {
  constexpr int kLines = 1000;
  const std::string marker = UniqueMarker("resume-run");
  CliRun run({"run", "--wait", NumberedLinesJob(kLines, 7)[0],
              NumberedLinesJob(kLines, 7)[1], NumberedLinesJob(kLines, 7)[2],
              marker},
             Env());
  std::string id;
  for (int i = 0; i < 1200 && id.empty(); ++i) {
    for (const auto& job : AliceJobs(server_.address)) {
      if (job.args_size() == 3 && job.args(2) == marker) id = job.job_id();
    }
    if (id.empty()) absl::SleepFor(absl::Milliseconds(25));
  }
  ASSERT_FALSE(id.empty());
  CliRun wait({"wait", id}, Env());
  AwaitLines(id, 200);
  KillAndRestart(server_);
  ProcessResult waited = run.Result();
  EXPECT_EQ(waited.exit_code, 7) << Describe(waited);
  EXPECT_TRUE(waited.out == ExpectedStdout(kLines));
  EXPECT_EQ(waited.err, ExpectedStderr(kLines));
  ProcessResult waited_too = wait.Result();
  EXPECT_EQ(waited_too.exit_code, 7) << Describe(waited_too);
  EXPECT_THAT(waited_too.out, IsEmpty());
  EXPECT_THAT(waited_too.err, IsEmpty());
}

TEST_F(CliResumeTest, RunWaitsTieStopsTheJobAfterAReconnect) {
  const std::string log = dir_->path() + "/" + UniqueMarker("tie") + ".log";
  std::unique_ptr<BackgroundProcess> waiter = CliInBackground(
      {"run", "--wait", "sh", "-c",
       "trap 'echo bye; exit 3' TERM; i=0; while :; do echo tick $i; "
       "i=$((i+1)); sleep 0.1; done"},
      log, server_.address);
  ASSERT_TRUE(WaitForLine(log, "tick 0", *waiter).has_value());
  const std::string id = AliceJobs(server_.address)[0].job_id();
  KillAndRestart(server_);
  // Output after the restart: cmdctl follows the job again.
  const int now = LinesSoFar(id);
  ASSERT_TRUE(
      WaitForLine(log, absl::StrCat("tick ", now + 5), *waiter).has_value());
  ASSERT_EQ(kill(waiter->pid(), SIGTERM), 0);
  EXPECT_EQ(waiter->Wait(absl::Seconds(60)), 128 + SIGTERM);
  EXPECT_EQ(WaitForLine(log, "bye", *waiter), std::optional<std::string>(""));
  cmdctl::v1::ProcessStatus job = StatusJson(id, server_.address);
  EXPECT_EQ(job.state(), cmdctl::v1::JOB_STATE_STOPPED);
  EXPECT_EQ(job.exit_code(), 3);
}

TEST_F(CliResumeTest, ACtrlCWhileTheServerIsDownStopsTheJobOnceItIsBack) {
  const std::string log = dir_->path() + "/" + UniqueMarker("tie-down") + ".log";
  std::unique_ptr<BackgroundProcess> waiter = CliInBackground(
      {"run", "--wait", "sh", "-c",
       "trap 'echo bye; exit 3' TERM; echo started; "
       "while :; do sleep 0.1; done"},
      log, server_.address);
  ASSERT_TRUE(WaitForLine(log, "started", *waiter).has_value());
  const std::string id = AliceJobs(server_.address)[0].job_id();
  KillServer(server_);
  ASSERT_EQ(kill(waiter->pid(), SIGINT), 0);
  // Nothing to stop it with yet: cmdctl waits for the server.
  EXPECT_EQ(waiter->Wait(absl::Seconds(2)), -1);
  RestartServer(server_);
  EXPECT_EQ(waiter->Wait(absl::Seconds(60)), 128 + SIGINT);
  EXPECT_EQ(WaitForLine(log, "bye", *waiter), std::optional<std::string>(""));
  cmdctl::v1::ProcessStatus job = StatusJson(id, server_.address);
  EXPECT_EQ(job.state(), cmdctl::v1::JOB_STATE_STOPPED);
  EXPECT_EQ(job.exit_code(), 3);
}

}  // namespace
}  // namespace cmdctl::test

// The commands about a job that exists: get-output, get-status, stop, list.
#include <signal.h>
#include <unistd.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/json_util.h"
#include "integration_tests/cli/cli_fixture.h"

namespace cmdctl::test {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;

// --- get-output ---

TEST_F(CliTest, GetOutputFollowsARunningJobUntilItEnds) {
  const std::string marker = user_->home + "/cli-follow-go";
  unlink(marker.c_str());
  const std::string id =
      Start({"sh", "-c",
             "echo first; while [ ! -e " + marker +
                 " ]; do sleep 0.05; done; echo second >&2; echo third"});
  const std::string log = dir_->path() + "/follow.log";
  std::unique_ptr<BackgroundProcess> follower =
      CliInBackground({"get-output", id}, log);
  // It prints what there is while the job is still running...
  EXPECT_EQ(WaitForLine(log, "first", *follower),
            std::optional<std::string>(""));
  EXPECT_TRUE(follower->Running());
  // ...and ends once the job has, with everything.
  const std::string touch = "/usr/bin/touch";
  ASSERT_TRUE(RunCommand({touch, marker}).ok());
  EXPECT_EQ(follower->Wait(absl::Seconds(60)), 0);
  unlink(marker.c_str());
  ProcessResult all = Cli({"get-output", id});
  EXPECT_EQ(all.out, "first\nthird\n");
  EXPECT_EQ(all.err, "second\n");
}

TEST_F(CliTest, GetOutputFollowFalseReturnsWhileTheJobRuns) {
  const std::string id = Start({"sh", "-c", "echo ready; exec sleep 1000"});
  ProcessResult r;
  for (int i = 0; i < 600 && r.out != "ready\n"; ++i) {
    r = Cli({"get-output", "--follow=false", id});
    ASSERT_EQ(r.exit_code, 0) << Describe(r);
  }
  EXPECT_EQ(r.out, "ready\n");
  EXPECT_EQ(StatusJson(id).state(), cmdctl::v1::JOB_STATE_RUNNING);
  EXPECT_EQ(Cli({"stop", "--grace=0s", id}).exit_code, 0);
}

TEST_F(CliTest, GetOutputRoutesStreamsOfAnEndedJob) {
  const std::string id =
      Start({"sh", "-c", "printf 'a\\n'; printf 'b' >&2; printf 'c'"});
  AwaitEnd(id);
  ProcessResult r = Cli({"get-output", "--follow=false", id});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(r.out, "a\nc");
  EXPECT_EQ(r.err, "b");
}

TEST_F(CliTest, UnknownJobIsOneLineNotFoundNamingIt) {
  const std::string id = "0b9d2c4e-1f3a-4c5d-8e6f-7a8b9c0d1e2f";
  for (const char* command : {"get-output", "get-status", "stop"}) {
    ProcessResult r = Cli({command, id});
    EXPECT_EQ(r.exit_code, 1) << command << Describe(r);
    EXPECT_THAT(r.err, AllOf(HasSubstr("job " + id + " not found"), OneLine()))
        << command;
  }
}

TEST_F(CliTest, AnotherIdentitysJobIsNotFound) {
  const std::string id = Start({"true"});
  ProcessResult r = Cli({"get-status", id}, BobEnv());
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("not found"));
  ProcessResult list = Cli({"list"}, BobEnv());
  EXPECT_THAT(list.out, Not(HasSubstr(id)));
}

// --- get-status ---

TEST_F(CliTest, GetStatusTextSaysStateCodeTimes) {
  const std::string id = Start({"sh", "-c", "exit 3"});
  AwaitEnd(id);
  ProcessResult r = Cli({"get-status", id});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_THAT(r.out,
              AllOf(HasSubstr("Job:      " + id + "\n"),
                    HasSubstr("Command:  sh -c 'exit 3'\n"),
                    HasSubstr("State:    exited with code 3\n"),
                    HasSubstr(absl::StrCat("Run as:   ", kJobUser)),
                    HasSubstr("Owner:    alice\n"), HasSubstr("Started:  "),
                    HasSubstr("Ended:    "), HasSubstr("Duration: ")));
}

TEST_F(CliTest, GetStatusTextNamesTheSignal) {
  const std::string id = Start({"sh", "-c", "kill -KILL $$"});
  AwaitEnd(id);
  EXPECT_THAT(Cli({"get-status", id}).out,
              HasSubstr("State:    killed by signal SIGKILL (9)\n"));
}

TEST_F(CliTest, GetStatusJsonIsProto3JsonOfTheStatus) {
  const std::string id = Start({"sh", "-c", "exit 3"});
  AwaitEnd(id);
  ProcessResult r = Cli({"get-status", "--output=json", id});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_THAT(r.out, AllOf(HasSubstr("\"jobId\""), HasSubstr("\"exitCode\": 3"),
                           HasSubstr("\"JOB_STATE_EXITED\"")));
  cmdctl::v1::ProcessStatus status;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(r.out, &status).ok())
      << r.out;
  EXPECT_EQ(status.job_id(), id);
  EXPECT_EQ(status.owner(), "alice");
  EXPECT_EQ(status.run_as(), kJobUser);
  EXPECT_EQ(status.command(), "sh");
  EXPECT_THAT(status.args(), ElementsAre("-c", "exit 3"));
  EXPECT_EQ(status.state(), cmdctl::v1::JOB_STATE_EXITED);
  EXPECT_EQ(status.exit_code(), 3);
  EXPECT_GT(status.pid(), 0);
  EXPECT_GT(status.started_at().seconds(), 0);
  EXPECT_GE(status.ended_at().seconds(), status.started_at().seconds());
}

// --- stop ---

TEST_F(CliTest, StopEndsTheJobAndSaysHow) {
  const std::string id = Start({"sleep", "1000"});
  ProcessResult r = Cli({"stop", id, "--grace=1m30s"});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(r.out, "job " + id + ": stopped: terminated by SIGTERM (15)\n");
  cmdctl::v1::ProcessStatus status = StatusJson(id);
  EXPECT_EQ(status.state(), cmdctl::v1::JOB_STATE_STOPPED);
  EXPECT_EQ(status.signal(), 15);
}

TEST_F(CliTest, StopKillsAfterTheGracePeriod) {
  const std::string id = Start(
      {"sh", "-c", "trap '' TERM; echo armed; while :; do sleep 1; done"});
  ProcessResult r;
  for (int i = 0; i < 600 && r.out != "armed\n"; ++i) {
    r = Cli({"get-output", "--follow=false", id});
  }
  ProcessResult stop = Cli({"stop", "--grace=500ms", id});
  EXPECT_EQ(stop.exit_code, 0) << Describe(stop);
  EXPECT_THAT(stop.out, HasSubstr("SIGKILL (9)"));
}

TEST_F(CliTest, StopWithoutGraceWaitsForTheServersLongStopGrace) {
  // The server's default grace is longer than any fixed call deadline
  // cmdctl used to set (5 s + 30 s): without --grace, cmdctl cannot know
  // it, so it waits for the server's answer (docs/CLI.md).
  ExtraServer server = StartServer("long-grace", {"--stop_grace=40s"});
  ASSERT_FALSE(server.address.empty());
  const std::vector<std::string> env = AliceEnv(server.address);
  ProcessResult run =
      Cli({"run", "sh", "-c",
           "trap '' TERM; echo armed; while :; do sleep 1; done"},
          env);
  ASSERT_EQ(run.exit_code, 0) << Describe(run);
  const std::string id = run.out.substr(0, run.out.size() - 1);
  ProcessResult armed;
  for (int i = 0; i < 600 && armed.out != "armed\n"; ++i) {
    armed = Cli({"get-output", "--follow=false", id}, env);
  }
  ASSERT_EQ(armed.out, "armed\n");
  const absl::Time before = absl::Now();
  ProcessResult stop = Cli({"stop", id}, env);
  EXPECT_EQ(stop.exit_code, 0) << Describe(stop);
  EXPECT_EQ(stop.out, "job " + id + ": stopped: terminated by SIGKILL (9)\n");
  // It was the server's grace that ended it, not a shorter one.
  EXPECT_GE(absl::Now() - before, absl::Seconds(39));
}

TEST_F(CliTest, StopOfAnEndedJobPrintsHowItEnded) {
  const std::string id = Start({"sh", "-c", "exit 4"});
  AwaitEnd(id);
  ProcessResult r = Cli({"stop", id});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(r.out, "job " + id + ": exited with code 4\n");
}

// --- list ---

TEST_F(CliTest, ListShowsTheCallersJobsInAlignedColumns) {
  const std::string a = Start({"sh", "-c", "exit 2"});
  AwaitEnd(a);
  const std::string b = Start({"sleep", "1000"});
  ProcessResult r = Cli({"list"});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  std::vector<std::string> lines =
      absl::StrSplit(r.out, '\n', absl::SkipEmpty());
  ASSERT_GE(lines.size(), 3u) << r.out;
  const std::string& header = lines[0];
  EXPECT_THAT(header, MatchesRegex("ID +STATE +EXIT/SIGNAL +STARTED +COMMAND"));
  const size_t state_col = header.find("STATE");
  const size_t exit_col = header.find("EXIT/SIGNAL");
  const size_t command_col = header.find("COMMAND");
  bool saw_a = false, saw_b = false;
  for (size_t i = 1; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    ASSERT_GT(line.size(), command_col) << line;
    if (line.rfind(a, 0) == 0) {
      saw_a = true;
      EXPECT_EQ(line.substr(state_col, 7), "exited ") << line;
      EXPECT_EQ(line.substr(exit_col, 2), "2 ") << line;
      EXPECT_EQ(line.substr(command_col), "sh -c 'exit 2'") << line;
    }
    if (line.rfind(b, 0) == 0) {
      saw_b = true;
      EXPECT_EQ(line.substr(state_col, 8), "running ") << line;
      EXPECT_EQ(line.substr(exit_col, 2), "- ") << line;
      EXPECT_EQ(line.substr(command_col), "sleep 1000") << line;
    }
  }
  EXPECT_TRUE(saw_a && saw_b) << r.out;
  Cli({"stop", "--grace=0s", b});
}

TEST_F(CliTest, ListJsonParses) {
  const std::string id = Start({"true"});
  ProcessResult r = Cli({"list", "--output=json"});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  cmdctl::v1::ListProcessesResponse list;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(r.out, &list).ok())
      << r.out;
  bool found = false;
  for (const auto& p : list.processes()) found = found || p.job_id() == id;
  EXPECT_TRUE(found) << r.out;
}

}  // namespace
}  // namespace cmdctl::test

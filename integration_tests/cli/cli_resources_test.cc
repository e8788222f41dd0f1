// `cmdctl run`'s limits and timeout, and what get-status shows of a job's
// resources and output (SPEC §5a, §6, §7).
#include <signal.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"
#include "integration_tests/cli/cli_fixture.h"

namespace cmdctl::test {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::MatchesRegex;
using ::testing::StartsWith;

TEST_F(CliTest, MalformedFlagValuesAreUsageErrorsNamingTheFlagBeforeAnyCall) {
  // No server there: a call would fail with exit 1.
  const std::string nowhere = absl::StrCat("--server=127.0.0.1:", UnusedPort());
  const std::vector<std::vector<std::string>> cases = {
      {"run", "--memory=lots", "true"},
      {"run", "--memory=0", "true"},
      {"run", "--cpus=1.2345", "true"},
      {"run", "--cpus=-1", "true"},
      {"run", "--pids-limit=many", "true"},
      {"run", "--pids-limit=1.5", "true"},
      {"run", "--io-read-bps=20M/s", "true"},
      {"run", "--io-write-bps=fast", "true"},
      {"run", "--timeout=30", "true"},
      {"run", "--wait", "--timeout=-1s", "true"},
      {"get-output", "--tail=ten", "3f2a"},
      {"get-output", "--tail=-1", "3f2a"},
      {"list", "--state=ended"},
      {"ps", "--state="},
  };
  for (const std::vector<std::string>& args : cases) {
    std::vector<std::string> argv{nowhere};
    argv.insert(argv.end(), args.begin(), args.end());
    ProcessResult r = Cli(argv);
    const std::string& shown = args[1] == "--wait" ? args[2] : args[1];
    EXPECT_EQ(r.exit_code, 2) << shown << Describe(r);
    EXPECT_THAT(r.err, AllOf(StartsWith("cmdctl: "),
                             HasSubstr(shown.substr(0, shown.find('=')))))
        << shown;
    EXPECT_THAT(r.err, ::testing::Not(HasSubstr("cannot reach"))) << shown;
    EXPECT_THAT(r.out, IsEmpty()) << shown;
  }
}

// On a host whose cgroups cannot enforce a limit (as the machines these
// tests run on: no cgroup v2 controllers), the job is refused, naming the
// controller, and nothing is started. Where the host can, the status shows
// the limit as applied.
TEST_F(CliTest, EachLimitIsAppliedOrRefusedNamingItsController) {
  struct Case {
    std::string flag;
    std::string controller;
    std::string shown;  // in get-status's Limits line
  };
  const std::vector<Case> cases = {
      {"--memory=512M", "memory", "memory 512M"},
      {"--cpus=1.5", "cpu", "cpus 1.5"},
      {"--pids-limit=256", "pids", "pids 256"},
      {"--io-read-bps=20M", "io", "io read 20M/s"},
      {"--io-write-bps=10M", "io", "io write 10M/s"},
  };
  for (const Case& c : cases) {
    const std::string marker = UniqueMarker("limit");
    ProcessResult r = Cli({"run", c.flag, "echo", marker});
    if (r.exit_code == 0) {
      const std::string id = r.out.substr(0, r.out.size() - 1);
      AwaitEnd(id);
      EXPECT_THAT(Cli({"get-status", id}).out, HasSubstr(c.shown)) << c.flag;
      continue;
    }
    EXPECT_EQ(r.exit_code, 1) << c.flag << Describe(r);
    EXPECT_THAT(r.err, AllOf(StartsWith("cmdctl: "), OneLine(),
                             HasSubstr("the " + c.controller + " controller"),
                             HasSubstr("FAILED_PRECONDITION")))
        << c.flag;
    EXPECT_THAT(JobsWithArg(marker), IsEmpty()) << c.flag;
    // With --wait it is cmdctl's failure, not a job's status.
    EXPECT_EQ(Cli({"run", "--wait", c.flag, "true"}).exit_code, 255) << c.flag;
  }
}

TEST_F(CliTest, TimeoutStopsTheJobAndGetStatusSaysItTimedOut) {
  const std::string id = Start({"--timeout=1s", "sleep", "30"});
  const absl::Time before = absl::Now();
  // sleep ends by the SIGTERM of the stop: 128+15, as run --wait says.
  EXPECT_EQ(Cli({"wait", id}).exit_code, 128 + SIGTERM);
  EXPECT_LT(absl::Now() - before, absl::Seconds(20));
  cmdctl::v1::ProcessStatus status = StatusJson(id);
  EXPECT_EQ(status.state(), cmdctl::v1::JOB_STATE_STOPPED);
  EXPECT_TRUE(status.timed_out());
  EXPECT_EQ(status.timeout().seconds(), 1);
  ProcessResult text = Cli({"get-status", id});
  EXPECT_THAT(text.out,
              AllOf(HasSubstr("State:    stopped: terminated by SIGTERM (15)\n"
                              "          timed out (its timeout of 1s ran "
                              "out)\n"),
                    HasSubstr("Timeout:  1s\n")));
  ProcessResult json = Cli({"get-status", "--output=json", id});
  EXPECT_THAT(json.out, AllOf(HasSubstr("\"timedOut\": true"),
                              HasSubstr("\"timeout\": \"1s\"")));
  // run --wait with a timeout: the job's status once it has run out.
  ProcessResult waited =
      Cli({"run", "--wait", "--timeout=500ms", "sh", "-c", "echo up; sleep 30"});
  EXPECT_EQ(waited.exit_code, 128 + SIGTERM) << Describe(waited);
  EXPECT_EQ(waited.out, "up\n");
}

TEST_F(CliTest, AJobWithoutTimeoutShowsNone) {
  const std::string id = Start({"true"});
  AwaitEnd(id);
  ProcessResult text = Cli({"get-status", id});
  EXPECT_THAT(text.out, ::testing::Not(HasSubstr("Timeout:")));
  EXPECT_THAT(text.out, ::testing::Not(HasSubstr("timed out")));
  EXPECT_FALSE(StatusJson(id).timed_out());
}

TEST_F(CliTest, GetStatusShowsUsageAndOutputSizes) {
  const std::string id =
      Start({"sh", "-c", "printf hello; printf abc >&2; exit 0"});
  AwaitEnd(id);
  ProcessResult text = Cli({"get-status", id});
  EXPECT_EQ(text.exit_code, 0) << Describe(text);
  EXPECT_THAT(text.out,
              AllOf(HasSubstr("Output:   stdout 5 bytes, stderr 3 bytes\n"),
                    HasSubstr("Usage:    CPU ")));
  EXPECT_THAT(text.out, MatchesRegex("(.|\n)*Usage:    CPU [0-9.mus]+ user, "
                                     "[0-9.mus]+ system; memory peak [^;]+; "
                                     "IO read [^,]+, written [^\n]+\n(.|\n)*"));
  cmdctl::v1::ProcessStatus status = StatusJson(id);
  EXPECT_EQ(status.stdout_bytes(), 5);
  EXPECT_EQ(status.stderr_bytes(), 3);
  EXPECT_EQ(status.stdout_discarded_bytes(), 0);
  EXPECT_FALSE(status.output_incomplete());
  EXPECT_TRUE(status.has_usage());
  // Every byte of the JSON is the status message (proto3 mapping).
  ProcessResult json = Cli({"get-status", "--output=json", id});
  cmdctl::v1::ProcessStatus parsed;
  ASSERT_TRUE(
      google::protobuf::util::JsonStringToMessage(json.out, &parsed).ok());
  EXPECT_THAT(json.out, AllOf(HasSubstr("\"stdoutBytes\": \"5\""),
                              HasSubstr("\"stderrDiscardedBytes\": \"0\""),
                              HasSubstr("\"outputIncomplete\": false"),
                              HasSubstr("\"oomKilled\": false"),
                              HasSubstr("\"usage\": {"),
                              HasSubstr("\"limits\": {")));
}

TEST_F(CliTest, GetStatusSaysWhatTheOutputCapDropped) {
  ExtraServer server = StartServer("cap", {"--max_output_bytes=64K"});
  ASSERT_FALSE(server.address.empty());
  // 1 MiB of stdout; the server keeps about the last 64K of it.
  const std::string id =
      Start({"sh", "-c", "head -c 1048576 /dev/zero | tr '\\0' x"},
            server.address);
  ProcessResult out = Cli({"get-output", id}, AliceEnv(server.address));
  EXPECT_EQ(out.exit_code, 0) << out.err;
  // From the first stored byte, with nothing said: the cap is documented.
  EXPECT_THAT(out.err, IsEmpty());
  cmdctl::v1::ProcessStatus status = StatusJson(id, server.address);
  EXPECT_EQ(status.stdout_bytes(), 1048576);
  EXPECT_GT(status.stdout_discarded_bytes(), 0);
  EXPECT_EQ(static_cast<int64_t>(out.out.size()),
            status.stdout_bytes() - status.stdout_discarded_bytes());
  ProcessResult text = Cli({"get-status", id}, AliceEnv(server.address));
  EXPECT_THAT(text.out,
              AllOf(HasSubstr("Output:   stdout 1048576 bytes (1M), stderr 0 "
                              "bytes\n"),
                    HasSubstr(absl::StrCat(
                        "          the output cap dropped the first ",
                        status.stdout_discarded_bytes(), " bytes"))));
}

}  // namespace
}  // namespace cmdctl::test

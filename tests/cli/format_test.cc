#include "cli/format.h"

#include <signal.h>

#include <string>

#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

namespace cmdctl::cli {
namespace {

using ::cmdctl::v1::ProcessStatus;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

google::protobuf::Timestamp At(int64_t seconds, int32_t nanos = 0) {
  google::protobuf::Timestamp ts;
  ts.set_seconds(seconds);
  ts.set_nanos(nanos);
  return ts;
}

// 2026-11-27 14:00:00 UTC
constexpr int64_t kStart = 1795788000;

ProcessStatus Exited(int code) {
  ProcessStatus s;
  s.set_job_id("11111111-2222-4333-8444-555555555555");
  s.set_owner("alice");
  s.set_run_as("alice");
  s.set_command("sh");
  s.add_args("-c");
  s.add_args("exit 3");
  s.set_state(cmdctl::v1::JOB_STATE_EXITED);
  s.set_pid(4242);
  s.set_exit_code(code);
  *s.mutable_started_at() = At(kStart, 250000000);
  *s.mutable_ended_at() = At(kStart + 90, 750000000);
  return s;
}

TEST(DescribeStateTest, EveryState) {
  ProcessStatus s = Exited(3);
  EXPECT_EQ(DescribeState(s), "exited with code 3");
  s.set_state(cmdctl::v1::JOB_STATE_SIGNALED);
  s.set_signal(SIGKILL);
  EXPECT_EQ(DescribeState(s), "killed by signal SIGKILL (9)");
  s.set_state(cmdctl::v1::JOB_STATE_STOPPED);
  s.set_signal(SIGTERM);
  EXPECT_EQ(DescribeState(s), "stopped: terminated by SIGTERM (15)");
  s.set_signal(0);
  s.set_exit_code(0);
  EXPECT_EQ(DescribeState(s), "stopped: exited with code 0");
  s.set_state(cmdctl::v1::JOB_STATE_RUNNING);
  EXPECT_EQ(DescribeState(s), "running");
  s.set_stop_requested(true);
  EXPECT_EQ(DescribeState(s), "running (stop requested)");
  s.set_state(cmdctl::v1::JOB_STATE_LOST);
  EXPECT_EQ(DescribeState(s), "lost: the server cannot know how it ended");
  EXPECT_EQ(StateWord(s.state()), "lost");
}

TEST(WaitExitCodeTest, LikeSsh) {
  ProcessStatus s = Exited(3);
  EXPECT_EQ(WaitExitCode(s), 3);
  s.set_state(cmdctl::v1::JOB_STATE_SIGNALED);
  s.set_signal(SIGKILL);
  EXPECT_EQ(WaitExitCode(s), 128 + 9);
  s.set_state(cmdctl::v1::JOB_STATE_STOPPED);
  s.set_signal(SIGTERM);
  EXPECT_EQ(WaitExitCode(s), 128 + 15);
  s.set_signal(0);
  s.set_exit_code(7);
  EXPECT_EQ(WaitExitCode(s), 7);
  s.set_state(cmdctl::v1::JOB_STATE_RUNNING);
  EXPECT_EQ(WaitExitCode(s), std::nullopt);
  // Never a success: `wait` fails (255) instead.
  s.set_state(cmdctl::v1::JOB_STATE_LOST);
  s.set_exit_code(0);
  EXPECT_EQ(WaitExitCode(s), std::nullopt);
}

TEST(SignalNameTest, KnownAndUnknown) {
  EXPECT_EQ(SignalName(SIGTERM), "SIGTERM");
  EXPECT_EQ(SignalName(SIGSEGV), "SIGSEGV");
  EXPECT_EQ(SignalName(200), "signal 200");
  EXPECT_EQ(SignalName(0), "signal 0");
}

TEST(EscapeForTerminalTest, EscapesControlsAndBrokenUtf8Only) {
  EXPECT_EQ(EscapeForTerminal("plain text, caf\xc3\xa9 \xe2\x9c\x93 \\n"),
            "plain text, caf\xc3\xa9 \xe2\x9c\x93 \\n");
  EXPECT_EQ(EscapeForTerminal("a\033[2Jb\n\t\x7f"),
            "a\\033[2Jb\\012\\011\\177");
  // C1 controls (U+009B is a CSI of its own in some terminals) and bytes
  // that are not UTF-8.
  EXPECT_EQ(EscapeForTerminal("\xc2\x9b"
                              "31m"),
            "\\302\\23331m");
  EXPECT_EQ(EscapeForTerminal("\xff\xc3"), "\\377\\303");
  EXPECT_EQ(EscapeForTerminal(std::string("nul\0x", 5)), "nul\\000x");
}

TEST(ShellQuoteTest, WordsWithControlCharactersAreDollarQuoted) {
  EXPECT_EQ(ShellQuote({"printf", "\033[31m it's \\ \n"}),
            "printf $'\\033[31m it\\'s \\\\ \\012'");
}

TEST(ShellQuoteTest, QuotesOnlyWhereNeeded) {
  EXPECT_EQ(ShellQuote({"ls", "-la", "/tmp/a_b.c"}), "ls -la /tmp/a_b.c");
  EXPECT_EQ(ShellQuote({"sh", "-c", "echo hi"}), "sh -c 'echo hi'");
  EXPECT_EQ(ShellQuote({"echo", "it's", ""}), "echo 'it'\\''s' ''");
  EXPECT_EQ(ShellQuote({"a$b", "*"}), "'a$b' '*'");
}

TEST(FormatStatusTextTest, EndedJob) {
  const std::string text = FormatStatusText(
      Exited(3), absl::FromUnixSeconds(kStart + 1000), absl::UTCTimeZone());
  EXPECT_EQ(text,
            "Job:      11111111-2222-4333-8444-555555555555\n"
            "Command:  sh -c 'exit 3'\n"
            "State:    exited with code 3\n"
            "Run as:   alice\n"
            "Owner:    alice\n"
            "PID:      4242\n"
            "Started:  2026-11-27 14:00:00.250 UTC\n"
            "Ended:    2026-11-27 14:01:30.750 UTC\n"
            "Duration: 1m30.5s\n");
}

TEST(FormatStatusTextTest, RunningJobDurationSoFarAndNoEnd) {
  ProcessStatus s = Exited(0);
  s.set_state(cmdctl::v1::JOB_STATE_RUNNING);
  s.clear_ended_at();
  const std::string text = FormatStatusText(
      s, absl::FromUnixSeconds(kStart + 10) + absl::Milliseconds(250),
      absl::UTCTimeZone());
  EXPECT_THAT(text, HasSubstr("State:    running\n"));
  EXPECT_THAT(text, HasSubstr("Duration: 10s so far\n"));
  EXPECT_THAT(text, Not(HasSubstr("Ended:")));
}

TEST(FormatStatusTextTest, UsesGivenTimeZone) {
  absl::TimeZone tz = absl::FixedTimeZone(2 * 3600);
  EXPECT_THAT(FormatStatusText(Exited(0), absl::Now(), tz),
              HasSubstr("Started:  2026-11-27 16:00:00.250"));
}

TEST(FormatJobTableTest, AlignedColumnsNewestFirst) {
  ProcessStatus a = Exited(3);
  ProcessStatus b = Exited(0);
  b.set_job_id("b");
  b.set_state(cmdctl::v1::JOB_STATE_SIGNALED);
  b.set_signal(SIGKILL);
  b.set_command("sleep");
  b.clear_args();
  b.add_args("100");
  *b.mutable_started_at() = At(kStart - 60);
  ProcessStatus c = Exited(0);
  c.set_job_id("c");
  c.set_state(cmdctl::v1::JOB_STATE_RUNNING);
  *c.mutable_started_at() = At(kStart + 60);
  const std::string table = FormatJobTable({a, b, c}, absl::UTCTimeZone());
  std::vector<std::string> lines = absl::StrSplit(table, '\n');
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(lines[4], "");
  EXPECT_EQ(lines[0],
            "ID                                    STATE     EXIT/SIGNAL  "
            "STARTED              COMMAND");
  EXPECT_EQ(lines[1],
            "c                                     running   -            "
            "2026-11-27 14:01:00  sh -c 'exit 3'");
  EXPECT_EQ(lines[2],
            "11111111-2222-4333-8444-555555555555  exited    3            "
            "2026-11-27 14:00:00  sh -c 'exit 3'");
  EXPECT_EQ(lines[3],
            "b                                     signaled  SIGKILL      "
            "2026-11-27 13:59:00  sleep 100");
}

TEST(FormatJobTableTest, ControlCharactersCannotBreakARowOrReachTheTerminal) {
  ProcessStatus job = Exited(0);
  job.set_command("printf");
  job.clear_args();
  job.add_args("\033[31mred\nsecond line\r");
  const std::string table = FormatJobTable({job}, absl::UTCTimeZone());
  std::vector<std::string> lines =
      absl::StrSplit(table, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 2u) << table;  // the header and one job
  EXPECT_THAT(lines[1],
              HasSubstr("printf $'\\033[31mred\\012second line\\015'"));
  EXPECT_EQ(table.find('\033'), std::string::npos);
  EXPECT_EQ(table.find('\r'), std::string::npos);
}

TEST(FormatJobTableTest, EmptyListHasHeaderOnly) {
  EXPECT_EQ(FormatJobTable({}, absl::UTCTimeZone()),
            "ID  STATE  EXIT/SIGNAL  STARTED  COMMAND\n");
}

TEST(FormatJsonTest, CanonicalProto3JsonThatRoundTrips) {
  ProcessStatus s = Exited(0);
  absl::StatusOr<std::string> json = FormatJson(s);
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_THAT(*json,
              HasSubstr("\"jobId\": \"11111111-2222-4333-8444-555555555555\""));
  EXPECT_THAT(*json, HasSubstr("\"state\": \"JOB_STATE_EXITED\""));
  EXPECT_THAT(*json, HasSubstr("\"startedAt\": \"2026-11-27T14:00:00.250Z\""));
  // Defaults are printed, so a script can read exitCode 0.
  EXPECT_THAT(*json, HasSubstr("\"exitCode\": 0"));
  EXPECT_THAT(*json, HasSubstr("\"stopRequested\": false"));
  ProcessStatus parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(*json, &parsed).ok());
  EXPECT_EQ(parsed.SerializeAsString(), s.SerializeAsString());
}

}  // namespace
}  // namespace cmdctl::cli

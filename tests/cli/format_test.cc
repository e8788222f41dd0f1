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

google::protobuf::Duration Seconds(int64_t seconds, int32_t nanos = 0) {
  google::protobuf::Duration d;
  d.set_seconds(seconds);
  d.set_nanos(nanos);
  return d;
}

// A job with every field of SPEC §5a and §6 set.
ProcessStatus Limited() {
  ProcessStatus s = Exited(0);
  s.set_state(cmdctl::v1::JOB_STATE_STOPPED);
  s.set_signal(SIGTERM);
  s.set_timed_out(true);
  s.set_oom_killed(true);
  *s.mutable_timeout() = Seconds(1);
  cmdctl::v1::ResourceLimits* l = s.mutable_limits();
  l->set_memory_bytes(int64_t{512} << 20);
  l->set_cpu_millicores(1500);
  l->set_pids(256);
  l->set_io_read_bytes_per_second(int64_t{20} << 20);
  l->set_io_write_bytes_per_second(int64_t{20} << 20);
  cmdctl::v1::ResourceUsage* u = s.mutable_usage();
  *u->mutable_cpu_user() = Seconds(1, 500000000);
  *u->mutable_cpu_system() = Seconds(0, 250000000);
  u->set_memory_peak_bytes(13107200);
  u->set_io_write_bytes(4096);
  s.set_stdout_bytes(1258291);
  s.set_stderr_bytes(12);
  s.set_stdout_discarded_bytes(524288);
  s.set_output_incomplete(true);
  return s;
}

TEST(FormatStatusTextTest, LimitsTimeoutUsageAndOutputWhereSet) {
  const std::string text = FormatStatusText(
      Limited(), absl::FromUnixSeconds(kStart + 1000), absl::UTCTimeZone());
  EXPECT_EQ(text,
            "Job:      11111111-2222-4333-8444-555555555555\n"
            "Command:  sh -c 'exit 3'\n"
            "State:    stopped: terminated by SIGTERM (15)\n"
            "          timed out (its timeout of 1s ran out)\n"
            "          killed: out of memory (limit 512M)\n"
            "Run as:   alice\n"
            "Owner:    alice\n"
            "PID:      4242\n"
            "Started:  2026-11-27 14:00:00.250 UTC\n"
            "Ended:    2026-11-27 14:01:30.750 UTC\n"
            "Duration: 1m30.5s\n"
            "Limits:   memory 512M, cpus 1.5, pids 256, io read 20M/s, write "
            "20M/s\n"
            "Timeout:  1s\n"
            "Usage:    CPU 1.5s user, 250ms system; memory peak 12.5M; IO read "
            "0 bytes, written 4K\n"
            "Output:   stdout 1258291 bytes (1.2M), stderr 12 bytes\n"
            "          the output cap dropped the first 524288 bytes (512K) of "
            "stdout\n"
            "          output incomplete (a write to disk failed)\n");
}

TEST(FormatStatusTextTest, OutputSizesWithoutDropsOrFailure) {
  ProcessStatus s = Exited(0);
  s.set_stderr_bytes(1);
  const std::string text =
      FormatStatusText(s, absl::Now(), absl::UTCTimeZone());
  EXPECT_THAT(text, HasSubstr("Output:   stdout 0 bytes, stderr 1 byte\n"));
  EXPECT_THAT(text, Not(HasSubstr("dropped")));
  EXPECT_THAT(text, Not(HasSubstr("incomplete")));
  EXPECT_THAT(text, Not(HasSubstr("Limits:")));
  EXPECT_THAT(text, Not(HasSubstr("Timeout:")));
  EXPECT_THAT(text, Not(HasSubstr("Usage:")));
}

TEST(FormatStatusTextTest, OomKillWithoutALimitAndTimeoutOfAnEndedJob) {
  ProcessStatus s = Exited(0);
  s.set_state(cmdctl::v1::JOB_STATE_SIGNALED);
  s.set_signal(SIGKILL);
  s.set_oom_killed(true);
  EXPECT_THAT(StateNotes(s), ElementsAre("killed: out of memory"));
  s.set_oom_killed(false);
  s.set_timed_out(true);
  EXPECT_THAT(StateNotes(s), ElementsAre("timed out"));
  *s.mutable_timeout() = Seconds(90);
  EXPECT_THAT(StateNotes(s),
              ElementsAre("timed out (its timeout of 1m30s ran out)"));
}

TEST(FormatLimitsTest, OnlyTheLimitsThatAreSet) {
  cmdctl::v1::ResourceLimits l;
  EXPECT_EQ(FormatLimits(l), "");
  l.set_io_write_bytes_per_second(int64_t{10} << 20);
  EXPECT_EQ(FormatLimits(l), "io write 10M/s");
  l.clear_io_write_bytes_per_second();
  l.set_io_read_bytes_per_second(1536);
  EXPECT_EQ(FormatLimits(l), "io read 1.5K/s");
  l.set_cpu_millicores(250);
  l.set_pids(64);
  EXPECT_EQ(FormatLimits(l), "cpus 0.25, pids 64, io read 1.5K/s");
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

TEST(FormatJsonTest, LimitsUsageAndOutputFieldsInCanonicalJson) {
  ProcessStatus s = Limited();
  absl::StatusOr<std::string> json = FormatJson(s);
  ASSERT_TRUE(json.ok()) << json.status();
  // int64 as strings, Durations as "1.500s", as the proto3 mapping says.
  for (const char* field :
       {"\"memoryBytes\": \"536870912\"", "\"cpuMillicores\": \"1500\"",
        "\"pids\": \"256\"", "\"ioReadBytesPerSecond\": \"20971520\"",
        "\"timeout\": \"1s\"", "\"cpuUser\": \"1.500s\"",
        "\"memoryPeakBytes\": \"13107200\"", "\"oomKilled\": true",
        "\"timedOut\": true", "\"stdoutBytes\": \"1258291\"",
        "\"stdoutDiscardedBytes\": \"524288\"",
        "\"stderrDiscardedBytes\": \"0\"", "\"outputIncomplete\": true"}) {
    EXPECT_THAT(*json, HasSubstr(field));
  }
  ProcessStatus parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(*json, &parsed).ok());
  EXPECT_EQ(parsed.SerializeAsString(), s.SerializeAsString());
}

}  // namespace
}  // namespace cmdctl::cli

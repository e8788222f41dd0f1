#include "cli/flag_values.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cmdctl::cli {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

TEST(ParseRunLimitsTest, NothingGivenLeavesEveryLimitToTheServer) {
  absl::StatusOr<RunLimits> limits = ParseRunLimits({});
  ASSERT_TRUE(limits.ok()) << limits.status();
  EXPECT_EQ(limits->limits.SerializeAsString(), "");
  EXPECT_EQ(limits->timeout, std::nullopt);
}

TEST(ParseRunLimitsTest, EveryFlagInItsUnit) {
  LimitFlags flags;
  flags.memory = "512M";
  flags.cpus = "1.5";
  flags.pids_limit = "256";
  flags.io_read_bps = "20M";
  flags.io_write_bps = "1G";
  flags.timeout = "1m30s";
  absl::StatusOr<RunLimits> parsed = ParseRunLimits(flags);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  const cmdctl::v1::ResourceLimits& l = parsed->limits;
  EXPECT_EQ(l.memory_bytes(), int64_t{512} << 20);
  EXPECT_EQ(l.cpu_millicores(), 1500);
  EXPECT_EQ(l.pids(), 256);
  EXPECT_EQ(l.io_read_bytes_per_second(), int64_t{20} << 20);
  EXPECT_EQ(l.io_write_bytes_per_second(), int64_t{1} << 30);
  EXPECT_EQ(parsed->timeout, absl::Seconds(90));
}

TEST(ParseRunLimitsTest, DurationsAsTheStopGraceTakesThem) {
  for (const auto& [text, expected] : {std::pair<const char*, absl::Duration>{
                                           "500ms", absl::Milliseconds(500)},
                                       {"5s", absl::Seconds(5)},
                                       {"30m", absl::Minutes(30)},
                                       {"2h", absl::Hours(2)}}) {
    LimitFlags flags;
    flags.timeout = text;
    absl::StatusOr<RunLimits> parsed = ParseRunLimits(flags);
    ASSERT_TRUE(parsed.ok()) << text << ": " << parsed.status();
    EXPECT_EQ(parsed->timeout, expected) << text;
  }
}

// Each malformed value is a usage error naming its flag.
TEST(ParseRunLimitsTest, MalformedValuesNameTheirFlag) {
  struct Case {
    std::optional<std::string> LimitFlags::*field;
    const char* value;
    const char* flag;
  };
  const Case cases[] = {
      {&LimitFlags::memory, "lots", "--memory"},
      {&LimitFlags::memory, "-1M", "--memory"},
      {&LimitFlags::memory, "", "--memory"},
      {&LimitFlags::cpus, "1.2345", "--cpus"},
      {&LimitFlags::cpus, "two", "--cpus"},
      {&LimitFlags::pids_limit, "1.5", "--pids-limit"},
      {&LimitFlags::pids_limit, "-3", "--pids-limit"},
      {&LimitFlags::pids_limit, "99999999999999999999", "--pids-limit"},
      {&LimitFlags::io_read_bps, "20M/s", "--io-read-bps"},
      {&LimitFlags::io_write_bps, "fast", "--io-write-bps"},
      {&LimitFlags::timeout, "30", "--timeout"},
      {&LimitFlags::timeout, "-5s", "--timeout"},
      {&LimitFlags::timeout, "inf", "--timeout"},
  };
  for (const Case& c : cases) {
    LimitFlags flags;
    flags.*c.field = c.value;
    absl::StatusOr<RunLimits> parsed = ParseRunLimits(flags);
    ASSERT_FALSE(parsed.ok()) << c.flag << "=" << c.value;
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(parsed.status().message(),
                AllOf(HasSubstr(c.flag), HasSubstr(std::string("'") + c.value)))
        << c.flag << "=" << c.value;
  }
}

TEST(ParseRunLimitsTest, ZeroIsRefusedRatherThanMeaningTheServersDefault) {
  for (std::optional<std::string> LimitFlags::*field :
       {&LimitFlags::memory, &LimitFlags::cpus, &LimitFlags::pids_limit,
        &LimitFlags::io_read_bps, &LimitFlags::io_write_bps}) {
    LimitFlags flags;
    flags.*field = "0";
    absl::StatusOr<RunLimits> parsed = ParseRunLimits(flags);
    ASSERT_FALSE(parsed.ok());
    EXPECT_THAT(parsed.status().message(),
                HasSubstr("must be more than 0 (leave it out"));
  }
  // A timeout of 0 is none, as in the API.
  LimitFlags flags;
  flags.timeout = "0";
  EXPECT_EQ(ParseRunLimits(flags)->timeout, absl::ZeroDuration());
}

TEST(ParseTailLinesTest, WholeNumbersFromZero) {
  EXPECT_EQ(ParseTailLines("0").value_or(-1), 0);
  EXPECT_EQ(ParseTailLines("20").value_or(-1), 20);
  for (const char* bad : {"", "-1", "ten", "1.5", "5 lines"}) {
    absl::StatusOr<int64_t> lines = ParseTailLines(bad);
    ASSERT_FALSE(lines.ok()) << bad;
    EXPECT_THAT(lines.status().message(), HasSubstr("--tail")) << bad;
  }
}

TEST(ParseStateFilterTest, EveryStateInAnyCase) {
  EXPECT_EQ(
      ParseStateFilter("running").value_or(cmdctl::v1::JOB_STATE_UNSPECIFIED),
      cmdctl::v1::JOB_STATE_RUNNING);
  EXPECT_EQ(
      ParseStateFilter("Exited").value_or(cmdctl::v1::JOB_STATE_UNSPECIFIED),
      cmdctl::v1::JOB_STATE_EXITED);
  EXPECT_EQ(
      ParseStateFilter("SIGNALED").value_or(cmdctl::v1::JOB_STATE_UNSPECIFIED),
      cmdctl::v1::JOB_STATE_SIGNALED);
  EXPECT_EQ(
      ParseStateFilter("stopped").value_or(cmdctl::v1::JOB_STATE_UNSPECIFIED),
      cmdctl::v1::JOB_STATE_STOPPED);
  EXPECT_EQ(
      ParseStateFilter("lost").value_or(cmdctl::v1::JOB_STATE_UNSPECIFIED),
      cmdctl::v1::JOB_STATE_LOST);
}

TEST(ParseStateFilterTest, AnythingElseNamesTheChoices) {
  for (const char* bad : {"", "unknown", "unspecified", "run", "ended"}) {
    absl::StatusOr<cmdctl::v1::JobState> state = ParseStateFilter(bad);
    ASSERT_FALSE(state.ok()) << bad;
    EXPECT_THAT(state.status().message(),
                AllOf(HasSubstr("--state"),
                      HasSubstr("running, exited, signaled, stopped or lost")));
  }
  EXPECT_THAT(ParseStateFilter("\033[2J").status().message(),
              HasSubstr("'\\033[2J'"));
}

}  // namespace
}  // namespace cmdctl::cli

#include "cli/duration.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cmdctl::cli {
namespace {

using ::testing::HasSubstr;

TEST(ParseDurationFlagTest, AcceptsUnits) {
  EXPECT_EQ(*ParseDurationFlag("grace", "500ms"), absl::Milliseconds(500));
  EXPECT_EQ(*ParseDurationFlag("grace", "5s"), absl::Seconds(5));
  EXPECT_EQ(*ParseDurationFlag("grace", "1m30s"), absl::Seconds(90));
  EXPECT_EQ(*ParseDurationFlag("grace", "1.5s"), absl::Milliseconds(1500));
  EXPECT_EQ(*ParseDurationFlag("grace", "2h"), absl::Hours(2));
  EXPECT_EQ(*ParseDurationFlag("grace", "0"), absl::ZeroDuration());
}

TEST(ParseDurationFlagTest, RejectsNumberWithoutUnit) {
  absl::StatusOr<absl::Duration> d = ParseDurationFlag("grace", "5");
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(d.status().message(), HasSubstr("--grace: invalid duration '5'"));
  EXPECT_THAT(d.status().message(), HasSubstr("1m30s"));
}

TEST(ParseDurationFlagTest, RejectsGarbageAndEmpty) {
  EXPECT_FALSE(ParseDurationFlag("grace", "").ok());
  EXPECT_FALSE(ParseDurationFlag("grace", "soon").ok());
  EXPECT_FALSE(ParseDurationFlag("grace", "5 s").ok());
}

TEST(ParseDurationFlagTest, RejectsNegativeAndInfinite) {
  EXPECT_THAT(ParseDurationFlag("grace", "-1s").status().message(),
              HasSubstr("negative"));
  EXPECT_THAT(ParseDurationFlag("grace", "inf").status().message(),
              HasSubstr("finite"));
}

TEST(ParseDurationFlagTest, NamesTheFlagItParses) {
  EXPECT_THAT(ParseDurationFlag("timeout", "soon").status().message(),
              HasSubstr("--timeout: invalid duration 'soon'"));
  EXPECT_EQ(*ParseDurationFlag("timeout", "30m"), absl::Minutes(30));
}

TEST(FromProtoDurationTest, RoundTrips) {
  for (absl::Duration d : {absl::ZeroDuration(), absl::Milliseconds(1500),
                           absl::Hours(2) + absl::Nanoseconds(7)}) {
    EXPECT_EQ(FromProtoDuration(ToProtoDuration(d)), d);
  }
}

TEST(FormatDurationShortTest, ToTheMillisecond) {
  EXPECT_EQ(FormatDurationShort(absl::Seconds(90)), "1m30s");
  EXPECT_EQ(FormatDurationShort(absl::Microseconds(12345)), "12ms");
  EXPECT_EQ(FormatDurationShort(absl::ZeroDuration()), "0s");
  EXPECT_EQ(FormatDurationShort(absl::Microseconds(999)), "0s");
}

TEST(ToProtoDurationTest, SplitsSecondsAndNanos) {
  google::protobuf::Duration d = ToProtoDuration(absl::Milliseconds(90500));
  EXPECT_EQ(d.seconds(), 90);
  EXPECT_EQ(d.nanos(), 500000000);
  d = ToProtoDuration(absl::Milliseconds(500));
  EXPECT_EQ(d.seconds(), 0);
  EXPECT_EQ(d.nanos(), 500000000);
}

}  // namespace
}  // namespace cmdctl::cli

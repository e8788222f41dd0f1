#include "cli/duration.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cmdctl::cli {
namespace {

using ::testing::HasSubstr;

TEST(ParseGracePeriodTest, AcceptsUnits) {
  EXPECT_EQ(*ParseGracePeriod("500ms"), absl::Milliseconds(500));
  EXPECT_EQ(*ParseGracePeriod("5s"), absl::Seconds(5));
  EXPECT_EQ(*ParseGracePeriod("1m30s"), absl::Seconds(90));
  EXPECT_EQ(*ParseGracePeriod("1.5s"), absl::Milliseconds(1500));
  EXPECT_EQ(*ParseGracePeriod("2h"), absl::Hours(2));
  EXPECT_EQ(*ParseGracePeriod("0"), absl::ZeroDuration());
}

TEST(ParseGracePeriodTest, RejectsNumberWithoutUnit) {
  absl::StatusOr<absl::Duration> d = ParseGracePeriod("5");
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(d.status().message(), HasSubstr("'5'"));
  EXPECT_THAT(d.status().message(), HasSubstr("1m30s"));
}

TEST(ParseGracePeriodTest, RejectsGarbageAndEmpty) {
  EXPECT_FALSE(ParseGracePeriod("").ok());
  EXPECT_FALSE(ParseGracePeriod("soon").ok());
  EXPECT_FALSE(ParseGracePeriod("5 s").ok());
}

TEST(ParseGracePeriodTest, RejectsNegativeAndInfinite) {
  EXPECT_THAT(ParseGracePeriod("-1s").status().message(),
              HasSubstr("negative"));
  EXPECT_THAT(ParseGracePeriod("inf").status().message(), HasSubstr("finite"));
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

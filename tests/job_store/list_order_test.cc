// The shared List order, page tokens and stored times (job_store/list_order.h).
#include "job_store/list_order.h"

#include <cstdint>
#include <limits>

#include "absl/strings/escaping.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/support/status_assert.h"

namespace cmdctl::store {
namespace {

constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

TEST(ListOrderTest, TimesKeepNanosecondsAndInfinities) {
  for (int64_t ns : {int64_t{0}, int64_t{-1}, int64_t{1700000000123456789},
                     int64_t{-9000000000000000001}, kMin + 1, kMax - 1}) {
    EXPECT_EQ(TimeToNanos(absl::FromUnixNanos(ns)), ns);
    EXPECT_EQ(NanosToTime(ns), absl::FromUnixNanos(ns));
  }
  EXPECT_EQ(TimeToNanos(absl::InfinitePast()), kMin);
  EXPECT_EQ(TimeToNanos(absl::InfiniteFuture()), kMax);
  EXPECT_EQ(NanosToTime(kMin), absl::InfinitePast());
  EXPECT_EQ(NanosToTime(kMax), absl::InfiniteFuture());
}

TEST(ListOrderTest, FiniteTimesBeyondTheRangeStayFinite) {
  // Years beyond 2262 and before 1677 clamp, never becoming infinite.
  EXPECT_EQ(TimeToNanos(absl::FromUnixSeconds(int64_t{1} << 40)), kMax - 1);
  EXPECT_EQ(TimeToNanos(absl::FromUnixSeconds(-(int64_t{1} << 40))), kMin + 1);
  // Sub-nanosecond ticks are dropped toward the past.
  EXPECT_EQ(TimeToNanos(absl::FromUnixNanos(5) + absl::Nanoseconds(0.5)), 5);
  EXPECT_EQ(TimeToNanos(absl::FromUnixNanos(-5) - absl::Nanoseconds(0.5)), -6);
}

TEST(ListOrderTest, DurationsKeepNanosecondsAndInfinities) {
  for (int64_t ns :
       {int64_t{0}, int64_t{-7}, int64_t{7200000000001}, kMin + 1, kMax - 1}) {
    EXPECT_EQ(DurationToNanos(absl::Nanoseconds(ns)), ns);
    EXPECT_EQ(NanosToDuration(ns), absl::Nanoseconds(ns));
  }
  EXPECT_EQ(NanosToDuration(DurationToNanos(absl::InfiniteDuration())),
            absl::InfiniteDuration());
  EXPECT_EQ(NanosToDuration(DurationToNanos(-absl::InfiniteDuration())),
            -absl::InfiniteDuration());
  EXPECT_EQ(DurationToNanos(absl::Hours(int64_t{1} << 40)), kMax - 1);
}

TEST(ListOrderTest, NewerFirstThenGreaterIdFirst) {
  EXPECT_TRUE(ListedBefore({2, "a"}, {1, "z"}));
  EXPECT_TRUE(ListedBefore({1, "b"}, {1, "a"}));
  EXPECT_TRUE(ListedBefore({1, "ab"}, {1, "a"}));
  EXPECT_TRUE(ListedBefore({1, "\xff"}, {1, "a"}));  // bytewise, unsigned
  EXPECT_FALSE(ListedBefore({1, "a"}, {1, "a"}));
  EXPECT_TRUE(ListedBefore({kMax, "a"}, {kMin, "z"}));
}

TEST(ListOrderTest, PageTokenRoundTripsAnyKey) {
  for (const ListKey& key :
       {ListKey{0, "x"}, ListKey{kMin, "job"}, ListKey{kMax, "\xff\x01\n"},
        ListKey{-1, std::string(300, 'q')}}) {
    const std::string token = EncodePageToken(key);
    EXPECT_EQ(token.find_first_of("+/="), std::string::npos) << token;
    absl::StatusOr<ListKey> decoded = DecodePageToken(token);
    ASSERT_OK(decoded);
    EXPECT_EQ(decoded->started_at_ns, key.started_at_ns);
    EXPECT_EQ(decoded->job_id, key.job_id);
  }
}

TEST(ListOrderTest, MalformedTokensAreInvalidArgument) {
  const std::string good = EncodePageToken(ListKey{42, "id"});
  std::string raw;
  ASSERT_TRUE(absl::WebSafeBase64Unescape(good, &raw));
  std::string other_version = raw;
  other_version[0] = 2;
  for (const std::string& bad :
       {std::string(""), std::string("!"), good + "==", good + " ",
        EncodePageToken(ListKey{42, ""}),  // no id
        absl::WebSafeBase64Escape(raw.substr(0, 9)),
        absl::WebSafeBase64Escape(raw.substr(0, 5)),
        absl::WebSafeBase64Escape(other_version)}) {
    EXPECT_EQ(DecodePageToken(bad).status().code(),
              absl::StatusCode::kInvalidArgument)
        << bad;
  }
}

TEST(ListOrderTest, PageSizeDefaultsAndClamps) {
  EXPECT_EQ(ResolvePageSize(0).value(), 100);
  EXPECT_EQ(ResolvePageSize(1).value(), 1);
  EXPECT_EQ(ResolvePageSize(1000).value(), 1000);
  EXPECT_EQ(ResolvePageSize(1001).value(), 1000);
  EXPECT_EQ(ResolvePageSize(-1).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ListOrderTest, PrefixSuccessorBoundsExactlyThePrefixedStrings) {
  EXPECT_EQ(PrefixSuccessor("abc"), "abd");
  EXPECT_EQ(PrefixSuccessor("a%"), "a&");
  EXPECT_EQ(PrefixSuccessor("a\xff"), "b");
  EXPECT_EQ(PrefixSuccessor("a\xfe\xff\xff"), "a\xff");
  EXPECT_EQ(PrefixSuccessor("\x7f"), "\x80");
  EXPECT_EQ(PrefixSuccessor(""), std::nullopt);
  EXPECT_EQ(PrefixSuccessor("\xff\xff"), std::nullopt);
}

}  // namespace
}  // namespace cmdctl::store

// What orders and pages JobStore::List (domain/job_store.h), shared by every
// JobStore (the SQLite one here, the tests' in-memory fake) so that they
// store times and page alike.
#ifndef CMDCTL_JOB_STORE_LIST_ORDER_H_
#define CMDCTL_JOB_STORE_LIST_ORDER_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace cmdctl::store {

// A time as stored and compared: nanoseconds since the Unix epoch.
// InfinitePast <-> INT64_MIN and InfiniteFuture <-> INT64_MAX exactly; a
// finite time keeps its nanoseconds (absl::Time's sub-nanosecond ticks are
// dropped, toward the past) and is clamped to INT64_MIN + 1 .. INT64_MAX - 1
// (the years 1677..2262), so that it never reads back as infinite.
int64_t TimeToNanos(absl::Time t);
absl::Time NanosToTime(int64_t ns);

// The same for a duration: +-InfiniteDuration <-> INT64_MAX / INT64_MIN,
// finite durations in whole nanoseconds (toward zero), clamped likewise.
int64_t DurationToNanos(absl::Duration d);
absl::Duration NanosToDuration(int64_t ns);

// A record's place in List's order.
struct ListKey {
  int64_t started_at_ns = 0;
  std::string job_id;
};

// True when `a` is listed before `b`: newest first, by started_at
// descending, ties by job_id descending (bytewise).
bool ListedBefore(const ListKey& a, const ListKey& b);

// The page token that continues after `last` (the last record of a page):
// opaque, URL-safe base64 of a version byte, started_at and the job id. It
// carries no secret: it names a record of the caller's own query, and a
// token used with another query only sets where that query resumes.
std::string EncodePageToken(const ListKey& last);
// INVALID_ARGUMENT for anything EncodePageToken did not make.
absl::StatusOr<ListKey> DecodePageToken(absl::string_view token);

// JobQuery::page_size as served: 0 means 100, more than 1000 means 1000;
// INVALID_ARGUMENT when negative.
absl::StatusOr<int> ResolvePageSize(int page_size);
inline constexpr int kDefaultPageSize = 100;
inline constexpr int kMaxPageSize = 1000;

// The least string greater than every string that starts with `prefix`
// (bytewise order), for a range query prefix <= id < successor; nullopt when
// there is none (an empty prefix, or one of only 0xFF bytes).
std::optional<std::string> PrefixSuccessor(absl::string_view prefix);

}  // namespace cmdctl::store

#endif  // CMDCTL_JOB_STORE_LIST_ORDER_H_

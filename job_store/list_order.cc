#include "job_store/list_order.h"

#include <cstddef>
#include <limits>
#include <tuple>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"

namespace cmdctl::store {
namespace {

constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr char kTokenVersion = 1;
constexpr size_t kTokenHeader = 1 + 8;  // version, started_at

int64_t ClampFinite(int64_t ns) {
  if (ns == kMin) return kMin + 1;
  if (ns == kMax) return kMax - 1;
  return ns;
}

}  // namespace

int64_t TimeToNanos(absl::Time t) {
  if (t == absl::InfinitePast()) return kMin;
  if (t == absl::InfiniteFuture()) return kMax;
  return ClampFinite(absl::ToUnixNanos(t));  // saturates, toward the past
}

absl::Time NanosToTime(int64_t ns) {
  if (ns == kMin) return absl::InfinitePast();
  if (ns == kMax) return absl::InfiniteFuture();
  return absl::FromUnixNanos(ns);
}

int64_t DurationToNanos(absl::Duration d) {
  if (d == absl::InfiniteDuration()) return kMax;
  if (d == -absl::InfiniteDuration()) return kMin;
  return ClampFinite(absl::ToInt64Nanoseconds(d));  // saturates
}

absl::Duration NanosToDuration(int64_t ns) {
  if (ns == kMax) return absl::InfiniteDuration();
  if (ns == kMin) return -absl::InfiniteDuration();
  return absl::Nanoseconds(ns);
}

bool ListedBefore(const ListKey& a, const ListKey& b) {
  return std::tie(a.started_at_ns, a.job_id) >
         std::tie(b.started_at_ns, b.job_id);
}

std::string EncodePageToken(const ListKey& last) {
  std::string raw(kTokenHeader, '\0');
  raw[0] = kTokenVersion;
  const auto bits = static_cast<uint64_t>(last.started_at_ns);
  for (int i = 0; i < 8; ++i) {
    raw[1 + i] = static_cast<char>((bits >> (56 - 8 * i)) & 0xff);
  }
  raw += last.job_id;
  return absl::WebSafeBase64Escape(raw);
}

absl::StatusOr<ListKey> DecodePageToken(absl::string_view token) {
  std::string raw;
  if (!absl::WebSafeBase64Unescape(token, &raw) || raw.size() <= kTokenHeader ||
      raw[0] != kTokenVersion || absl::WebSafeBase64Escape(raw) != token) {
    return absl::InvalidArgumentError("malformed page token");
  }
  uint64_t bits = 0;
  for (int i = 0; i < 8; ++i) {
    bits = (bits << 8) | static_cast<unsigned char>(raw[1 + i]);
  }
  return ListKey{static_cast<int64_t>(bits), raw.substr(kTokenHeader)};
}

absl::StatusOr<int> ResolvePageSize(int page_size) {
  if (page_size < 0) {
    return absl::InvalidArgumentError("page_size must not be negative");
  }
  if (page_size == 0) return kDefaultPageSize;
  return page_size > kMaxPageSize ? kMaxPageSize : page_size;
}

std::optional<std::string> PrefixSuccessor(absl::string_view prefix) {
  std::string next(prefix);
  while (!next.empty()) {
    auto& last = reinterpret_cast<unsigned char&>(next.back());
    if (last != 0xff) {
      ++last;
      return next;
    }
    next.pop_back();
  }
  return std::nullopt;
}

}  // namespace cmdctl::store

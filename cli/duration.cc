#include "cli/duration.h"

#include <string>

#include "absl/strings/str_cat.h"

namespace cmdctl::cli {

absl::StatusOr<absl::Duration> ParseDurationFlag(absl::string_view flag,
                                                 absl::string_view text) {
  absl::Duration d;
  const std::string owned(text);
  const std::string invalid =
      absl::StrCat("--", flag, ": invalid duration '", owned, "'");
  if (!absl::ParseDuration(owned, &d)) {
    return absl::InvalidArgumentError(absl::StrCat(
        invalid, ": use a number with a unit, e.g. 500ms, 5s, 1m30s, 30m"));
  }
  if (d == absl::InfiniteDuration() || d == -absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat(invalid, ": must be finite"));
  }
  if (d < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat(invalid, ": must not be negative"));
  }
  return d;
}

google::protobuf::Duration ToProtoDuration(absl::Duration d) {
  google::protobuf::Duration out;
  const int64_t seconds = absl::IDivDuration(d, absl::Seconds(1), &d);
  out.set_seconds(seconds);
  out.set_nanos(static_cast<int32_t>(absl::ToInt64Nanoseconds(d)));
  return out;
}

absl::Duration FromProtoDuration(const google::protobuf::Duration& d) {
  return absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
}

std::string FormatDurationShort(absl::Duration d) {
  d = absl::Trunc(d, absl::Milliseconds(1));
  return d == absl::ZeroDuration() ? "0s" : absl::FormatDuration(d);
}

}  // namespace cmdctl::cli

#include "cli/duration.h"

#include <string>

#include "absl/strings/str_cat.h"

namespace cmdctl::cli {

absl::StatusOr<absl::Duration> ParseGracePeriod(absl::string_view text) {
  absl::Duration d;
  const std::string owned(text);
  if (!absl::ParseDuration(owned, &d)) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid duration '", owned,
                     "': use a number with a unit, e.g. 500ms, 5s, 1m30s"));
  }
  if (d == absl::InfiniteDuration() || d == -absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid duration '", owned, "': must be finite"));
  }
  if (d < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid duration '", owned, "': must not be negative"));
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

}  // namespace cmdctl::cli

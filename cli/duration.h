// Durations on the command line: `500ms`, `5s`, `1m30s`, `30m`
// (absl::ParseDuration).
#ifndef CMDCTL_CLI_DURATION_H_
#define CMDCTL_CLI_DURATION_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/duration.pb.h"

namespace cmdctl::cli {

// The value of --`flag`: a finite, non-negative duration with a unit (`0`
// alone is allowed). INVALID_ARGUMENT naming the flag, the text and the
// expected form otherwise.
absl::StatusOr<absl::Duration> ParseDurationFlag(absl::string_view flag,
                                                 absl::string_view text);

// The protobuf form of a finite duration, and back.
google::protobuf::Duration ToProtoDuration(absl::Duration d);
absl::Duration FromProtoDuration(const google::protobuf::Duration& d);

// `d` for people, to the millisecond: "1s", "1m30s", "12ms", "0s".
std::string FormatDurationShort(absl::Duration d);

}  // namespace cmdctl::cli

#endif  // CMDCTL_CLI_DURATION_H_

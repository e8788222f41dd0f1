// Durations on the command line: `500ms`, `5s`, `1m30s` (absl::ParseDuration).
#ifndef CMDCTL_CLI_DURATION_H_
#define CMDCTL_CLI_DURATION_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/duration.pb.h"

namespace cmdctl::cli {

// A finite, non-negative duration with a unit (`0` alone is allowed).
// INVALID_ARGUMENT naming the text and the expected form otherwise.
absl::StatusOr<absl::Duration> ParseGracePeriod(absl::string_view text);

// The protobuf form of a finite duration.
google::protobuf::Duration ToProtoDuration(absl::Duration d);

}  // namespace cmdctl::cli

#endif  // CMDCTL_CLI_DURATION_H_

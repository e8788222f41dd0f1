// The values of command flags that need more than gflags checks (SPEC §7):
// run's resource limits and timeout, get-output's --tail, list's --state.
// Checked before any call: INVALID_ARGUMENT (a usage error) naming the flag.
#ifndef CMDCTL_CLI_FLAG_VALUES_H_
#define CMDCTL_CLI_FLAG_VALUES_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "cmdctl/v1/cmdctl.pb.h"

namespace cmdctl::cli {

// The flags a user gave (nullopt: not given).
struct LimitFlags {
  std::optional<std::string> memory;        // --memory=SIZE
  std::optional<std::string> cpus;          // --cpus=N
  std::optional<std::string> pids_limit;    // --pids-limit=N
  std::optional<std::string> io_read_bps;   // --io-read-bps=SIZE
  std::optional<std::string> io_write_bps;  // --io-write-bps=SIZE
  std::optional<std::string> timeout;       // --timeout=DURATION
};

struct RunLimits {
  // Fields left at 0: the server's defaults.
  cmdctl::v1::ResourceLimits limits;
  std::optional<absl::Duration> timeout;  // nullopt or 0: none
};

// Sizes as ParseByteSize reads them ("512M", powers of 1024), CPUs as
// ParseCpuMillicores ("1.5"), --pids-limit a whole number, --timeout a
// duration with a unit. A limit must be more than 0 (leaving it out is how
// to get the server's default). INVALID_ARGUMENT naming the flag otherwise.
absl::StatusOr<RunLimits> ParseRunLimits(const LimitFlags& flags);

// --tail=N: a whole number of lines, 0 or more.
absl::StatusOr<int64_t> ParseTailLines(absl::string_view text);

// --state=STATE: running, exited, signaled, stopped or lost, in any case.
absl::StatusOr<cmdctl::v1::JobState> ParseStateFilter(absl::string_view text);

}  // namespace cmdctl::cli

#endif  // CMDCTL_CLI_FLAG_VALUES_H_

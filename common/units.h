// The units users write on the command line (SPEC §7): sizes as "512M",
// "2G", "10M" (powers of 1024) and CPUs as "1.5" (1500 millicores). Shared
// by cmdctl's flags and cmdctld's.
#ifndef CMDCTL_COMMON_UNITS_H_
#define CMDCTL_COMMON_UNITS_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace cmdctl {

// "0", "4096", "512K", "512M", "2G", "1T" (also with "i"/"iB"/"B" after the
// letter, any case): bytes. INVALID_ARGUMENT, naming `what`, for anything
// else, a negative value or an overflow. Fractions are accepted where they
// land on whole bytes ("1.5G").
absl::StatusOr<int64_t> ParseByteSize(absl::string_view text,
                                      absl::string_view what);

// "1", "0.5", "1.5", "2.25": CPUs, as millicores (1000 per CPU).
// INVALID_ARGUMENT for anything else, a negative value, more than three
// decimals, or an overflow.
absl::StatusOr<int64_t> ParseCpuMillicores(absl::string_view text,
                                           absl::string_view what);

// 536870912 -> "512M", 1500 -> "1.5" (the inverse, for messages and
// status output; exact when possible, else with one decimal).
std::string FormatByteSize(int64_t bytes);
std::string FormatCpus(int64_t millicores);

}  // namespace cmdctl

#endif  // CMDCTL_COMMON_UNITS_H_

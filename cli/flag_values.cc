#include "cli/flag_values.h"

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "cli/duration.h"
#include "cli/format.h"
#include "common/units.h"

namespace cmdctl::cli {
namespace {

// Parses --`flag` with `parse` into *out when given; a value of 0 is
// refused (it would silently mean the server's default).
absl::Status ParseLimit(const std::optional<std::string>& text,
                        absl::string_view flag,
                        absl::StatusOr<int64_t> (*parse)(absl::string_view,
                                                         absl::string_view),
                        int64_t* out) {
  if (!text.has_value()) return absl::OkStatus();
  const std::string name = absl::StrCat("--", flag);
  absl::StatusOr<int64_t> value = parse(*text, name);
  if (!value.ok()) return value.status();
  if (*value <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        name, " must be more than 0 (leave it out for the server's default)"));
  }
  *out = *value;
  return absl::OkStatus();
}

absl::StatusOr<int64_t> ParseCount(absl::string_view text,
                                   absl::string_view what) {
  int64_t value = 0;
  const absl::string_view digits = absl::StripAsciiWhitespace(text);
  bool all_digits = !digits.empty();
  for (char c : digits) {
    all_digits =
        all_digits && absl::ascii_isdigit(static_cast<unsigned char>(c));
  }
  if (!all_digits || !absl::SimpleAtoi(digits, &value)) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": '", text, "' is not a whole number such as 256"));
  }
  return value;
}

}  // namespace

absl::StatusOr<RunLimits> ParseRunLimits(const LimitFlags& flags) {
  RunLimits out;
  cmdctl::v1::ResourceLimits& l = out.limits;
  int64_t value = 0;
  struct Limit {
    const std::optional<std::string>& text;
    const char* flag;
    absl::StatusOr<int64_t> (*parse)(absl::string_view, absl::string_view);
    void (cmdctl::v1::ResourceLimits::*set)(int64_t);
  };
  const Limit limits[] = {
      {flags.memory, "memory", &ParseByteSize,
       &cmdctl::v1::ResourceLimits::set_memory_bytes},
      {flags.cpus, "cpus", &ParseCpuMillicores,
       &cmdctl::v1::ResourceLimits::set_cpu_millicores},
      {flags.pids_limit, "pids-limit", &ParseCount,
       &cmdctl::v1::ResourceLimits::set_pids},
      {flags.io_read_bps, "io-read-bps", &ParseByteSize,
       &cmdctl::v1::ResourceLimits::set_io_read_bytes_per_second},
      {flags.io_write_bps, "io-write-bps", &ParseByteSize,
       &cmdctl::v1::ResourceLimits::set_io_write_bytes_per_second},
  };
  for (const Limit& limit : limits) {
    if (!limit.text.has_value()) continue;
    absl::Status parsed =
        ParseLimit(limit.text, limit.flag, limit.parse, &value);
    if (!parsed.ok()) return parsed;
    (l.*limit.set)(value);
  }
  if (flags.timeout.has_value()) {
    absl::StatusOr<absl::Duration> timeout =
        ParseDurationFlag("timeout", *flags.timeout);
    if (!timeout.ok()) return timeout.status();
    out.timeout = *timeout;
  }
  return out;
}

absl::StatusOr<int64_t> ParseTailLines(absl::string_view text) {
  return ParseCount(text, "--tail");
}

absl::StatusOr<cmdctl::v1::JobState> ParseStateFilter(absl::string_view text) {
  const std::string lower = absl::AsciiStrToLower(text);
  for (cmdctl::v1::JobState state :
       {cmdctl::v1::JOB_STATE_RUNNING, cmdctl::v1::JOB_STATE_EXITED,
        cmdctl::v1::JOB_STATE_SIGNALED, cmdctl::v1::JOB_STATE_STOPPED,
        cmdctl::v1::JOB_STATE_LOST}) {
    if (lower == StateWord(state)) return state;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("--state must be running, exited, signaled, stopped or "
                   "lost, not '",
                   EscapeForTerminal(text), "'"));
}

}  // namespace cmdctl::cli

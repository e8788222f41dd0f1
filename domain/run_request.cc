#include "domain/run_request.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace cmdctl {
namespace {

bool HasNul(absl::string_view s) {
  return s.find('\0') != absl::string_view::npos;
}

struct LimitField {
  int64_t ResourceLimits::*member;
  const char* name;  // as in the API
  const char* flag;  // the server flag that sets its default
};

constexpr LimitField kLimitFields[] = {
    {&ResourceLimits::memory_bytes, "memory_bytes", "--default_memory"},
    {&ResourceLimits::cpu_millicores, "cpu_millicores", "--default_cpus"},
    {&ResourceLimits::pids, "pids", "--default_pids"},
    {&ResourceLimits::io_read_bytes_per_second, "io_read_bytes_per_second",
     "no default"},
    {&ResourceLimits::io_write_bytes_per_second, "io_write_bytes_per_second",
     "no default"},
};

absl::Status NulError(absl::string_view field) {
  return absl::InvalidArgumentError(
      absl::StrCat(field, " contains a NUL byte"));
}

}  // namespace

absl::Status ValidateRunRequest(const RunRequest& req) {
  if (req.command.empty()) {
    return absl::InvalidArgumentError("command must not be empty");
  }
  if (HasNul(req.command)) return NulError("command");
  for (size_t i = 0; i < req.args.size(); ++i) {
    if (HasNul(req.args[i])) return NulError(absl::StrCat("args[", i, "]"));
  }
  if (HasNul(req.run_as)) return NulError("run_as");
  if (HasNul(req.working_dir)) return NulError("working_dir");
  if (!req.working_dir.empty() && req.working_dir.front() != '/') {
    return absl::InvalidArgumentError(absl::StrCat(
        "working_dir must be an absolute path, got '", req.working_dir, "'"));
  }
  for (const auto& [name, value] : req.env) {
    if (name.empty() || absl::StrContains(name, '=') || HasNul(name)) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid environment variable name '", name,
                       "': it must be non-empty without '=' or NUL"));
    }
    if (HasNul(value)) return NulError(absl::StrCat("env[", name, "]"));
  }
  for (const LimitField& f : kLimitFields) {
    if (req.limits.*f.member < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("limits.", f.name, " must not be negative, got ",
                       req.limits.*f.member));
    }
  }
  if (req.timeout < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("timeout must not be negative, got ",
                     absl::FormatDuration(req.timeout)));
  }
  return absl::OkStatus();
}

absl::StatusOr<ResourceLimits> ResolveLimits(const ResourceLimits& requested,
                                             const LimitDefaults& defaults) {
  ResourceLimits out = requested;
  for (const LimitField& f : kLimitFields) {
    const int64_t asked = requested.*f.member;
    const int64_t ceiling = defaults.*f.member;
    if (ceiling == 0) continue;
    if (asked == 0) {
      out.*f.member = ceiling;
    } else if (asked > ceiling) {
      return absl::InvalidArgumentError(absl::StrCat(
          "limits.", f.name, " ", asked, " exceeds the server's maximum ",
          ceiling, " (", f.flag, ")"));
    }
  }
  return out;
}

}  // namespace cmdctl

#include "domain/run_request.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace cmdctl {
namespace {

bool HasNul(absl::string_view s) {
  return s.find('\0') != absl::string_view::npos;
}

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
  return absl::OkStatus();
}

}  // namespace cmdctl

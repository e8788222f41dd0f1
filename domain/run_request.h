// A RunProcess request as the domain sees it, and its validation: the one
// place where the server checks a request before anything is started (the
// launcher checks again at the privilege boundary).
#ifndef CMDCTL_DOMAIN_RUN_REQUEST_H_
#define CMDCTL_DOMAIN_RUN_REQUEST_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "domain/types.h"

namespace cmdctl {

struct RunRequest {
  std::string command;
  std::vector<std::string> args;
  std::string run_as;       // empty: the caller's first principal
  std::string working_dir;  // empty: the run-as user's home
  std::map<std::string, std::string> env;
  ResourceLimits limits;  // 0 fields: the server's defaults
  absl::Duration timeout = absl::ZeroDuration();  // 0: none
};

// INVALID_ARGUMENT, naming the field, for: an empty command; a NUL byte in
// any string (execve would silently cut there); a relative working_dir; an
// env name that is empty or holds '='.
// A negative limit or timeout.
absl::Status ValidateRunRequest(const RunRequest& req);

// The server's default limits (SPEC §5a: --default_memory, --default_cpus,
// --default_pids), which are also the most a request may ask for.
// 0: no default and no ceiling.
using LimitDefaults = ResourceLimits;

// The limits a job gets: each field the request leaves at 0 takes the
// default; a field above a non-zero default is INVALID_ARGUMENT naming both
// values.
absl::StatusOr<ResourceLimits> ResolveLimits(const ResourceLimits& requested,
                                             const LimitDefaults& defaults);

}  // namespace cmdctl

#endif  // CMDCTL_DOMAIN_RUN_REQUEST_H_

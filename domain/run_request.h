// A RunProcess request as the domain sees it, and its validation: the one
// place where the server checks a request before anything is started (the
// launcher checks again at the privilege boundary).
#ifndef CMDCTL_DOMAIN_RUN_REQUEST_H_
#define CMDCTL_DOMAIN_RUN_REQUEST_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace cmdctl {

struct RunRequest {
  std::string command;
  std::vector<std::string> args;
  std::string run_as;       // empty: the caller's first principal
  std::string working_dir;  // empty: the run-as user's home
  std::map<std::string, std::string> env;
};

// INVALID_ARGUMENT, naming the field, for: an empty command; a NUL byte in
// any string (execve would silently cut there); a relative working_dir; an
// env name that is empty or holds '='.
absl::Status ValidateRunRequest(const RunRequest& req);

}  // namespace cmdctl

#endif  // CMDCTL_DOMAIN_RUN_REQUEST_H_

// `cmdctl completion bash|zsh`: completion scripts made from the command
// table, so they know every command, alias and flag. Job IDs complete from
// `cmdctl list` (the caller's jobs, with the same server and certificate
// settings from the environment).
#ifndef CMDCTL_CLI_COMPLETION_H_
#define CMDCTL_CLI_COMPLETION_H_

#include <string>

#include "absl/status/statusor.h"

namespace cmdctl::cli {

// The script for `shell` ("bash" or "zsh"); INVALID_ARGUMENT otherwise.
absl::StatusOr<std::string> CompletionScript(const std::string& shell);

}  // namespace cmdctl::cli

#endif  // CMDCTL_CLI_COMPLETION_H_

// Job ids as users type them (SPEC §7): a whole id, or any prefix of one of
// the caller's job ids that names one job (docker's habit).
#ifndef CMDCTL_CLI_JOB_IDS_H_
#define CMDCTL_CLI_JOB_IDS_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cli/exit_codes.h"
#include "cli/session.h"

namespace cmdctl::cli {

// The length of a whole job id (a UUID: 8-4-4-4-12 hex digits).
inline constexpr size_t kJobIdLength = 36;

// Checks an ID argument before any call: hex digits and dashes, at most
// kJobIdLength characters, not empty. Returns it in lower case.
// INVALID_ARGUMENT (a usage error) naming it otherwise.
absl::StatusOr<std::string> CheckJobIdArgument(absl::string_view text);

// True for a whole, well-formed id (8-4-4-4-12 lower-case hex): it needs no
// lookup.
bool IsWholeJobId(absl::string_view id);

// The ids of `candidates` that start with `prefix`, in their order.
std::vector<std::string> IdsWithPrefix(
    absl::string_view prefix, const std::vector<std::string>& candidates);

// `arguments` (checked by CheckJobIdArgument) as whole job ids, in order, or
// why not.
struct ResolvedIds {
  std::vector<std::string> ids;
  std::optional<Failure> failure;  // set: report it and give up
};

// Resolves every argument: a whole id stands for itself (the server says if
// it does not exist); a prefix is looked up among the caller's jobs with
// ListProcesses' job_id_prefix, one call per distinct prefix (a page of
// two tells none, one and several apart; the matches of an ambiguous prefix
// are all listed). A prefix no job has fails with the session's failure
// status; one that several jobs have is a usage error (2) listing them.
ResolvedIds ResolveJobIds(Session& session,
                          const std::vector<std::string>& arguments);

}  // namespace cmdctl::cli

#endif  // CMDCTL_CLI_JOB_IDS_H_

#include "cli/job_ids.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cli/calls.h"
#include "cli/format.h"

namespace cmdctl::cli {
namespace {

bool IsDashAt(size_t i) { return i == 8 || i == 13 || i == 18 || i == 23; }

// How many matches of an ambiguous prefix the message lists.
constexpr size_t kMaxListedMatches = 10;

}  // namespace

absl::StatusOr<std::string> CheckJobIdArgument(absl::string_view text) {
  const std::string shown = EscapeForTerminal(text);
  if (text.empty()) {
    return absl::InvalidArgumentError("a job ID must not be empty");
  }
  if (text.size() > kJobIdLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", shown, "' is not a job ID: longer than ",
                     kJobIdLength, " characters"));
  }
  for (char c : text) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c)) && c != '-') {
      return absl::InvalidArgumentError(absl::StrCat(
          "'", shown,
          "' is not a job ID: job IDs are hex digits and dashes, such as "
          "3f2a9c1e-... (`cmdctl list` shows yours)"));
    }
  }
  return absl::AsciiStrToLower(text);
}

bool IsWholeJobId(absl::string_view id) {
  if (id.size() != kJobIdLength) return false;
  for (size_t i = 0; i < id.size(); ++i) {
    const char c = id[i];
    const bool ok = IsDashAt(i)
                        ? c == '-'
                        : (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
    if (!ok) return false;
  }
  return true;
}

std::vector<std::string> IdsWithPrefix(
    absl::string_view prefix, const std::vector<std::string>& candidates) {
  std::vector<std::string> matches;
  for (const std::string& id : candidates) {
    if (absl::StartsWith(id, prefix)) matches.push_back(id);
  }
  return matches;
}

ResolvedIds ResolveJobIds(Session& session,
                          const std::vector<std::string>& arguments) {
  ResolvedIds resolved;
  std::optional<std::vector<std::string>> known;  // listed once, if needed
  for (const std::string& argument : arguments) {
    if (IsWholeJobId(argument)) {
      resolved.ids.push_back(argument);
      continue;
    }
    if (!known.has_value()) {
      Reply<std::vector<cmdctl::v1::ProcessStatus>> list =
          CallListProcesses(session);
      if (!list.ok()) {
        Failure failure = FailureFromRpc(
            list.status, CallContext{session.server, "", /*connected=*/true,
                                     session.verbose});
        failure.exit_code = session.failure_exit;
        return {{}, failure};
      }
      known.emplace();
      for (const cmdctl::v1::ProcessStatus& job : list.value) {
        known->push_back(job.job_id());
      }
    }
    std::vector<std::string> matches = IdsWithPrefix(argument, *known);
    if (matches.empty()) {
      return {{},
              Failure{session.failure_exit,
                      absl::StrCat("cmdctl: no job of yours has an ID starting "
                                   "with '",
                                   argument, "' (`cmdctl list` shows yours)")}};
    }
    if (matches.size() > 1) {
      const size_t listed = std::min(matches.size(), kMaxListedMatches);
      std::string message =
          absl::StrCat("cmdctl: job ID prefix '", argument,
                       "' is ambiguous: ", matches.size(),
                       " of your jobs match; type more of it:");
      for (size_t i = 0; i < listed; ++i) {
        absl::StrAppend(&message, "\n  ", EscapeForTerminal(matches[i]));
      }
      if (listed < matches.size()) {
        absl::StrAppend(&message, "\n  ... and ", matches.size() - listed,
                        " more");
      }
      return {{}, Failure{kExitUsage, std::move(message)}};
    }
    resolved.ids.push_back(matches[0]);
  }
  return resolved;
}

}  // namespace cmdctl::cli

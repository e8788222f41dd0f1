#include "cli/job_ids.h"

#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cli/calls.h"
#include "cli/format.h"

namespace cmdctl::cli {
namespace {

bool IsDashAt(size_t i) { return i == 8 || i == 13 || i == 18 || i == 23; }

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

namespace {

// A probe of this size tells no match, one match and several apart.
constexpr int kProbePageSize = 2;

// The caller's job ids starting with `prefix`: one ListProcesses of
// kProbePageSize, and for an ambiguous prefix the rest of the pages (to
// list every match).
Reply<std::vector<std::string>> JobIdsWithPrefix(Session& session,
                                                 const std::string& prefix) {
  cmdctl::v1::ListProcessesRequest request;
  request.set_job_id_prefix(prefix);
  request.set_page_size(kProbePageSize);
  Reply<cmdctl::v1::ListProcessesResponse> probe =
      CallListPage(session, request);
  if (!probe.ok()) return {probe.status};
  Reply<std::vector<std::string>> ids;
  for (const cmdctl::v1::ProcessStatus& job : probe.value.processes()) {
    ids.value.push_back(job.job_id());
  }
  if (probe.value.next_page_token().empty()) return ids;
  request.set_page_size(0);  // the server's page size for the rest
  request.set_page_token(probe.value.next_page_token());
  Reply<std::vector<cmdctl::v1::ProcessStatus>> rest =
      CallListProcesses(session, request);
  if (!rest.ok()) return {rest.status};
  for (const cmdctl::v1::ProcessStatus& job : rest.value) {
    ids.value.push_back(job.job_id());
  }
  return ids;
}

std::string AmbiguousMessage(const std::string& prefix,
                             const std::vector<std::string>& matches) {
  std::string message = absl::StrCat("cmdctl: job ID prefix '", prefix,
                                     "' is ambiguous: ", matches.size(),
                                     " of your jobs match; type more of it:");
  for (const std::string& id : matches) {
    absl::StrAppend(&message, "\n  ", EscapeForTerminal(id));
  }
  return message;
}

}  // namespace

ResolvedIds ResolveJobIds(Session& session,
                          const std::vector<std::string>& arguments) {
  ResolvedIds resolved;
  std::map<std::string, std::string> looked_up;  // prefix -> its job id
  for (const std::string& argument : arguments) {
    if (IsWholeJobId(argument)) {
      resolved.ids.push_back(argument);
      continue;
    }
    if (auto it = looked_up.find(argument); it != looked_up.end()) {
      resolved.ids.push_back(it->second);
      continue;
    }
    Reply<std::vector<std::string>> matches =
        JobIdsWithPrefix(session, argument);
    if (!matches.ok()) {
      Failure failure = FailureFromRpc(
          matches.status,
          CallContext{session.server, "", /*connected=*/true, session.verbose});
      failure.exit_code = session.failure_exit;
      return {{}, failure};
    }
    // The server matched the prefix; check it all the same (an older
    // server ignores job_id_prefix and sends every job).
    std::vector<std::string> ids = IdsWithPrefix(argument, matches.value);
    if (ids.empty()) {
      return {{},
              Failure{session.failure_exit,
                      absl::StrCat("cmdctl: no job of yours has an ID starting "
                                   "with '",
                                   argument, "' (`cmdctl list` shows yours)")}};
    }
    if (ids.size() > 1) {
      return {{}, Failure{kExitUsage, AmbiguousMessage(argument, ids)}};
    }
    looked_up[argument] = ids[0];
    resolved.ids.push_back(ids[0]);
  }
  return resolved;
}

}  // namespace cmdctl::cli

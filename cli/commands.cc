#include "cli/commands.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "cli/calls.h"
#include "cli/exit_codes.h"
#include "cli/format.h"
#include "cli/job_ids.h"
#include "cli/output_follow.h"
#include "cli/reconnect.h"
#include "common/file_util.h"

namespace cmdctl::cli {
namespace {

namespace v1 = ::cmdctl::v1;

// Prints `text` (a JSON rendering or a text form); exit status.
int PrintFormatted(const Session& session,
                   const absl::StatusOr<std::string>& text) {
  if (!text.ok()) return ReportOwnFailure(session, text.status().message());
  return PrintStdout(*text) ? kExitOk : session.failure_exit;
}

}  // namespace

int GetOutput(Session& session, const std::string& id_argument, bool follow,
              std::optional<int64_t> tail) {
  ResolvedIds resolved = ResolveJobIds(session, {id_argument});
  if (resolved.failure) return Report(*resolved.failure);
  const std::string& job_id = resolved.ids[0];
  FollowOptions options;
  options.job_id = job_id;
  options.follow = follow;
  OutputPosition position = OutputPosition::FromStart();
  if (tail.has_value() && *tail > 0) {
    options.tail_lines = *tail;
    position = OutputPosition::Unknown();
  } else if (tail.has_value()) {
    // --tail=0: nothing old; from where each stream ends now.
    Reply<v1::ProcessStatus> status = CallWithReconnect(
        session, [&] { return CallGetStatus(session, job_id); });
    if (!status.ok())
      return ReportFollowFailure(session, status.status, job_id);
    position = OutputPosition::At(status.value.stdout_bytes(),
                                  status.value.stderr_bytes());
  }
  int write_errno = 0;
  FollowResult result = FollowOutput(
      session, options, position,
      [&write_errno](v1::OutputStream stream, absl::string_view data) {
        return WriteJobOutput(stream, data, &write_errno);
      });
  // Our reader went away (`| head`): end as SIGPIPE would, quietly. The
  // job runs on: get-output only follows it.
  if (write_errno == EPIPE) return kExitBrokenPipe;
  if (write_errno != 0) {
    return ReportOwnFailure(session, absl::StrCat("cannot write the output: ",
                                                  strerror(write_errno)));
  }
  if (!result.status.ok()) {
    return ReportFollowFailure(session, result.status, job_id);
  }
  return kExitOk;
}

int GetStatus(Session& session, const std::vector<std::string>& id_arguments,
              OutputFormat format) {
  ResolvedIds resolved = ResolveJobIds(session, id_arguments);
  if (resolved.failure) return Report(*resolved.failure);
  int exit_code = kExitOk;
  bool first = true;
  for (const std::string& job_id : resolved.ids) {
    Reply<v1::ProcessStatus> reply = CallGetStatus(session, job_id);
    if (!reply.ok()) {
      exit_code = ReportRpc(reply.status, session, job_id);
      continue;
    }
    absl::StatusOr<std::string> text =
        format == OutputFormat::kJson
            ? FormatJson(reply.value)
            : FormatStatusText(reply.value, absl::Now(), absl::LocalTimeZone());
    if (text.ok() && format == OutputFormat::kText && !first) {
      text = absl::StrCat("\n", *text);
    }
    first = false;
    if (int printed = PrintFormatted(session, text); printed != kExitOk) {
      exit_code = printed;
    }
  }
  return exit_code;
}

int StopJobs(Session& session, const std::vector<std::string>& id_arguments,
             std::optional<absl::Duration> grace) {
  ResolvedIds resolved = ResolveJobIds(session, id_arguments);
  if (resolved.failure) return Report(*resolved.failure);
  std::vector<Reply<v1::ProcessStatus>> replies =
      CallStopProcesses(session, resolved.ids, grace);
  int exit_code = kExitOk;
  for (size_t i = 0; i < replies.size(); ++i) {
    if (!replies[i].ok()) {
      exit_code = ReportRpc(replies[i].status, session, resolved.ids[i]);
      continue;
    }
    const std::string line =
        absl::StrCat("job ", EscapeForTerminal(replies[i].value.job_id()), ": ",
                     DescribeState(replies[i].value), "\n");
    if (!PrintStdout(line)) exit_code = session.failure_exit;
  }
  return exit_code;
}

int RemoveJobs(Session& session, const std::vector<std::string>& id_arguments) {
  ResolvedIds resolved = ResolveJobIds(session, id_arguments);
  if (resolved.failure) return Report(*resolved.failure);
  int exit_code = kExitOk;
  for (const std::string& job_id : resolved.ids) {
    Reply<v1::RemoveProcessResponse> reply = CallRemoveProcess(session, job_id);
    if (!reply.ok()) {
      exit_code = ReportRpc(reply.status, session, job_id);
      continue;
    }
    if (!PrintStdout(absl::StrCat("job ", job_id, ": removed\n"))) {
      exit_code = session.failure_exit;
    }
  }
  return exit_code;
}

int ListJobs(Session& session, OutputFormat format, v1::JobState state) {
  v1::ListProcessesRequest request;
  request.set_state(state);
  Reply<std::vector<v1::ProcessStatus>> reply =
      CallListProcesses(session, request);
  if (!reply.ok()) return ReportRpc(reply.status, session, "");
  if (format == OutputFormat::kJson) {
    v1::ListProcessesResponse response;
    for (v1::ProcessStatus& job : reply.value) {
      *response.add_processes() = std::move(job);
    }
    return PrintFormatted(session, FormatJson(response));
  }
  return PrintFormatted(
      session, FormatJobTable(std::move(reply.value), absl::LocalTimeZone()));
}

}  // namespace cmdctl::cli

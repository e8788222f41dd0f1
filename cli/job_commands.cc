// run and wait: the commands whose exit status is a job's (SPEC §7). Their
// own failures exit with the session's failure status (255), so that 1-254
// always mean the job. Both follow the job across a restart of cmdctld
// (output_follow.h, reconnect.h).
#include <errno.h>
#include <string.h>

#include "absl/strings/str_cat.h"
#include "cli/calls.h"
#include "cli/commands.h"
#include "cli/duration.h"
#include "cli/exit_codes.h"
#include "cli/format.h"
#include "cli/job_ids.h"
#include "cli/output_follow.h"
#include "cli/reconnect.h"

namespace cmdctl::cli {
namespace {

namespace v1 = ::cmdctl::v1;

// The exit status of a job that has ended (WaitExitCode), or nullopt after
// reporting why there is none: it was lost, or it has not ended.
std::optional<int> EndedJobExit(const Session& session,
                                const v1::ProcessStatus& status) {
  std::optional<int> code = WaitExitCode(status);
  if (code.has_value()) return code;
  if (status.state() == v1::JOB_STATE_LOST) {
    ReportOwnFailure(session, absl::StrCat("job ", status.job_id(),
                                           " was lost: the server cannot know "
                                           "how it ended (did the host reboot "
                                           "while it ran?)"));
  } else {
    ReportOwnFailure(session,
                     absl::StrCat("the output of job ", status.job_id(),
                                  " ended but the job is still ",
                                  StateWord(status.state())));
  }
  return std::nullopt;
}

// Follows the job from `position` until it has ended and returns its exit
// status (WaitExitCode), or nullopt after reporting a failure of cmdctl's
// own. `print`: its stdout to our stdout and its stderr to our stderr (run
// --wait); otherwise the output is read and dropped (wait). `tie` (may be
// null): the job is tied to this process (job_tie.h).
std::optional<int> AwaitJobExit(Session& session, const std::string& job_id,
                                OutputPosition position, bool print,
                                JobTie* tie) {
  int write_errno = 0;
  FollowOptions options;
  options.job_id = job_id;
  options.report_gaps = print;
  FollowResult followed =
      FollowOutput(session, options, position,
                   [&](v1::OutputStream stream, absl::string_view data) {
                     if (!print || WriteJobOutput(stream, data, &write_errno))
                       return true;
                     // Our reader went away (`| head`): the job is tied to us.
                     if (write_errno == EPIPE && tie != nullptr)
                       tie->StopForClosedOutput();
                     return false;
                   });
  if (tie != nullptr) tie->OutputEnded();  // dies here if a signal came
  if (write_errno == EPIPE) return kExitBrokenPipe;  // not tied: no job
  if (write_errno != 0) {
    ReportOwnFailure(session, absl::StrCat("cannot write the output: ",
                                           strerror(write_errno)));
    return std::nullopt;
  }
  if (!followed.status.ok()) {
    ReportFollowFailure(session, followed.status, job_id,
                        /*job_runs_on=*/true);
    return std::nullopt;
  }
  Reply<v1::ProcessStatus> final_status = CallWithReconnect(
      session, [&] { return CallGetStatus(session, job_id); });
  if (!final_status.ok()) {
    ReportFollowFailure(session, final_status.status, job_id);
    return std::nullopt;
  }
  return EndedJobExit(session, final_status.value);
}

v1::RunProcessRequest RunRequest(const RunOptions& options) {
  v1::RunProcessRequest request;
  request.set_command(options.program);
  for (const std::string& arg : options.args) request.add_args(arg);
  request.set_run_as(options.run_as);
  request.set_working_dir(options.working_dir);
  for (const auto& [key, value] : options.env) {
    (*request.mutable_env())[key] = value;
  }
  *request.mutable_limits() = options.limits.limits;
  if (options.limits.timeout.has_value()) {
    *request.mutable_timeout() = ToProtoDuration(*options.limits.timeout);
  }
  return request;
}

}  // namespace

int RunJob(Session& session, const RunOptions& options) {
  if (options.tie != nullptr) options.tie->Starting(session);
  Reply<v1::RunProcessResponse> started =
      CallRunProcess(session, RunRequest(options));
  if (options.tie != nullptr) {
    options.tie->Started(started.ok() ? started.value.job_id() : "");
  }
  if (!started.ok()) {
    const int code = ReportRpc(started.status, session, "");
    if (!options.wait) return code;
    // As a shell: 127 for a program that does not exist, 126 for one that
    // cannot be executed.
    return ShellExitForStartFailure(started.status).value_or(code);
  }
  const std::string& job_id = started.value.job_id();
  if (!options.wait) {
    return PrintStdout(job_id + "\n") ? kExitOk : kExitServerError;
  }
  return AwaitJobExit(session, job_id, OutputPosition::FromStart(),
                      /*print=*/true, options.tie)
      .value_or(session.failure_exit);
}

int WaitJobs(Session& session, const std::vector<std::string>& id_arguments) {
  ResolvedIds resolved = ResolveJobIds(session, id_arguments);
  if (resolved.failure) return Report(*resolved.failure);
  int exit_code = kExitOk;
  for (const std::string& job_id : resolved.ids) {
    Reply<v1::ProcessStatus> status = CallWithReconnect(
        session, [&] { return CallGetStatus(session, job_id); });
    if (!status.ok()) {
      ReportFollowFailure(session, status.status, job_id);
      return session.failure_exit;
    }
    std::optional<int> code;
    if (status.value.state() == v1::JOB_STATE_RUNNING) {
      // Nothing old: only the end of the output matters here.
      code = AwaitJobExit(session, job_id,
                          OutputPosition::At(status.value.stdout_bytes(),
                                             status.value.stderr_bytes()),
                          /*print=*/false, nullptr);
    } else {
      code = EndedJobExit(session, status.value);
    }
    if (!code.has_value()) return session.failure_exit;
    exit_code = *code;
  }
  return exit_code;
}

}  // namespace cmdctl::cli

// run and wait: the commands whose exit status is a job's (SPEC §7). Their
// own failures exit with the session's failure status (255), so that 1-254
// always mean the job.
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "cli/calls.h"
#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/format.h"
#include "cli/job_ids.h"
#include "common/file_util.h"

namespace cmdctl::cli {
namespace {

namespace v1 = ::cmdctl::v1;

// Follows the job until it has ended and returns its exit status
// (WaitExitCode), or nullopt after reporting a failure of cmdctl's own.
// `print`: its stdout to our stdout and its stderr to our stderr (run
// --wait); otherwise the output is read and dropped (wait). `tie` (may be
// null): the job is tied to this process (job_tie.h).
std::optional<int> AwaitJobExit(Session& session, const std::string& job_id,
                                bool print, JobTie* tie) {
  int write_errno = 0;
  // TODO(lead): once ProcessOutputRequest has stdout_offset/stderr_offset,
  // `wait` starts at the current ends and receives no old output at all.
  grpc::Status streamed = StreamOutput(
      session, job_id, /*follow=*/true,
      [&](v1::OutputStream stream, absl::string_view data) {
        if (!print) return true;
        const int fd =
            stream == v1::OUTPUT_STREAM_STDERR ? STDERR_FILENO : STDOUT_FILENO;
        if (WriteAll(fd, data)) return true;
        write_errno = errno;
        // Our reader went away (`| head`): the job is tied to us.
        if (write_errno == EPIPE && tie != nullptr) tie->StopForClosedOutput();
        return false;
      });
  if (tie != nullptr) tie->OutputEnded();  // dies here if a signal came
  if (write_errno == EPIPE) return kExitBrokenPipe;  // not tied: no job
  if (write_errno != 0) {
    ReportOwnFailure(session, absl::StrCat("cannot write the output: ",
                                           strerror(write_errno)));
    return std::nullopt;
  }
  if (!streamed.ok()) {
    ReportRpc(streamed, session, job_id);
    return std::nullopt;
  }
  Reply<v1::ProcessStatus> final_status = CallGetStatus(session, job_id);
  if (!final_status.ok()) {
    ReportRpc(final_status.status, session, job_id);
    return std::nullopt;
  }
  std::optional<int> code = WaitExitCode(final_status.value);
  if (code.has_value()) return code;
  if (final_status.value.state() == v1::JOB_STATE_LOST) {
    ReportOwnFailure(session, absl::StrCat("job ", job_id,
                                           " was lost: the server cannot know "
                                           "how it ended (did the host reboot "
                                           "while it ran?)"));
  } else {
    ReportOwnFailure(session,
                     absl::StrCat("the output of job ", job_id,
                                  " ended but the job is still ",
                                  StateWord(final_status.value.state()),
                                  " (was cmdctld shut down?)"));
  }
  return std::nullopt;
}

}  // namespace

int RunJob(Session& session, const RunOptions& options) {
  v1::RunProcessRequest request;
  request.set_command(options.program);
  for (const std::string& arg : options.args) request.add_args(arg);
  request.set_run_as(options.run_as);
  request.set_working_dir(options.working_dir);
  for (const auto& [key, value] : options.env) {
    (*request.mutable_env())[key] = value;
  }
  // TODO(lead): limits and timeout (--memory, --cpus, --pids-limit,
  // --io-read-bps, --io-write-bps, --timeout) go into the request here.
  if (options.tie != nullptr) options.tie->Starting(session);
  Reply<v1::RunProcessResponse> started = CallRunProcess(session, request);
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
  return AwaitJobExit(session, job_id, /*print=*/true, options.tie)
      .value_or(session.failure_exit);
}

int WaitJobs(Session& session, const std::vector<std::string>& id_arguments) {
  ResolvedIds resolved = ResolveJobIds(session, id_arguments);
  if (resolved.failure) return Report(*resolved.failure);
  int exit_code = kExitOk;
  for (const std::string& job_id : resolved.ids) {
    std::optional<int> code =
        AwaitJobExit(session, job_id, /*print=*/false, nullptr);
    if (!code.has_value()) return session.failure_exit;
    exit_code = *code;
  }
  return exit_code;
}

}  // namespace cmdctl::cli

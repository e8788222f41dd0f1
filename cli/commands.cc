#include "cli/commands.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "cli/duration.h"
#include "cli/exit_codes.h"
#include "cli/format.h"
#include "grpcpp/client_context.h"

namespace cmdctl::cli {
namespace {

namespace v1 = ::cmdctl::v1;

// Unary calls answer at once; this only guards against a hung server.
constexpr absl::Duration kCallTimeout = absl::Seconds(30);

void SetTimeout(grpc::ClientContext& context, absl::Duration timeout) {
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
}

int Report(const Failure& failure) {
  WriteAll(STDERR_FILENO, failure.message + "\n");
  return failure.exit_code;
}

int ReportRpc(const grpc::Status& status, const Session& session,
              const std::string& job_id) {
  return Report(FailureFromRpc(
      status, CallContext{session.server, job_id, /*connected=*/true}));
}

bool PrintStdout(std::string_view text) {
  return WriteAll(STDOUT_FILENO, text);
}

// --- run --wait: Ctrl-C detaches and says how to stop the job. ---
char g_detach_message[256];
size_t g_detach_message_len = 0;

extern "C" void OnInterruptWhileWaiting(int) {
  // Only async-signal-safe calls here.
  ssize_t ignored =
      write(STDERR_FILENO, g_detach_message, g_detach_message_len);
  (void)ignored;
  _exit(128 + SIGINT);
}

void DetachOnInterrupt(const std::string& job_id) {
  const std::string message =
      absl::StrCat("\ncmdctl: detached; job ", job_id,
                   " keeps running (cmdctl stop ", job_id, ")\n");
  g_detach_message_len = std::min(message.size(), sizeof(g_detach_message));
  memcpy(g_detach_message, message.data(), g_detach_message_len);
  struct sigaction action {};
  action.sa_handler = &OnInterruptWhileWaiting;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
}

// Streams the job's output: stdout to stdout, stderr to stderr. 0 when the
// stream ended normally; otherwise the exit status, already reported.
int StreamOutput(Session& session, const std::string& job_id, bool follow) {
  v1::ProcessOutputRequest request;
  request.set_job_id(job_id);
  request.set_snapshot(!follow);
  grpc::ClientContext context;
  std::unique_ptr<grpc::ClientReader<v1::ProcessOutputResponse>> reader =
      session.stub->GetProcessOutput(&context, request);
  v1::ProcessOutputResponse chunk;
  while (reader->Read(&chunk)) {
    const int fd = chunk.stream() == v1::OUTPUT_STREAM_STDERR ? STDERR_FILENO
                                                              : STDOUT_FILENO;
    if (!WriteAll(fd, chunk.data())) {
      const int saved = errno;
      context.TryCancel();
      reader->Finish();
      if (saved == EPIPE) return kExitBrokenPipe;
      return Report(Failure{
          kExitServerError,
          absl::StrCat("cmdctl: cannot write the output: ", strerror(saved))});
    }
  }
  grpc::Status status = reader->Finish();
  if (!status.ok()) return ReportRpc(status, session, job_id);
  return kExitOk;
}

absl::StatusOr<v1::ProcessStatus> FetchStatus(Session& session,
                                              const std::string& job_id,
                                              grpc::Status* rpc_status) {
  v1::ProcessStatusRequest request;
  request.set_job_id(job_id);
  v1::ProcessStatusResponse response;
  grpc::ClientContext context;
  SetTimeout(context, kCallTimeout);
  *rpc_status = session.stub->GetProcessStatus(&context, request, &response);
  if (!rpc_status->ok()) return absl::UnknownError("rpc failed");
  return response.status();
}

}  // namespace

bool WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

int RunJob(Session& session, const RunOptions& options) {
  v1::RunProcessRequest request;
  request.set_command(options.program);
  for (const std::string& arg : options.args) request.add_args(arg);
  request.set_run_as(options.run_as);
  request.set_working_dir(options.working_dir);
  for (const auto& [key, value] : options.env) {
    (*request.mutable_env())[key] = value;
  }
  v1::RunProcessResponse response;
  {
    grpc::ClientContext context;
    SetTimeout(context, kCallTimeout);
    grpc::Status status =
        session.stub->RunProcess(&context, request, &response);
    if (!status.ok()) return ReportRpc(status, session, "");
  }
  const std::string& job_id = response.job_id();
  if (!options.wait) {
    return PrintStdout(job_id + "\n") ? kExitOk : kExitServerError;
  }
  DetachOnInterrupt(job_id);
  const int streamed = StreamOutput(session, job_id, /*follow=*/true);
  if (streamed != kExitOk) return streamed;
  grpc::Status rpc_status;
  absl::StatusOr<v1::ProcessStatus> final_status =
      FetchStatus(session, job_id, &rpc_status);
  if (!final_status.ok()) return ReportRpc(rpc_status, session, job_id);
  std::optional<int> code = WaitExitCode(*final_status);
  if (!code.has_value()) {
    return Report(Failure{kExitServerError,
                          absl::StrCat("cmdctl: the output of job ", job_id,
                                       " ended but the job is still ",
                                       StateWord(final_status->state()),
                                       " (was cmdctld shut down?)")});
  }
  return *code;
}

int GetOutput(Session& session, const std::string& job_id, bool follow) {
  return StreamOutput(session, job_id, follow);
}

int GetStatus(Session& session, const std::string& job_id,
              OutputFormat format) {
  grpc::Status rpc_status;
  absl::StatusOr<v1::ProcessStatus> status =
      FetchStatus(session, job_id, &rpc_status);
  if (!status.ok()) return ReportRpc(rpc_status, session, job_id);
  std::string text;
  if (format == OutputFormat::kJson) {
    absl::StatusOr<std::string> json = FormatJson(*status);
    if (!json.ok()) {
      return Report(Failure{kExitServerError,
                            absl::StrCat("cmdctl: ", json.status().message())});
    }
    text = *std::move(json);
  } else {
    text = FormatStatusText(*status, absl::Now(), absl::LocalTimeZone());
  }
  return PrintStdout(text) ? kExitOk : kExitServerError;
}

int StopJob(Session& session, const std::string& job_id,
            std::optional<absl::Duration> grace) {
  v1::StopProcessRequest request;
  request.set_job_id(job_id);
  if (grace.has_value()) {
    *request.mutable_grace_period() = ToProtoDuration(*grace);
  }
  v1::StopProcessResponse response;
  grpc::ClientContext context;
  // StopProcess returns once the whole tree is gone: up to the grace period
  // and then the SIGKILL. With --grace that bounds the call. Without it the
  // server's --stop_grace applies, which cmdctl cannot know (it may be
  // minutes), so the call has no deadline: a server that went away is
  // noticed by the channel's keepalive (connection.cc), and Ctrl-C ends
  // cmdctl as usual. docs/CLI.md says so.
  if (grace.has_value()) SetTimeout(context, *grace + kCallTimeout);
  grpc::Status status = session.stub->StopProcess(&context, request, &response);
  if (!status.ok()) return ReportRpc(status, session, job_id);
  const std::string line =
      absl::StrCat("job ", response.status().job_id(), ": ",
                   DescribeState(response.status()), "\n");
  return PrintStdout(line) ? kExitOk : kExitServerError;
}

int ListJobs(Session& session, OutputFormat format) {
  v1::ListProcessesRequest request;
  v1::ListProcessesResponse response;
  grpc::ClientContext context;
  SetTimeout(context, kCallTimeout);
  grpc::Status status =
      session.stub->ListProcesses(&context, request, &response);
  if (!status.ok()) return ReportRpc(status, session, "");
  std::string text;
  if (format == OutputFormat::kJson) {
    absl::StatusOr<std::string> json = FormatJson(response);
    if (!json.ok()) {
      return Report(Failure{kExitServerError,
                            absl::StrCat("cmdctl: ", json.status().message())});
    }
    text = *std::move(json);
  } else {
    text = FormatJobTable(
        {response.processes().begin(), response.processes().end()},
        absl::LocalTimeZone());
  }
  return PrintStdout(text) ? kExitOk : kExitServerError;
}

}  // namespace cmdctl::cli

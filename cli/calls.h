// The unary calls cmdctl makes, each with its deadline policy, and the
// output stream. Commands (commands.h) compose them; nothing here prints.
#ifndef CMDCTL_CLI_CALLS_H_
#define CMDCTL_CLI_CALLS_H_

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "cli/session.h"
#include "cmdctl/v1/cmdctl.pb.h"
#include "grpcpp/support/status.h"

namespace cmdctl::cli {

// A call's answer: `value` is meaningful when `status` is OK.
template <typename T>
struct Reply {
  grpc::Status status;
  T value{};
  bool ok() const { return status.ok(); }
};

Reply<cmdctl::v1::RunProcessResponse> CallRunProcess(
    Session& session, const cmdctl::v1::RunProcessRequest& request);

Reply<cmdctl::v1::ProcessStatus> CallGetStatus(Session& session,
                                               const std::string& job_id);

// Starts StopProcess for `job_id` and returns at once; `done` runs on a
// gRPC thread with the reply. Deadline as for CallStopProcesses.
void StartStopProcess(
    Session& session, const std::string& job_id,
    std::optional<absl::Duration> grace,
    std::function<void(Reply<cmdctl::v1::ProcessStatus>)> done);

// Stops every job of `job_ids` at once (the calls run concurrently, so N
// jobs that ignore SIGTERM take one grace period, not N) and returns the
// replies in the same order. Unset `grace`: the server's --stop_grace, which
// cmdctl cannot know, so the calls have no deadline (the channel's keepalive
// notices a server that went away; docs/CLI.md); otherwise grace + 30 s.
std::vector<Reply<cmdctl::v1::ProcessStatus>> CallStopProcesses(
    Session& session, const std::vector<std::string>& job_ids,
    std::optional<absl::Duration> grace);

// The caller's jobs: every page, in the order the server sends them. (The
// server sends all in one response today; when ListProcesses pages, this is
// where the pages are followed.)
Reply<std::vector<cmdctl::v1::ProcessStatus>> CallListProcesses(
    Session& session);

// Receives one piece of output; false stops the stream (the sink has
// reported why: the stream then ends with CANCELLED).
using OutputSink = std::function<bool(cmdctl::v1::OutputStream stream,
                                      absl::string_view data)>;

// Streams the job's output from the first byte into `sink` until it ends
// (`follow`: when the job has ended and everything was sent; otherwise what
// is stored now). The stream's final status.
grpc::Status StreamOutput(Session& session, const std::string& job_id,
                          bool follow, const OutputSink& sink);

}  // namespace cmdctl::cli

#endif  // CMDCTL_CLI_CALLS_H_

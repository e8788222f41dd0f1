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
#include "cli/reconnect.h"
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

// Stops every job of `job_ids` at once (the calls run concurrently, so N
// jobs that ignore SIGTERM take one grace period, not N) and returns the
// replies in the same order. Unset `grace`: the server's --stop_grace, which
// cmdctl cannot know, so the calls have no deadline (the channel's keepalive
// notices a server that went away; docs/CLI.md); otherwise grace + 30 s.
std::vector<Reply<cmdctl::v1::ProcessStatus>> CallStopProcesses(
    Session& session, const std::vector<std::string>& job_ids,
    std::optional<absl::Duration> grace);

// One page of the caller's jobs.
Reply<cmdctl::v1::ListProcessesResponse> CallListPage(
    Session& session, const cmdctl::v1::ListProcessesRequest& request);

// The caller's jobs matching `request` (its state and job_id_prefix): every
// page from `request`'s page_token on, in the order the server sends them
// (newest first). Pages of `request`'s page_size (0: the server's, 100).
Reply<std::vector<cmdctl::v1::ProcessStatus>> CallListProcesses(
    Session& session, cmdctl::v1::ListProcessesRequest request = {});

Reply<cmdctl::v1::RemoveProcessResponse> CallRemoveProcess(
    Session& session, const std::string& job_id);

// Receives one message of the output stream; false stops the stream (the
// sink has reported why: the stream then ends with CANCELLED).
using MessageSink =
    std::function<bool(const cmdctl::v1::ProcessOutputResponse& message)>;

// One GetProcessOutput call: its messages into `sink` until it ends. The
// stream's final status. (output_follow.h resumes it after a lost
// connection.)
grpc::Status StreamOutput(Session& session,
                          const cmdctl::v1::ProcessOutputRequest& request,
                          const MessageSink& sink);

// `call` (returning a Reply), made again while it fails with a lost
// connection, for as long as reconnect.h allows. An UNAVAILABLE reply means
// reconnecting gave up.
template <typename Call>
auto CallWithReconnect(Session& session, Call call) -> decltype(call());

template <typename Call>
auto CallWithReconnect(Session& session, Call call) -> decltype(call()) {
  Reconnect reconnect(session);
  for (;;) {
    auto reply = call();
    if (reply.ok() || !reconnect.ShouldRetry(reply.status)) return reply;
  }
}

}  // namespace cmdctl::cli

#endif  // CMDCTL_CLI_CALLS_H_

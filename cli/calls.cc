#include "cli/calls.h"

#include <memory>
#include <utility>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "cli/duration.h"
#include "grpcpp/client_context.h"

namespace cmdctl::cli {
namespace {

namespace v1 = ::cmdctl::v1;

// Unary calls answer at once; this only guards against a hung server.
constexpr absl::Duration kCallTimeout = absl::Seconds(30);

void SetTimeout(grpc::ClientContext& context, absl::Duration timeout) {
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
}

// One StopProcess in flight: what the callback API needs alive until done.
struct StopCall {
  grpc::ClientContext context;
  v1::StopProcessRequest request;
  v1::StopProcessResponse response;
  std::function<void(Reply<v1::ProcessStatus>)> done;
};

// Starts StopProcess for `job_id` and returns at once; `done` runs on a
// gRPC thread with the reply.
void StartStopProcess(Session& session, const std::string& job_id,
                      std::optional<absl::Duration> grace,
                      std::function<void(Reply<v1::ProcessStatus>)> done) {
  auto* call = new StopCall;
  call->request.set_job_id(job_id);
  call->done = std::move(done);
  // StopProcess returns once the whole tree is gone: up to the grace period
  // and then the SIGKILL. With a grace that bounds the call. Without one
  // the server's --stop_grace applies, which cmdctl cannot know (it may be
  // minutes), so the call has no deadline: a server that went away is
  // noticed by the channel's keepalive (connection.cc).
  if (grace.has_value()) {
    *call->request.mutable_grace_period() = ToProtoDuration(*grace);
    SetTimeout(call->context, *grace + kCallTimeout);
  }
  session.stub->async()->StopProcess(
      &call->context, &call->request, &call->response,
      [call](grpc::Status status) {
        std::unique_ptr<StopCall> owned(call);
        Reply<v1::ProcessStatus> reply{std::move(status)};
        if (reply.ok())
          reply.value = std::move(*owned->response.mutable_status());
        owned->done(std::move(reply));
      });
}

}  // namespace

Reply<v1::RunProcessResponse> CallRunProcess(
    Session& session, const v1::RunProcessRequest& request) {
  Reply<v1::RunProcessResponse> reply;
  grpc::ClientContext context;
  SetTimeout(context, kCallTimeout);
  reply.status = session.stub->RunProcess(&context, request, &reply.value);
  return reply;
}

Reply<v1::ProcessStatus> CallGetStatus(Session& session,
                                       const std::string& job_id) {
  v1::ProcessStatusRequest request;
  request.set_job_id(job_id);
  v1::ProcessStatusResponse response;
  grpc::ClientContext context;
  SetTimeout(context, kCallTimeout);
  Reply<v1::ProcessStatus> reply;
  reply.status = session.stub->GetProcessStatus(&context, request, &response);
  if (reply.ok()) reply.value = std::move(*response.mutable_status());
  return reply;
}

std::vector<Reply<v1::ProcessStatus>> CallStopProcesses(
    Session& session, const std::vector<std::string>& job_ids,
    std::optional<absl::Duration> grace) {
  std::vector<Reply<v1::ProcessStatus>> replies(job_ids.size());
  absl::Mutex mu;
  size_t pending = job_ids.size();
  for (size_t i = 0; i < job_ids.size(); ++i) {
    StartStopProcess(session, job_ids[i], grace,
                     [&, i](Reply<v1::ProcessStatus> reply) {
                       absl::MutexLock lock(&mu);
                       replies[i] = std::move(reply);
                       --pending;
                     });
  }
  absl::MutexLock lock(&mu);
  mu.Await(absl::Condition(
      +[](size_t* n) { return *n == 0; }, &pending));
  return replies;
}

Reply<v1::ListProcessesResponse> CallListPage(
    Session& session, const v1::ListProcessesRequest& request) {
  grpc::ClientContext context;
  SetTimeout(context, kCallTimeout);
  Reply<v1::ListProcessesResponse> reply;
  reply.status = session.stub->ListProcesses(&context, request, &reply.value);
  return reply;
}

Reply<std::vector<v1::ProcessStatus>> CallListProcesses(
    Session& session, v1::ListProcessesRequest request) {
  Reply<std::vector<v1::ProcessStatus>> all;
  for (;;) {
    Reply<v1::ListProcessesResponse> page = CallListPage(session, request);
    if (!page.ok()) return {page.status};
    for (v1::ProcessStatus& job : *page.value.mutable_processes()) {
      all.value.push_back(std::move(job));
    }
    if (page.value.next_page_token().empty()) return all;
    request.set_page_token(page.value.next_page_token());
  }
}

Reply<v1::RemoveProcessResponse> CallRemoveProcess(Session& session,
                                                   const std::string& job_id) {
  v1::RemoveProcessRequest request;
  request.set_job_id(job_id);
  grpc::ClientContext context;
  SetTimeout(context, kCallTimeout);
  Reply<v1::RemoveProcessResponse> reply;
  reply.status = session.stub->RemoveProcess(&context, request, &reply.value);
  return reply;
}

grpc::Status StreamOutput(Session& session,
                          const v1::ProcessOutputRequest& request,
                          const MessageSink& sink) {
  grpc::ClientContext context;
  std::unique_ptr<grpc::ClientReader<v1::ProcessOutputResponse>> reader =
      session.stub->GetProcessOutput(&context, request);
  v1::ProcessOutputResponse message;
  while (reader->Read(&message)) {
    if (!sink(message)) {
      context.TryCancel();
      break;
    }
  }
  return reader->Finish();
}

}  // namespace cmdctl::cli

#include "rpc/process_service.h"

#include <glog/logging.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/string_view.h"
#include "domain/output_cursor.h"
#include "domain/uuid.h"
#include "rpc/peer_identity.h"
#include "rpc/proto_convert.h"
#include "rpc/status_mapping.h"

namespace cmdctl {
namespace {

constexpr char kShuttingDown[] = "server shutting down";

// One audit line per request. Client-supplied text is escaped so that a
// crafted id cannot forge log lines. A call refused before it has an
// identity says why (for a refused certificate: its subject, issuer and
// serial, from peer_identity).
void Audit(absl::string_view identity, absl::string_view method,
           absl::string_view job_id, const grpc::Status& result,
           absl::string_view detail = "") {
  std::string reason;
  if (identity.empty() && !result.ok()) {
    reason = absl::StrCat(" reason=\"",
                          absl::CHexEscape(result.error_message()), "\"");
  }
  LOG(INFO) << "audit identity=\""
            << (identity.empty() ? "?" : absl::CHexEscape(identity))
            << "\" method=" << method << " job_id=\""
            << absl::CHexEscape(job_id) << "\" result="
            << absl::StatusCodeToString(
                   static_cast<absl::StatusCode>(result.error_code()))
            << (detail.empty() ? "" : " ") << detail << reason;
}

absl::Status ValidateJobId(const std::string& job_id) {
  if (job_id.empty()) return absl::InvalidArgumentError("job_id is empty");
  if (!IsUuidV4(job_id)) {
    return absl::InvalidArgumentError(
        "job_id is not a job id (a lower-case UUID)");
  }
  return absl::OkStatus();
}

void FinishUnary(grpc::ServerUnaryReactor* reactor, absl::string_view identity,
                 absl::string_view method, absl::string_view job_id,
                 const absl::Status& status, absl::string_view detail = "") {
  grpc::Status result = ToGrpcStatus(status);
  Audit(identity, method, job_id, result, detail);
  reactor->Finish(std::move(result));
}

}  // namespace

absl::StatusOr<Caller> CallerFromTlsPeer(
    const grpc::CallbackServerContext& context) {
  std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  if (auth == nullptr) {
    return absl::UnauthenticatedError("no verified client certificate");
  }
  return CallerFromAuthContext(*auth);
}

// One GetProcessOutput call.
//
// Threads: gRPC's (OnWriteDone, OnCancel, OnDone), the host thread that
// delivers a job change (the wake), and the shutdown thread. All state is
// guarded by shared_->mu; StartWrite and Finish are called after it is
// released. write_in_flight_ keeps one write in flight and leaves response_
// to gRPC until OnWriteDone; finished_ makes Finish happen exactly once, and
// only when no write is in flight.
//
// The wake registered with the cursor holds only `shared_`, never the
// reactor: OnDone clears shared_->reactor under the mutex, so a wake that
// arrives after the call is over does nothing. The reactor is deleted only
// in OnDone.
class OutputReactor final
    : public grpc::ServerWriteReactor<v1::ProcessOutputResponse> {
 public:
  OutputReactor(ProcessServiceImpl* service, std::string identity,
                std::string job_id)
      : service_(service),
        identity_(std::move(identity)),
        job_id_(std::move(job_id)),
        shared_(std::make_shared<Shared>()) {
    shared_->reactor = this;
  }

  // Ends a call that never started streaming.
  void FinishNow(const absl::Status& status) {
    {
      absl::MutexLock lock(&shared_->mu);
      finished_ = true;
      final_status_ = ToGrpcStatus(status);
    }
    Execute(Action::kFinish);
  }

  // Starts streaming from `cursor`. Called with the service's mutex held
  // (so shutdown cannot interleave); does not block.
  void Start(std::unique_ptr<OutputCursor> cursor) {
    Action action;
    {
      absl::MutexLock lock(&shared_->mu);
      cursor_ = std::move(cursor);
      action = PumpLocked();
    }
    Execute(action);
  }

  // Server shutdown: end with UNAVAILABLE once no write is in flight.
  void RequestShutdown() {
    Action action;
    {
      absl::MutexLock lock(&shared_->mu);
      if (!finish_request_.has_value()) {
        finish_request_ =
            grpc::Status(grpc::StatusCode::UNAVAILABLE, kShuttingDown);
      }
      action = PumpLocked();
    }
    Execute(action);
  }

  void OnWriteDone(bool ok) override {
    Action action;
    {
      absl::MutexLock lock(&shared_->mu);
      write_in_flight_ = false;
      if (!ok) cancelled_ = true;  // the stream is broken or cancelled
      action = PumpLocked();
    }
    Execute(action);
  }

  void OnCancel() override {
    Action action;
    {
      absl::MutexLock lock(&shared_->mu);
      cancelled_ = true;
      action = PumpLocked();
    }
    Execute(action);
  }

  void OnDone() override {
    service_->RemoveStream(this);  // a no-op if it never started
    {
      absl::MutexLock lock(&shared_->mu);
      shared_->reactor = nullptr;
      if (waiting_ && cursor_ != nullptr) cursor_->CancelWait();
      waiting_ = false;
    }
    delete this;
  }

 private:
  struct Shared {
    absl::Mutex mu;
    OutputReactor* reactor ABSL_GUARDED_BY(mu) = nullptr;
  };

  enum class Action { kNone, kWrite, kFinish };

  // Decides the next step. Never blocks: Next() reads what is there.
  Action PumpLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(shared_->mu) {
    if (finished_ || write_in_flight_) return Action::kNone;
    if (finish_request_.has_value()) return FinishLocked(*finish_request_);
    if (cancelled_) {
      return FinishLocked(
          grpc::Status(grpc::StatusCode::CANCELLED, "output stream cancelled"));
    }
    if (waiting_ || cursor_ == nullptr) return Action::kNone;
    for (;;) {
      absl::StatusOr<std::optional<OutputChunk>> next = cursor_->Next();
      if (!next.ok()) return FinishLocked(ToGrpcStatus(next.status()));
      if (next->has_value()) {
        OutputChunk& chunk = **next;
        bytes_sent_ += chunk.data.size();
        response_.set_stream(ToProto(chunk.stream));
        response_.set_offset(chunk.offset);
        response_.set_data(std::move(chunk.data));
        write_in_flight_ = true;
        return Action::kWrite;
      }
      if (cursor_->AtEnd()) return FinishLocked(grpc::Status::OK);
      std::shared_ptr<Shared> shared = shared_;
      if (cursor_->WaitForMore([shared] { Wake(shared); })) {
        waiting_ = true;
        return Action::kNone;
      }
      // Something changed since the last Next: read again.
    }
  }

  Action FinishLocked(grpc::Status status)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(shared_->mu) {
    finished_ = true;
    final_status_ = std::move(status);
    return Action::kFinish;
  }

  // Runs without the mutex. After Finish, `this` may be gone at any moment.
  void Execute(Action action) {
    switch (action) {
      case Action::kNone:
        return;
      case Action::kWrite:
        StartWrite(&response_);
        return;
      case Action::kFinish: {
        // final_status_ is no longer written once finished_ is set.
        grpc::Status status = final_status_;
        uint64_t bytes;
        {
          absl::MutexLock lock(&shared_->mu);
          bytes = bytes_sent_;
        }
        Audit(identity_, "GetProcessOutput", job_id_, status,
              absl::StrCat("bytes=", bytes));
        Finish(std::move(status));
        return;
      }
    }
  }

  // Called once on a host thread when the job's output or state changed.
  static void Wake(const std::shared_ptr<Shared>& shared) {
    OutputReactor* reactor;
    Action action;
    {
      absl::MutexLock lock(&shared->mu);
      reactor = shared->reactor;
      if (reactor == nullptr) return;     // the call is over
      reactor->shared_->mu.AssertHeld();  // the same mutex, for the analysis
      reactor->waiting_ = false;
      action = reactor->PumpLocked();
    }
    // The reactor lives until OnDone, which needs our Finish first.
    reactor->Execute(action);
  }

  ProcessServiceImpl* const service_;
  const std::string identity_;
  const std::string job_id_;
  const std::shared_ptr<Shared> shared_;

  std::unique_ptr<OutputCursor> cursor_ ABSL_GUARDED_BY(shared_->mu);
  // Owned by gRPC while write_in_flight_.
  v1::ProcessOutputResponse response_;
  bool write_in_flight_ ABSL_GUARDED_BY(shared_->mu) = false;
  bool waiting_ ABSL_GUARDED_BY(shared_->mu) = false;
  bool cancelled_ ABSL_GUARDED_BY(shared_->mu) = false;
  bool finished_ ABSL_GUARDED_BY(shared_->mu) = false;
  std::optional<grpc::Status> finish_request_ ABSL_GUARDED_BY(shared_->mu);
  grpc::Status final_status_;  // written once, under the mutex
  uint64_t bytes_sent_ ABSL_GUARDED_BY(shared_->mu) = 0;
};

// StopProcess calls waiting for their job to end. A call is finished by
// whoever takes it out of `calls` first: the job's end, or
// AbortPendingStops.
struct ProcessServiceImpl::PendingStops {
  struct Call {
    grpc::ServerUnaryReactor* reactor;
    v1::StopProcessResponse* response;
    std::string identity;
    std::string job_id;
  };
  absl::Mutex mu;
  uint64_t next_id ABSL_GUARDED_BY(mu) = 0;
  absl::flat_hash_map<uint64_t, Call> calls ABSL_GUARDED_BY(mu);

  uint64_t Add(Call call) {
    absl::MutexLock lock(&mu);
    const uint64_t id = next_id++;
    calls.emplace(id, std::move(call));
    return id;
  }
  std::optional<Call> Take(uint64_t id) {
    absl::MutexLock lock(&mu);
    auto it = calls.find(id);
    if (it == calls.end()) return std::nullopt;
    Call call = std::move(it->second);
    calls.erase(it);
    return call;
  }
};

ProcessServiceImpl::ProcessServiceImpl(JobManager* jobs,
                                       CallerResolver resolve_caller)
    : jobs_(jobs),
      resolve_caller_(std::move(resolve_caller)),
      pending_stops_(std::make_shared<PendingStops>()) {}

void ProcessServiceImpl::AbortPendingStops() {
  absl::flat_hash_map<uint64_t, PendingStops::Call> calls;
  {
    absl::MutexLock lock(&pending_stops_->mu);
    calls.swap(pending_stops_->calls);
  }
  for (auto& [id, call] : calls) {
    FinishUnary(
        call.reactor, call.identity, "StopProcess", call.job_id,
        absl::UnavailableError("server shutting down before the job ended"));
  }
}

ProcessServiceImpl::~ProcessServiceImpl() {
  absl::MutexLock lock(&mu_);
  CHECK(streams_.empty()) << "ProcessServiceImpl destroyed with "
                          << streams_.size() << " open output streams";
}

absl::StatusOr<Caller> ProcessServiceImpl::Admit(
    const grpc::CallbackServerContext& context) const {
  {
    absl::MutexLock lock(&mu_);
    if (shutting_down_) return absl::UnavailableError(kShuttingDown);
  }
  return resolve_caller_(context);
}

bool ProcessServiceImpl::StartStream(OutputReactor* reactor,
                                     std::unique_ptr<OutputCursor> cursor) {
  absl::MutexLock lock(&mu_);
  if (shutting_down_) return false;
  streams_.insert(reactor);
  // Under mu_, so BeginShutdown sees the stream either not at all or
  // started; the reactor cannot reach OnDone (which takes mu_) meanwhile.
  reactor->Start(std::move(cursor));
  return true;
}

void ProcessServiceImpl::RemoveStream(OutputReactor* reactor) {
  absl::MutexLock lock(&mu_);
  streams_.erase(reactor);
}

size_t ProcessServiceImpl::OpenStreams() const {
  absl::MutexLock lock(&mu_);
  return streams_.size();
}

bool ProcessServiceImpl::AwaitOpenStreamsAtMost(size_t n,
                                                absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  auto at_most_n = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return streams_.size() <= n;
  };
  return mu_.AwaitWithTimeout(absl::Condition(&at_most_n), timeout);
}

void ProcessServiceImpl::BeginShutdown() {
  absl::MutexLock lock(&mu_);
  shutting_down_ = true;
  // A reactor leaves streams_ (in OnDone) only after taking mu_, so each one
  // is alive while we ask it to finish. RequestShutdown does not block.
  for (OutputReactor* reactor : streams_) reactor->RequestShutdown();
}

grpc::ServerUnaryReactor* ProcessServiceImpl::RunProcess(
    grpc::CallbackServerContext* context, const v1::RunProcessRequest* request,
    v1::RunProcessResponse* response) {
  constexpr char kMethod[] = "RunProcess";
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<Caller> caller = Admit(*context);
  if (!caller.ok()) {
    FinishUnary(reactor, "", kMethod, "", caller.status());
    return reactor;
  }
  absl::StatusOr<RunRequest> run = FromProto(*request);
  absl::StatusOr<JobStatus> job =
      run.ok() ? jobs_->Run(*caller, *run) : run.status();
  const std::string detail =
      absl::StrCat("run_as=\"", absl::CHexEscape(request->run_as()),
                   "\" command=\"", absl::CHexEscape(request->command()), "\"");
  if (!job.ok()) {
    FinishUnary(reactor, caller->identity, kMethod, "", job.status(), detail);
    return reactor;
  }
  response->set_job_id(job->job_id);
  ToProto(*job, response->mutable_status());
  FinishUnary(reactor, caller->identity, kMethod, job->job_id, absl::OkStatus(),
              detail);
  return reactor;
}

grpc::ServerUnaryReactor* ProcessServiceImpl::StopProcess(
    grpc::CallbackServerContext* context, const v1::StopProcessRequest* request,
    v1::StopProcessResponse* response) {
  constexpr char kMethod[] = "StopProcess";
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const std::string& job_id = request->job_id();
  absl::StatusOr<Caller> caller = Admit(*context);
  if (!caller.ok()) {
    FinishUnary(reactor, "", kMethod, job_id, caller.status());
    return reactor;
  }
  absl::Status valid = ValidateJobId(job_id);
  absl::StatusOr<std::optional<absl::Duration>> grace =
      GraceFromProto(*request);
  if (valid.ok() && !grace.ok()) valid = grace.status();
  if (!valid.ok()) {
    FinishUnary(reactor, caller->identity, kMethod, job_id, valid);
    return reactor;
  }
  // Finishes from the thread that sees the job end (or at once), unless
  // AbortPendingStops got there first.
  const uint64_t id = pending_stops_->Add(
      PendingStops::Call{reactor, response, caller->identity, job_id});
  jobs_->Stop(caller->identity, job_id, *grace,
              [pending = pending_stops_, id](absl::StatusOr<JobStatus> result) {
                std::optional<PendingStops::Call> call = pending->Take(id);
                if (!call.has_value()) return;  // already answered
                if (result.ok()) {
                  ToProto(*result, call->response->mutable_status());
                }
                FinishUnary(call->reactor, call->identity, "StopProcess",
                            call->job_id, result.status());
              });
  return reactor;
}

grpc::ServerUnaryReactor* ProcessServiceImpl::GetProcessStatus(
    grpc::CallbackServerContext* context,
    const v1::ProcessStatusRequest* request,
    v1::ProcessStatusResponse* response) {
  constexpr char kMethod[] = "GetProcessStatus";
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const std::string& job_id = request->job_id();
  absl::StatusOr<Caller> caller = Admit(*context);
  if (!caller.ok()) {
    FinishUnary(reactor, "", kMethod, job_id, caller.status());
    return reactor;
  }
  absl::Status valid = ValidateJobId(job_id);
  if (!valid.ok()) {
    FinishUnary(reactor, caller->identity, kMethod, job_id, valid);
    return reactor;
  }
  absl::StatusOr<JobStatus> job = jobs_->GetStatus(caller->identity, job_id);
  if (job.ok()) ToProto(*job, response->mutable_status());
  FinishUnary(reactor, caller->identity, kMethod, job_id, job.status());
  return reactor;
}

grpc::ServerUnaryReactor* ProcessServiceImpl::ListProcesses(
    grpc::CallbackServerContext* context,
    const v1::ListProcessesRequest* request,
    v1::ListProcessesResponse* response) {
  constexpr char kMethod[] = "ListProcesses";
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<Caller> caller = Admit(*context);
  if (!caller.ok()) {
    FinishUnary(reactor, "", kMethod, "", caller.status());
    return reactor;
  }
  absl::StatusOr<JobQuery> query = FromProto(*request, caller->identity);
  absl::StatusOr<StatusPage> page =
      query.ok() ? jobs_->List(*query) : query.status();
  if (page.ok()) {
    for (const JobStatus& job : page->jobs) {
      ToProto(job, response->add_processes());
    }
    response->set_next_page_token(page->next_page_token);
  }
  FinishUnary(reactor, caller->identity, kMethod, "", page.status(),
              absl::StrCat("count=", response->processes_size()));
  return reactor;
}

grpc::ServerUnaryReactor* ProcessServiceImpl::RemoveProcess(
    grpc::CallbackServerContext* context,
    const v1::RemoveProcessRequest* request,
    v1::RemoveProcessResponse* /*response*/) {
  constexpr char kMethod[] = "RemoveProcess";
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const std::string& job_id = request->job_id();
  absl::StatusOr<Caller> caller = Admit(*context);
  if (!caller.ok()) {
    FinishUnary(reactor, "", kMethod, job_id, caller.status());
    return reactor;
  }
  absl::Status status = ValidateJobId(job_id);
  if (status.ok()) status = jobs_->Remove(caller->identity, job_id);
  FinishUnary(reactor, caller->identity, kMethod, job_id, status);
  return reactor;
}

grpc::ServerWriteReactor<v1::ProcessOutputResponse>*
ProcessServiceImpl::GetProcessOutput(grpc::CallbackServerContext* context,
                                     const v1::ProcessOutputRequest* request) {
  const std::string& job_id = request->job_id();
  absl::StatusOr<Caller> caller = Admit(*context);
  if (!caller.ok()) {
    auto* reactor = new OutputReactor(this, "", job_id);
    reactor->FinishNow(caller.status());
    return reactor;
  }
  auto* reactor = new OutputReactor(this, caller->identity, job_id);
  absl::Status valid = ValidateJobId(job_id);
  if (!valid.ok()) {
    reactor->FinishNow(valid);
    return reactor;
  }
  absl::StatusOr<std::unique_ptr<OutputCursor>> cursor =
      jobs_->OpenOutput(caller->identity, job_id, FromProto(*request));
  if (!cursor.ok()) {
    reactor->FinishNow(cursor.status());
    return reactor;
  }
  if (!StartStream(reactor, *std::move(cursor))) {
    reactor->FinishNow(absl::UnavailableError(kShuttingDown));
  }
  return reactor;
}

}  // namespace cmdctl

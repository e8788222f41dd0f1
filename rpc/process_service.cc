#include "rpc/process_service.h"

#include <glog/logging.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "domain/uuid.h"
#include "rpc/output_reactor.h"
#include "rpc/proto_convert.h"

namespace cmdctl {
namespace {

constexpr char kShuttingDown[] = "server shutting down";

// Followers read on these threads after a notification (OutputPump). Each
// does one pread of at most a chunk per woken follower (the rest of a
// catch-up is read from OnWriteDone, on gRPC's threads), so two keep up with
// thousands of followers; a slow disk delays followers, never the host's
// loop.
constexpr int kReaderThreads = 2;

absl::Status ValidateJobId(const std::string& job_id) {
  if (job_id.empty()) return absl::InvalidArgumentError("job_id is empty");
  if (!IsUuidV4(job_id)) {
    return absl::InvalidArgumentError(
        "job_id is not a job id (a lower-case UUID)");
  }
  return absl::OkStatus();
}

AuditLine NewAuditLine(absl::string_view method,
                       const grpc::CallbackServerContext& context,
                       absl::string_view job_id = "") {
  AuditLine audit(method, context.peer());
  audit.set_job_id(job_id);
  return audit;
}

}  // namespace

ProcessServiceImpl::ProcessServiceImpl(JobManager* jobs,
                                       CallerResolver resolve_caller,
                                       StreamLimits stream_limits,
                                       OutputReadOptions output_reads)
    : jobs_(jobs),
      resolve_caller_(std::move(resolve_caller)),
      pending_stops_(std::make_shared<PendingStops>()),
      readers_(kReaderThreads),
      stream_limiter_(stream_limits),
      large_chunk_bytes_(output_reads.large_chunk_bytes),
      large_chunk_budget_(output_reads.large_chunk_budget) {}

ProcessServiceImpl::~ProcessServiceImpl() {
  absl::MutexLock lock(&mu_);
  CHECK(streams_.empty()) << "ProcessServiceImpl destroyed with "
                          << streams_.size() << " open output streams";
}

void ProcessServiceImpl::AbortPendingStops() {
  pending_stops_->AbortAll(
      absl::UnavailableError("server shutting down before the job ended"));
}

absl::StatusOr<Caller> ProcessServiceImpl::Admit(
    const grpc::CallbackServerContext& context, AuditLine* audit,
    const absl::Status& valid) const {
  {
    absl::MutexLock lock(&mu_);
    if (shutting_down_) return absl::UnavailableError(kShuttingDown);
  }
  absl::StatusOr<Caller> caller = resolve_caller_(context);
  if (!caller.ok()) {
    // Which certificate was refused, for the operator (escaped like every
    // logged value).
    audit->SetText("reason", caller.status().message());
    return caller.status();
  }
  audit->set_identity(caller->identity);
  if (!valid.ok()) return valid;
  return caller;
}

template <typename Body>
grpc::ServerUnaryReactor* ProcessServiceImpl::Unary(
    grpc::CallbackServerContext* context, AuditLine audit,
    const absl::Status& valid, Body body) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  UnaryCall call(reactor, std::move(audit));
  absl::StatusOr<Caller> caller = Admit(*context, &call.audit(), valid);
  if (!caller.ok()) {
    call.Finish(caller.status());
  } else {
    body(*caller, std::move(call));
  }
  return reactor;
}

void ProcessServiceImpl::StartStream(OutputReactor* reactor,
                                     std::unique_ptr<OutputCursor> cursor,
                                     StreamLimiter::Slot slot) {
  std::shared_ptr<OutputPump> pump;
  {
    absl::MutexLock lock(&mu_);
    if (!shutting_down_) {
      // The slot goes back when the reactor (holding this callback) is done.
      pump = reactor->MakePump(
          std::move(cursor), &readers_,
          [this, reactor, slot = std::move(slot)] { RemoveStream(reactor); });
      streams_.emplace(reactor, pump);
    }
  }
  if (pump == nullptr) {
    reactor->FinishNow(absl::UnavailableError(kShuttingDown));
    return;
  }
  // Without mu_: the first read and write take no lock of the service. The
  // shutdown guarantee holds all the same: the stream is in streams_, so a
  // BeginShutdown from now on tells its pump, which then ends the stream
  // rather than read (also if that comes before this Start).
  pump->Start();
}

void ProcessServiceImpl::RemoveStream(const OutputReactor* reactor) {
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
  std::vector<std::shared_ptr<OutputPump>> pumps;
  {
    absl::MutexLock lock(&mu_);
    shutting_down_ = true;
    pumps.reserve(streams_.size());
    for (const auto& [reactor, pump] : streams_) pumps.push_back(pump);
  }
  // Without mu_ (ending a stream logs and calls into gRPC). A stream that
  // has ended meanwhile ignores this: its pump is detached, and alive
  // because we hold it.
  for (const std::shared_ptr<OutputPump>& pump : pumps) pump->Shutdown();
}

grpc::ServerUnaryReactor* ProcessServiceImpl::RunProcess(
    grpc::CallbackServerContext* context, const v1::RunProcessRequest* request,
    v1::RunProcessResponse* response) {
  AuditLine audit = NewAuditLine("RunProcess", *context);
  // As asked (empty: the caller's default) until the job says whom it runs as.
  audit.SetText("run_as", request->run_as());
  audit.SetText("command", request->command());
  audit.SetTextList("args", request->args());
  return Unary(context, std::move(audit), absl::OkStatus(),
               [&](const Caller& caller, UnaryCall call) {
                 absl::StatusOr<RunRequest> run = FromProto(*request);
                 absl::StatusOr<JobStatus> job =
                     run.ok() ? jobs_->Run(caller, *run) : run.status();
                 if (job.ok()) {
                   call.audit().set_job_id(job->job_id);
                   call.audit().SetText("run_as", job->run_as);
                   response->set_job_id(job->job_id);
                   ToProto(*job, response->mutable_status());
                 }
                 call.Finish(job.status());
               });
}

grpc::ServerUnaryReactor* ProcessServiceImpl::StopProcess(
    grpc::CallbackServerContext* context, const v1::StopProcessRequest* request,
    v1::StopProcessResponse* response) {
  const std::string& job_id = request->job_id();
  absl::StatusOr<std::optional<absl::Duration>> grace =
      GraceFromProto(*request);
  absl::Status valid = ValidateJobId(job_id);
  if (valid.ok() && !grace.ok()) valid = grace.status();
  return Unary(context, NewAuditLine("StopProcess", *context, job_id), valid,
               [&](const Caller& caller, UnaryCall call) {
                 // Finishes from the thread that sees the job end (or at once),
                 // unless AbortPendingStops got there first.
                 const PendingStops::Id id =
                     pending_stops_->Add(std::move(call), response);
                 jobs_->Stop(caller.identity, job_id, *grace,
                             [pending = pending_stops_,
                              id](absl::StatusOr<JobStatus> result) {
                               pending->Complete(id, result);
                             });
               });
}

grpc::ServerUnaryReactor* ProcessServiceImpl::GetProcessStatus(
    grpc::CallbackServerContext* context,
    const v1::ProcessStatusRequest* request,
    v1::ProcessStatusResponse* response) {
  const std::string& job_id = request->job_id();
  return Unary(context, NewAuditLine("GetProcessStatus", *context, job_id),
               ValidateJobId(job_id),
               [&](const Caller& caller, UnaryCall call) {
                 absl::StatusOr<JobStatus> job =
                     jobs_->GetStatus(caller.identity, job_id);
                 if (job.ok()) ToProto(*job, response->mutable_status());
                 call.Finish(job.status());
               });
}

grpc::ServerUnaryReactor* ProcessServiceImpl::ListProcesses(
    grpc::CallbackServerContext* context,
    const v1::ListProcessesRequest* request,
    v1::ListProcessesResponse* response) {
  return Unary(context, NewAuditLine("ListProcesses", *context),
               absl::OkStatus(), [&](const Caller& caller, UnaryCall call) {
                 absl::StatusOr<JobQuery> query =
                     FromProto(*request, caller.identity);
                 absl::StatusOr<StatusPage> page =
                     query.ok() ? jobs_->List(*query) : query.status();
                 if (page.ok()) {
                   for (const JobStatus& job : page->jobs) {
                     ToProto(job, response->add_processes());
                   }
                   response->set_next_page_token(page->next_page_token);
                 }
                 call.audit().SetNumber("count", response->processes_size());
                 call.Finish(page.status());
               });
}

grpc::ServerUnaryReactor* ProcessServiceImpl::RemoveProcess(
    grpc::CallbackServerContext* context,
    const v1::RemoveProcessRequest* request,
    v1::RemoveProcessResponse* /*response*/) {
  const std::string& job_id = request->job_id();
  return Unary(context, NewAuditLine("RemoveProcess", *context, job_id),
               ValidateJobId(job_id),
               [&](const Caller& caller, UnaryCall call) {
                 call.Finish(jobs_->Remove(caller.identity, job_id));
               });
}

grpc::ServerWriteReactor<grpc::ByteBuffer>*
ProcessServiceImpl::GetProcessOutput(grpc::CallbackServerContext* context,
                                     const grpc::ByteBuffer* raw_request) {
  absl::StatusOr<v1::ProcessOutputRequest> request =
      DecodeOutputRequest(*raw_request);
  std::string job_id = request.ok() ? request->job_id() : std::string();
  AuditLine audit = NewAuditLine("GetProcessOutput", *context, job_id);
  absl::StatusOr<Caller> caller =
      Admit(*context, &audit,
            request.ok() ? ValidateJobId(job_id) : request.status());
  auto* reactor = new OutputReactor(std::move(audit));
  if (!caller.ok()) {
    reactor->FinishNow(caller.status());
    return reactor;
  }
  // Before the job's output is opened (which may take fds).
  absl::StatusOr<StreamLimiter::Slot> slot =
      stream_limiter_.Acquire(PeerAddress(context->peer()));
  if (!slot.ok()) {
    reactor->FinishNow(slot.status());
    return reactor;
  }
  absl::StatusOr<std::unique_ptr<OutputCursor>> cursor =
      jobs_->OpenOutput(caller->identity, job_id, FromProto(*request));
  if (!cursor.ok()) {
    reactor->FinishNow(cursor.status());
    return reactor;
  }
  (*cursor)->EnableLargeReads(&large_chunk_budget_, large_chunk_bytes_);
  StartStream(reactor, *std::move(cursor), *std::move(slot));
  return reactor;
}

}  // namespace cmdctl

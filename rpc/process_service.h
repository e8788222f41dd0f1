// The cmdctl.v1.ProcessService, on gRPC's callback API: no thread per call
// or per stream. Unary calls finish on the thread that has the answer (the
// gRPC thread, or for StopProcess the host thread that sees the job end);
// each GetProcessOutput call is one ServerWriteReactor that reads from its
// own OutputCursor, keeps one write in flight and, once caught up, waits for
// the job's change notification.
//
// Who the caller is comes from a CallerResolver, so that handlers do not
// depend on TLS: production uses the verified peer certificate
// (CallerFromAuthContext); unit tests inject callers over an in-process
// channel.
//
// Thread-safe. Every request leaves one audit line (glog INFO): identity,
// method, job id, result code.
#ifndef CMDCTL_RPC_PROCESS_SERVICE_H_
#define CMDCTL_RPC_PROCESS_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "cmdctl/v1/cmdctl.grpc.pb.h"
#include "domain/authorization.h"
#include "domain/job_manager.h"
#include "domain/output_cursor.h"

namespace cmdctl {

using CallerResolver =
    std::function<absl::StatusOr<Caller>(const grpc::CallbackServerContext&)>;

// The production resolver: the verified client certificate.
absl::StatusOr<Caller> CallerFromTlsPeer(
    const grpc::CallbackServerContext& context);

class OutputReactor;

class ProcessServiceImpl final : public v1::ProcessService::CallbackService {
 public:
  // `jobs` must outlive the service and every call on it.
  ProcessServiceImpl(JobManager* jobs, CallerResolver resolve_caller);
  ~ProcessServiceImpl() override;

  grpc::ServerUnaryReactor* RunProcess(
      grpc::CallbackServerContext* context,
      const v1::RunProcessRequest* request,
      v1::RunProcessResponse* response) override;
  grpc::ServerUnaryReactor* StopProcess(
      grpc::CallbackServerContext* context,
      const v1::StopProcessRequest* request,
      v1::StopProcessResponse* response) override;
  grpc::ServerUnaryReactor* GetProcessStatus(
      grpc::CallbackServerContext* context,
      const v1::ProcessStatusRequest* request,
      v1::ProcessStatusResponse* response) override;
  grpc::ServerWriteReactor<v1::ProcessOutputResponse>* GetProcessOutput(
      grpc::CallbackServerContext* context,
      const v1::ProcessOutputRequest* request) override;
  grpc::ServerUnaryReactor* ListProcesses(
      grpc::CallbackServerContext* context,
      const v1::ListProcessesRequest* request,
      v1::ListProcessesResponse* response) override;
  grpc::ServerUnaryReactor* RemoveProcess(
      grpc::CallbackServerContext* context,
      const v1::RemoveProcessRequest* request,
      v1::RemoveProcessResponse* response) override;

  // Server shutdown, first step: every later call fails with UNAVAILABLE
  // "server shutting down", and every open output stream ends with that
  // status (after its write in flight, if any). Does not wait.
  void BeginShutdown() ABSL_LOCKS_EXCLUDED(mu_);

  // Server shutdown, last resort: StopProcess calls still waiting for their
  // job to end are answered UNAVAILABLE now (a later end is then ignored).
  // Only for when the jobs did not end, since gRPC cannot stop while a call
  // is unfinished.
  void AbortPendingStops() ABSL_LOCKS_EXCLUDED(mu_);

  // Output streams open now (tests, metrics).
  size_t OpenStreams() const ABSL_LOCKS_EXCLUDED(mu_);
  // Waits (on a condition, no polling) until at most `n` output streams
  // are open; false if that did not happen within `timeout`.
  bool AwaitOpenStreamsAtMost(size_t n, absl::Duration timeout) const
      ABSL_LOCKS_EXCLUDED(mu_);

 private:
  friend class OutputReactor;

  // Registers a new stream and starts it; false (nothing done) once
  // shutting down.
  bool StartStream(OutputReactor* reactor, std::unique_ptr<OutputCursor> cursor)
      ABSL_LOCKS_EXCLUDED(mu_);
  void RemoveStream(OutputReactor* reactor) ABSL_LOCKS_EXCLUDED(mu_);
  // The caller of a new call: UNAVAILABLE once shutting down, else the
  // identity the resolver finds (UNAUTHENTICATED without one).
  absl::StatusOr<Caller> Admit(const grpc::CallbackServerContext& context) const
      ABSL_LOCKS_EXCLUDED(mu_);

  struct PendingStops;

  JobManager* const jobs_;
  const CallerResolver resolve_caller_;
  // Shared with the StopProcess callbacks, which may outlive the service.
  const std::shared_ptr<PendingStops> pending_stops_;

  mutable absl::Mutex mu_;
  bool shutting_down_ ABSL_GUARDED_BY(mu_) = false;
  absl::flat_hash_set<OutputReactor*> streams_ ABSL_GUARDED_BY(mu_);
};

}  // namespace cmdctl

#endif  // CMDCTL_RPC_PROCESS_SERVICE_H_

// The cmdctl.v1.ProcessService, on gRPC's callback API: no thread per call
// or per stream. Unary calls finish on the thread that has the answer (the
// gRPC thread, or for StopProcess the host thread that sees the job end);
// each GetProcessOutput call is one OutputReactor driven by an OutputPump
// that reads from its own OutputCursor, keeps one write in flight and, once
// caught up, waits for the job's change notification; the reading that
// follows a notification runs on the service's small WorkerPool, never on
// the host's event-loop thread.
//
// Who the caller is comes from a CallerResolver, so that handlers do not
// depend on TLS: production uses the verified peer certificate
// (CallerFromTlsPeer, rpc/peer_identity.h); unit tests inject callers over an
// in-process channel.
//
// Thread-safe. Every request leaves one audit line (rpc/audit_log.h).
// No lock of the service is held across a read of output, a write to the
// network, a log line or a call into the JobManager.
//
// Files: unary_call.* (the prologue's call state), pending_stops.* (StopProcess
// calls waiting for their job), output_reactor.* + output_pump.* +
// worker_pool.* (GetProcessOutput), audit_log.* (the audit line).
#ifndef CMDCTL_RPC_PROCESS_SERVICE_H_
#define CMDCTL_RPC_PROCESS_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "cmdctl/v1/cmdctl.grpc.pb.h"
#include "domain/authorization.h"
#include "domain/job_manager.h"
#include "domain/output_budget.h"
#include "domain/output_cursor.h"
#include "rpc/audit_log.h"
#include "rpc/connection_limits.h"
#include "rpc/output_pump.h"
#include "rpc/pending_stops.h"
#include "rpc/unary_call.h"
#include "rpc/worker_pool.h"

namespace cmdctl {

using CallerResolver =
    std::function<absl::StatusOr<Caller>(const grpc::CallbackServerContext&)>;

class OutputReactor;

// How much one output message may carry (OutputCursor::EnableLargeReads): a
// reader that is behind reads and sends up to large_chunk_bytes at a time
// while the server-wide budget allows; every other message carries at most
// the JobManager's output_chunk_bytes. large_chunk_bytes at most the chunk
// size: every message is a normal chunk.
struct OutputReadOptions {
  size_t large_chunk_bytes = 256 * 1024;
  size_t large_chunk_budget = 16 * 1024 * 1024;
};

// GetProcessOutput is a raw method (its messages are built without
// protobuf's copy, output_message.h); the others are typed. The chain is
// the generated CallbackService's with GetProcessOutput's typed wrapper
// replaced by the raw one (stacking the raw one on top would hide the typed
// overload: clang's -Woverloaded-virtual).
using ProcessServiceBase = v1::ProcessService::WithCallbackMethod_RunProcess<
    v1::ProcessService::WithCallbackMethod_StopProcess<
        v1::ProcessService::WithCallbackMethod_GetProcessStatus<
            v1::ProcessService::WithRawCallbackMethod_GetProcessOutput<
                v1::ProcessService::WithCallbackMethod_ListProcesses<
                    v1::ProcessService::WithCallbackMethod_RemoveProcess<
                        v1::ProcessService::Service>>>>>>;

class ProcessServiceImpl final : public ProcessServiceBase {
 public:
  // `jobs` must outlive the service and every call on it. `stream_limits`:
  // how many output streams may be open, in all and per client address
  // (more are RESOURCE_EXHAUSTED; connection_limits.h). `output_reads`: the
  // size of output messages.
  ProcessServiceImpl(JobManager* jobs, CallerResolver resolve_caller,
                     StreamLimits stream_limits = {},
                     OutputReadOptions output_reads = {});
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
  grpc::ServerWriteReactor<grpc::ByteBuffer>* GetProcessOutput(
      grpc::CallbackServerContext* context,
      const grpc::ByteBuffer* request) override;
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
  void AbortPendingStops();

  // Output streams open now (tests, metrics).
  size_t OpenStreams() const ABSL_LOCKS_EXCLUDED(mu_);
  // Waits (on a condition, no polling) until at most `n` output streams
  // are open; false if that did not happen within `timeout`.
  bool AwaitOpenStreamsAtMost(size_t n, absl::Duration timeout) const
      ABSL_LOCKS_EXCLUDED(mu_);

 private:
  // The prologue of every unary handler: admits the caller (Admit), then
  // finishes the call with `valid` if that is an error, else runs
  // `body(const Caller&, UnaryCall)`, which must finish the call (now or
  // later). Returns the call's reactor.
  template <typename Body>
  grpc::ServerUnaryReactor* Unary(grpc::CallbackServerContext* context,
                                  AuditLine audit, const absl::Status& valid,
                                  Body body) ABSL_LOCKS_EXCLUDED(mu_);
  // The caller of a new call: UNAVAILABLE once shutting down, else the
  // identity the resolver finds (UNAUTHENTICATED without one), which goes
  // on the audit line; then `valid`'s error, if any.
  absl::StatusOr<Caller> Admit(const grpc::CallbackServerContext& context,
                               AuditLine* audit,
                               const absl::Status& valid) const
      ABSL_LOCKS_EXCLUDED(mu_);

  // Registers the stream and starts it from `cursor`; ends it with
  // UNAVAILABLE instead once shutting down. `slot` is held until the stream
  // is done.
  void StartStream(OutputReactor* reactor, std::unique_ptr<OutputCursor> cursor,
                   StreamLimiter::Slot slot) ABSL_LOCKS_EXCLUDED(mu_);
  void RemoveStream(const OutputReactor* reactor) ABSL_LOCKS_EXCLUDED(mu_);

  JobManager* const jobs_;
  const CallerResolver resolve_caller_;
  // Shared with the StopProcess callbacks, which may outlive the service.
  const std::shared_ptr<PendingStops> pending_stops_;
  // Where a follower reads after its job's notification. Outlives every
  // stream (the destructor checks that none is left).
  WorkerPool readers_;
  // Counts the open output streams against their limits.
  StreamLimiter stream_limiter_;
  // Large reads of every stream come from this budget. Outlives every
  // cursor (each stream's is closed before it leaves streams_).
  const size_t large_chunk_bytes_;
  OutputBudget large_chunk_budget_;

  mutable absl::Mutex mu_;
  bool shutting_down_ ABSL_GUARDED_BY(mu_) = false;
  // The open output streams: each reactor (until its OnDone) and its pump.
  absl::flat_hash_map<const OutputReactor*, std::shared_ptr<OutputPump>>
      streams_ ABSL_GUARDED_BY(mu_);
};

}  // namespace cmdctl

#endif  // CMDCTL_RPC_PROCESS_SERVICE_H_

// One GetProcessOutput call: gRPC's ServerWriteReactor, adapted to an
// OutputPump (which makes every decision and is tested without gRPC). The
// method is raw: each chunk goes out as a ByteBuffer built around the
// chunk's buffer (output_message.h), without protobuf's copy.
//
// Threads: gRPC's (the handler, OnWriteDone, OnCancel, OnDone), the
// WorkerPool's (a pump resuming after a wake) and the shutdown thread all
// reach the reactor through the pump, which calls SendChunk/EndStream one at
// a time and never after OnDone. The reactor deletes itself in OnDone only.
#ifndef CMDCTL_RPC_OUTPUT_REACTOR_H_
#define CMDCTL_RPC_OUTPUT_REACTOR_H_

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <functional>
#include <memory>

#include "absl/status/status.h"
#include "cmdctl/v1/cmdctl.pb.h"
#include "domain/output_cursor.h"
#include "rpc/audit_log.h"
#include "rpc/output_message.h"
#include "rpc/output_pump.h"
#include "rpc/worker_pool.h"

namespace cmdctl {

class OutputReactor final : public grpc::ServerWriteReactor<grpc::ByteBuffer>,
                            private OutputSink {
 public:
  // `audit` is logged (with the result and the bytes sent) when the stream
  // ends.
  explicit OutputReactor(AuditLine audit) : audit_(std::move(audit)) {}

  // Ends a call that never streams (not admitted, bad request, no job).
  void FinishNow(const absl::Status& status);

  // Makes the pump that will stream from `cursor` (reading on `runner` after
  // a wake); the caller starts it (OutputPump::Start). `on_done` runs in
  // OnDone, after the pump is detached, just before the reactor is deleted.
  // Call once, from the handler, before it returns.
  std::shared_ptr<OutputPump> MakePump(std::unique_ptr<OutputCursor> cursor,
                                       TaskRunner* runner,
                                       std::function<void()> on_done);

  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  // OutputSink, called by the pump.
  void SendChunk(OutputChunk chunk) override;
  void EndStream(const absl::Status& status, uint64_t bytes_sent) override;

  // Touched only by the one call that ends the stream.
  AuditLine audit_;
  // Set in the handler, before gRPC can call back.
  std::shared_ptr<OutputPump> pump_;
  std::function<void()> on_done_;
  // Owned by gRPC while a write is in flight; the pump starts no other.
  grpc::ByteBuffer message_;
  // Where the sent chunk's buffer comes back for the cursor's next read.
  std::shared_ptr<ReturnedBuffer> returned_ =
      std::make_shared<ReturnedBuffer>();
};

}  // namespace cmdctl

#endif  // CMDCTL_RPC_OUTPUT_REACTOR_H_

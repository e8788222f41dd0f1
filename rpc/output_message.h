// GetProcessOutput's messages on the wire, without protobuf's copy.
//
// The service registers GetProcessOutput as a raw method (gRPC hands it a
// ByteBuffer and sends the ByteBuffers it gives back): a chunk of output is
// sent as the wire format of v1::ProcessOutputResponse built around the
// chunk's own buffer. The data is not copied into protobuf's message nor into
// a new slice: gRPC's TLS layer reads it from where the cursor's `pread`
// put it. The bytes are exactly what ProcessOutputResponse::SerializeAsString
// would give (same fields, same order, zero values left out), so clients see
// the same messages as before (tests/rpc/output_message_test.cc).
#ifndef CMDCTL_RPC_OUTPUT_MESSAGE_H_
#define CMDCTL_RPC_OUTPUT_MESSAGE_H_

#include <grpcpp/support/byte_buffer.h>

#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "cmdctl/v1/cmdctl.pb.h"
#include "domain/output_cursor.h"

namespace cmdctl {

// Where a sent chunk's data buffer comes back once gRPC has let go of it
// (its last reference to the slice), on whichever thread that happens. One
// per stream; it keeps at most one buffer.
class ReturnedBuffer {
 public:
  // The buffer that came back since the last Take, if any.
  std::optional<std::string> Take() ABSL_LOCKS_EXCLUDED(mu_);
  void Put(std::string buffer) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  absl::Mutex mu_;
  std::optional<std::string> buffer_ ABSL_GUARDED_BY(mu_);
};

// The message for `chunk`. The ByteBuffer owns chunk.data; when gRPC and
// every copy of the ByteBuffer have released it, the buffer goes to
// `returned` (if that still exists) or is freed.
grpc::ByteBuffer EncodeOutputMessage(OutputChunk chunk,
                                     std::weak_ptr<ReturnedBuffer> returned);

// The request of a raw GetProcessOutput call. INVALID_ARGUMENT when it is
// not a ProcessOutputRequest.
absl::StatusOr<v1::ProcessOutputRequest> DecodeOutputRequest(
    const grpc::ByteBuffer& request);

}  // namespace cmdctl

#endif  // CMDCTL_RPC_OUTPUT_MESSAGE_H_

// One unary call on its way to an answer: gRPC's reactor for it and its
// audit line. Finish answers the call and logs the line, together, once.
// ProcessServiceImpl::Unary runs the prologue every unary handler shares
// (admit the caller, check the request, or else finish) and hands the call
// to the handler's body, which may finish it later on another thread
// (StopProcess finishes when the job ends).
#ifndef CMDCTL_RPC_UNARY_CALL_H_
#define CMDCTL_RPC_UNARY_CALL_H_

#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"
#include "rpc/audit_log.h"

namespace cmdctl {

class UnaryCall {
 public:
  UnaryCall(grpc::ServerUnaryReactor* reactor, AuditLine audit)
      : reactor_(reactor), audit_(std::move(audit)) {}

  UnaryCall(UnaryCall&& other) noexcept
      : reactor_(other.reactor_), audit_(std::move(other.audit_)) {
    other.reactor_ = nullptr;
  }
  UnaryCall& operator=(UnaryCall&&) = delete;
  UnaryCall(const UnaryCall&) = delete;
  UnaryCall& operator=(const UnaryCall&) = delete;

  // Fields of the audit line that only the handler knows (count=...).
  AuditLine& audit() { return audit_; }

  // Logs the audit line with the result and answers the call with `status`
  // (mapped to gRPC's once, here). Call exactly once; the response message
  // must be complete before.
  void Finish(const absl::Status& status);

 private:
  grpc::ServerUnaryReactor* reactor_;  // null once finished or moved from
  AuditLine audit_;
};

}  // namespace cmdctl

#endif  // CMDCTL_RPC_UNARY_CALL_H_

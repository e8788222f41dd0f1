#include "rpc/status_mapping.h"

#include <string>

namespace cmdctl {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  const int code = static_cast<int>(status.code());
  // absl and gRPC share the canonical codes 1..16; anything else (a code
  // from a newer absl) is UNKNOWN rather than a number gRPC cannot name.
  if (code < grpc::StatusCode::CANCELLED ||
      code > grpc::StatusCode::UNAUTHENTICATED) {
    return grpc::Status(grpc::StatusCode::UNKNOWN,
                        std::string(status.message()));
  }
  return grpc::Status(static_cast<grpc::StatusCode>(code),
                      std::string(status.message()));
}

}  // namespace cmdctl

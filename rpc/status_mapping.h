// The one place where an absl::Status becomes a grpc::Status (the codes are
// the same numbers; the message is carried as is).
#ifndef CMDCTL_RPC_STATUS_MAPPING_H_
#define CMDCTL_RPC_STATUS_MAPPING_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace cmdctl {

grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace cmdctl

#endif  // CMDCTL_RPC_STATUS_MAPPING_H_

#include "rpc/unary_call.h"

#include <glog/logging.h>

#include <utility>

#include "rpc/status_mapping.h"

namespace cmdctl {

void UnaryCall::Finish(const absl::Status& status) {
  CHECK(reactor_ != nullptr) << "a unary call finished twice";
  grpc::Status result = ToGrpcStatus(status);
  audit_.Log(static_cast<absl::StatusCode>(result.error_code()));
  grpc::ServerUnaryReactor* reactor = reactor_;
  reactor_ = nullptr;
  reactor->Finish(std::move(result));
}

}  // namespace cmdctl

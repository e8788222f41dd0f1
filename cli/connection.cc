#include "cli/connection.h"

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/channel_arguments.h"

namespace cmdctl::cli {

std::shared_ptr<grpc::Channel> MakeChannel(
    const std::string& server, const grpc::SslCredentialsOptions& credentials) {
  grpc::ChannelArguments args;
  args.SetUserAgentPrefix("cmdctl/0.1");
  return grpc::CreateCustomChannel(server, grpc::SslCredentials(credentials),
                                   args);
}

grpc::Status Connect(const std::shared_ptr<grpc::Channel>& channel,
                     absl::Duration timeout) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  // Fail as soon as the channel gives up (refused, TLS error) rather than
  // retrying until the deadline.
  context.set_wait_for_ready(false);
  grpc::Slice empty("");
  grpc::ByteBuffer request(&empty, 1);  // an empty HealthCheckRequest
  grpc::ByteBuffer response;
  grpc::Status result;
  absl::Notification done;
  stub.UnaryCall(&context, "/grpc.health.v1.Health/Check", grpc::StubOptions(),
                 &request, &response, [&result, &done](grpc::Status status) {
                   result = std::move(status);
                   done.Notify();
                 });
  done.WaitForNotification();
  switch (result.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return result;
    default:
      // Anything else (OK, UNIMPLEMENTED, NOT_FOUND...) came from a server
      // we are connected to.
      return grpc::Status::OK;
  }
}

}  // namespace cmdctl::cli

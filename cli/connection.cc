#include "cli/connection.h"

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "cli/version.h"
#include "grpc/grpc.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/channel_arguments.h"

namespace cmdctl::cli {
namespace {

// HTTP/2 keepalive while a call is in flight: a server (or network path)
// that vanished without closing the connection is noticed within about
// kKeepaliveTime + kKeepaliveTimeout, and the call fails UNAVAILABLE. This
// is what bounds the calls that have no deadline (a followed stream, a stop
// that waits for the server's grace period). cmdctld permits pings every
// 5 s (rpc/server.cc); more often would earn a GOAWAY.
constexpr int kKeepaliveTimeMs = 10 * 1000;
constexpr int kKeepaliveTimeoutMs = 10 * 1000;

// After a lost connection the channel tries again after 250 ms, then backs
// off to at most 2 s between attempts (gRPC's default reaches minutes), so
// a restarted cmdctld is found again within about 2 s (reconnect.h).
constexpr int kInitialReconnectBackoffMs = 250;
constexpr int kMaxReconnectBackoffMs = 2000;

}  // namespace

std::shared_ptr<grpc::Channel> MakeChannel(
    const std::string& server, const grpc::SslCredentialsOptions& credentials) {
  grpc::ChannelArguments args;
  args.SetUserAgentPrefix(absl::StrCat("cmdctl/", kVersion));
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, kKeepaliveTimeMs);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, kKeepaliveTimeoutMs);
  // Keep pinging however long the call waits without data (gRPC stops
  // after two pings by default).
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS,
              kInitialReconnectBackoffMs);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, kMaxReconnectBackoffMs);
  return grpc::CreateCustomChannel(server, grpc::SslCredentials(credentials),
                                   args);
}

namespace {

// The standard health check, with wait_for_ready(false): on a channel whose
// connection attempt failed it fails at once with the reason (UNAVAILABLE
// with "Connection refused", an SSL error...); DEADLINE_EXCEEDED once
// `deadline` has passed.
grpc::Status HealthCheck(const std::shared_ptr<grpc::Channel>& channel,
                         absl::Time deadline) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(deadline));
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
  return result;
}

}  // namespace

grpc::Status Connect(const std::shared_ptr<grpc::Channel>& channel,
                     absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  // Connect without a call: watch the channel until the connection (TCP,
  // TLS 1.3 handshake, HTTP/2 preface) is READY, giving up as soon as the
  // attempt fails (TRANSIENT_FAILURE: refused, TLS error) or at `deadline`.
  // A round trip to the server here would only delay the first real call.
  grpc_connectivity_state state = channel->GetState(/*try_to_connect=*/true);
  while (state != GRPC_CHANNEL_READY &&
         state != GRPC_CHANNEL_TRANSIENT_FAILURE &&
         state != GRPC_CHANNEL_SHUTDOWN) {
    if (!channel->WaitForStateChange(state, absl::ToChronoTime(deadline))) {
      break;  // the deadline passed
    }
    state = channel->GetState(/*try_to_connect=*/true);
  }
  if (state == GRPC_CHANNEL_READY) return grpc::Status::OK;
  // Not connected. The channel's state does not say why; a call on it
  // does, at once (or DEADLINE_EXCEEDED, the deadline having passed).
  grpc::Status reason = HealthCheck(channel, deadline);
  switch (reason.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return reason;
    default:
      // Anything else (OK, UNIMPLEMENTED, NOT_FOUND...) came from a server
      // we are connected to after all (it came up meanwhile).
      return grpc::Status::OK;
  }
}

}  // namespace cmdctl::cli

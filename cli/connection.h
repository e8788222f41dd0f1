// The channel to cmdctld: mutual TLS (TLS 1.3 only, see tls/tls_policy.h),
// and a bounded wait for the connection so that an unreachable server fails
// within seconds, naming the address.
#ifndef CMDCTL_CLI_CONNECTION_H_
#define CMDCTL_CLI_CONNECTION_H_

#include <memory>
#include <string>

#include "absl/time/time.h"
#include "grpcpp/channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/status.h"

namespace cmdctl::cli {

// How long cmdctl waits for the connection (TCP + TLS) before giving up.
inline constexpr absl::Duration kConnectTimeout = absl::Seconds(5);

std::shared_ptr<grpc::Channel> MakeChannel(
    const std::string& server, const grpc::SslCredentialsOptions& credentials);

// Establishes the connection (TCP, TLS, HTTP/2), waiting at most `timeout`,
// without a round trip: the first real call goes out on it at once. OK once
// the channel is READY; otherwise the reason, as a call on the channel
// reports it: UNAVAILABLE with gRPC's reason (such as "Connection refused" or
// an SSL error), or DEADLINE_EXCEEDED.
grpc::Status Connect(const std::shared_ptr<grpc::Channel>& channel,
                     absl::Duration timeout);

}  // namespace cmdctl::cli

#endif  // CMDCTL_CLI_CONNECTION_H_

#include "rpc/server.h"

#include <glog/logging.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <sys/socket.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "rpc/client_certificate_policy.h"
#include "rpc/listen_sockets.h"

namespace cmdctl {
namespace {

// Keepalive: a client that vanished without closing its connection (host
// gone, cable cut) is noticed within ~40 s and its streams are cancelled.
constexpr int kKeepaliveTimeMs = 30 * 1000;
constexpr int kKeepaliveTimeoutMs = 10 * 1000;
// Clients may ping us every 5 s (they use keepalive to notice a dead
// server).
constexpr int kMinClientPingIntervalMs = 5 * 1000;
// Requests are small; a huge one is refused before it is buffered.
constexpr int kMaxRequestBytes = 1 << 20;
// How long the gRPC server waits for calls to end after the jobs have been
// stopped before it cancels them. By then streams have ended and StopProcess
// calls have their answers; what remains are idle client connections, which
// gRPC 1.51 waits for until this deadline (it then drops them).
constexpr absl::Duration kCallDrainTime = absl::Seconds(1);
// How long past the job grace we wait for jobs to report their end.
constexpr absl::Duration kJobEndSlack = absl::Seconds(5);

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>>
MutualTlsServerCredentials(const TlsFiles& files) {
  absl::StatusOr<std::shared_ptr<const ClientCertificatePolicy>> policy =
      ClientCertificatePolicy::FromCaPem(files.ca_pem);
  if (!policy.ok()) return policy.status();
  // gRPC's TLS credentials (not SslServerCredentials) for the certificate
  // verifier. They make their SSL_CTX the same way, so the TLS 1.3 policy
  // (EnforceTls13Policy) holds for them too.
  auto provider =
      std::make_shared<grpc::experimental::StaticDataCertificateProvider>(
          files.ca_pem, std::vector<grpc::experimental::IdentityKeyCertPair>{
                            {files.key_pem, files.cert_pem}});
  grpc::experimental::TlsServerCredentialsOptions options(provider);
  options.watch_root_certs();
  options.watch_identity_key_cert_pairs();
  options.set_cert_request_type(
      GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  options.set_certificate_verifier(
      NewClientCertificateVerifier(*std::move(policy)));
  return grpc::experimental::TlsServerCredentials(options);
}

absl::StatusOr<std::unique_ptr<CmdctlServer>> CmdctlServer::Start(
    const ServerOptions& options, JobManager* jobs) {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  const ConnectionLimits& limits = options.limits;
  auto service = std::make_unique<ProcessServiceImpl>(
      jobs, options.resolve_caller,
      StreamLimits{limits.max_streams, limits.max_streams_per_peer},
      options.output_reads);
  std::unique_ptr<CmdctlServer> server(
      new CmdctlServer(jobs, std::move(service)));

  grpc::ServerBuilder builder;
  std::optional<ListenSockets> sockets;
  if (!options.listen_address.empty()) {
    if (options.credentials == nullptr) {
      return absl::InvalidArgumentError("listening needs credentials");
    }
    absl::StatusOr<ListenSockets> opened =
        OpenListenSockets(options.listen_address, SOMAXCONN);
    if (!opened.ok()) return opened.status();
    for (const std::string& skipped : opened->skipped) {
      LOG(WARNING) << "not listening on " << skipped;
    }
    sockets = *std::move(opened);
    // Connections we accept go through gRPC's usual server path (TLS
    // handshake with these credentials, HTTP/2) from the fd on.
    server->handoff_ = builder.experimental().AddExternalConnectionAcceptor(
        grpc::ServerBuilder::experimental_type::ExternalConnectionType::FROM_FD,
        options.credentials);
  }
  builder.RegisterService(server->service_.get());
  builder.SetMaxReceiveMessageSize(kMaxRequestBytes);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, kKeepaliveTimeMs);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
                             kKeepaliveTimeoutMs);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(
      GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
      kMinClientPingIntervalMs);
  if (limits.handshake_timeout > absl::ZeroDuration()) {
    // From accept to the client's HTTP/2 settings: TLS handshake included.
    builder.AddChannelArgument(
        GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS,
        static_cast<int>(std::max<int64_t>(
            1, absl::ToInt64Milliseconds(limits.handshake_timeout))));
  }
  if (limits.max_streams_per_connection > 0) {
    builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS,
                               limits.max_streams_per_connection);
  }
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr) {
    return absl::InternalError("gRPC could not start the server");
  }
  if (sockets.has_value()) {
    Acceptor::Options accept_options;
    accept_options.max_connections = limits.max_connections;
    accept_options.max_connections_per_peer = limits.max_connections_per_peer;
    grpc::experimental::ExternalConnectionAcceptor* handoff =
        server->handoff_.get();
    absl::StatusOr<std::unique_ptr<Acceptor>> acceptor = Acceptor::Start(
        std::move(sockets->fds), accept_options, [handoff](int fd, int from) {
          grpc::experimental::ExternalConnectionAcceptor::
              NewConnectionParameters connection;
          connection.listener_fd = from;
          connection.fd = fd;
          handoff->HandleNewConnection(&connection);
        });
    if (!acceptor.ok()) return acceptor.status();
    server->acceptor_ = *std::move(acceptor);
    server->port_ = sockets->port;
    server->addresses_ = sockets->addresses;
  }
  if (grpc::HealthCheckServiceInterface* health =
          server->server_->GetHealthCheckService()) {
    health->SetServingStatus(true);
  }
  return server;
}

Acceptor::Stats CmdctlServer::connection_stats() {
  return acceptor_ == nullptr ? Acceptor::Stats{} : acceptor_->stats();
}

CmdctlServer::~CmdctlServer() {
  // No hand-off after gRPC has shut down (it would leave the fd open).
  if (acceptor_ != nullptr) acceptor_->Stop();
  if (!shut_down_ && server_ != nullptr) {
    service_->BeginShutdown();
    service_->AbortPendingStops();
    server_->Shutdown(std::chrono::system_clock::now());
    server_->Wait();
  }
}

void CmdctlServer::Shutdown(std::optional<absl::Duration> stop_jobs) {
  if (shut_down_) return;
  shut_down_ = true;
  if (acceptor_ != nullptr) acceptor_->Stop();  // no new connections
  service_->BeginShutdown();
  if (grpc::HealthCheckServiceInterface* health =
          server_->GetHealthCheckService()) {
    health->SetServingStatus(false);
  }
  if (!stop_jobs.has_value()) {
    LOG(INFO) << "shutting down: ending output streams; jobs keep running";
    service_->AbortPendingStops();
    server_->Shutdown(absl::ToChronoTime(absl::Now() + kCallDrainTime));
    server_->Wait();
    LOG(INFO) << "server stopped";
    return;
  }
  const absl::Duration job_grace = *stop_jobs;
  LOG(INFO) << "shutting down: ending output streams, stopping jobs (grace "
            << absl::FormatDuration(job_grace) << ")";
  // Shared: `done` may run after we gave up waiting.
  auto jobs_ended = std::make_shared<absl::Notification>();
  jobs_->StopAll(job_grace, [jobs_ended] { jobs_ended->Notify(); });
  // Pending StopProcess calls get their answers as the jobs end; then
  // the server stops. KILL ends every job shortly after the grace; the
  // bound only guards against a host that never reports an end.
  const absl::Duration bound = job_grace + kJobEndSlack;
  if (!jobs_ended->WaitForNotificationWithTimeout(bound)) {
    LOG(ERROR) << "some jobs had not ended " << absl::FormatDuration(bound)
               << " after the stop; shutting down anyway";
    // gRPC cannot stop while a StopProcess call waits for such a job.
    service_->AbortPendingStops();
  }
  server_->Shutdown(absl::ToChronoTime(absl::Now() + kCallDrainTime));
  server_->Wait();
  LOG(INFO) << "server stopped";
}

}  // namespace cmdctl

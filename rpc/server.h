// cmdctld's gRPC server: the ProcessService plus the standard health service
// and server reflection, and the graceful shutdown sequence.
#ifndef CMDCTL_RPC_SERVER_H_
#define CMDCTL_RPC_SERVER_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "domain/job_manager.h"
#include "rpc/acceptor.h"
#include "rpc/connection_limits.h"
#include "rpc/peer_identity.h"
#include "rpc/process_service.h"
#include "tls/tls_files.h"

namespace cmdctl {

struct ServerOptions {
  // host:port to listen on (port 0: any free port). Empty: no port at all
  // (in-process channels only, for tests).
  std::string listen_address;
  // Required when listen_address is set.
  std::shared_ptr<grpc::ServerCredentials> credentials;
  // Who the caller is (CallerFromTlsPeer in production).
  CallerResolver resolve_caller = CallerFromTlsPeer;
  // Connections, streams and the handshake bound (no limits by default;
  // cmdctld uses DefaultConnectionLimits and its flags).
  ConnectionLimits limits;
  // The size of output messages (large ones for readers that are behind).
  OutputReadOptions output_reads;
};

// Mutual TLS 1.3 server credentials for `files`: the client must present a
// certificate that verifies against files.ca_pem, issued directly by one of
// its CAs and not itself a CA (ClientCertificatePolicy), or the handshake
// fails. EnforceTls13Policy must have succeeded before. INVALID_ARGUMENT
// when files.ca_pem holds no certificate.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>>
MutualTlsServerCredentials(const TlsFiles& files);

class CmdctlServer {
 public:
  // Builds and starts the server. UNAVAILABLE when the address cannot be
  // bound. `jobs` must outlive the server. The listening sockets are
  // cmdctld's own, accepted on by an Acceptor (acceptor.h) that hands each
  // connection to gRPC, which runs the TLS handshake.
  static absl::StatusOr<std::unique_ptr<CmdctlServer>> Start(
      const ServerOptions& options, JobManager* jobs);
  ~CmdctlServer();

  // The port bound (0 without a listening port).
  int port() const { return port_; }
  // The addresses listened on ("127.0.0.1:9090", ...).
  const std::vector<std::string>& addresses() const { return addresses_; }
  // Connections accepted, refused, shed; open now. Zero without a port.
  Acceptor::Stats connection_stats();
  grpc::Server* grpc_server() { return server_.get(); }
  ProcessServiceImpl* service() { return service_.get(); }

  // The graceful shutdown (SIGTERM/SIGINT): new calls fail with UNAVAILABLE
  // "server shutting down", open output streams end with that status, the
  // health service reports NOT_SERVING. With `stop_jobs` (the grace of
  // --stop_jobs_on_exit) every running job is stopped (TERM, then KILL
  // after the grace) and waited for, and pending StopProcess calls get
  // their answers; without, jobs keep running for the next start (their
  // records say so) and pending StopProcess calls are answered UNAVAILABLE
  // (the stop itself goes on: its KILL is kept in the job's record). Then
  // the gRPC server stops. Blocks. Idempotent.
  void Shutdown(std::optional<absl::Duration> stop_jobs);

 private:
  CmdctlServer(JobManager* jobs, std::unique_ptr<ProcessServiceImpl> service)
      : jobs_(jobs), service_(std::move(service)) {}

  JobManager* const jobs_;
  std::unique_ptr<ProcessServiceImpl> service_;
  std::unique_ptr<grpc::Server> server_;
  // gRPC's end of the hand-off; outlives acceptor_, which calls it.
  std::unique_ptr<grpc::experimental::ExternalConnectionAcceptor> handoff_;
  std::unique_ptr<Acceptor> acceptor_;  // null without a listening port
  int port_ = 0;
  std::vector<std::string> addresses_;
  bool shut_down_ = false;  // only touched by the thread calling Shutdown
};

}  // namespace cmdctl

#endif  // CMDCTL_RPC_SERVER_H_

// cmdctld's listening sockets, made by cmdctld rather than by gRPC, so that
// its own acceptor (acceptor.h) decides what happens when accept fails (see
// docs/RPC.md, "Limits and recovery").
#ifndef CMDCTL_RPC_LISTEN_SOCKETS_H_
#define CMDCTL_RPC_LISTEN_SOCKETS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/unique_fd.h"

namespace cmdctl {

struct ListenSockets {
  std::vector<UniqueFd> fds;  // listening, non-blocking, close-on-exec
  int port = 0;               // the port bound (the same on every socket)
  std::vector<std::string> addresses;  // "127.0.0.1:9090", "[::1]:9090"
  // Addresses of `address` that could not be bound, and why (e.g. ::1 on a
  // host without IPv6), while others could.
  std::vector<std::string> skipped;
};

// Listens on `address`, as gRPC would take it: "host:port" or "[v6]:port";
// a host name is every address it resolves to (localhost: 127.0.0.1 and,
// where /etc/hosts says so, ::1); "0.0.0.0", "::", "[::]" or an empty host
// is every address, IPv4 and IPv6. Port 0: a free port, the same one on
// every address. SO_REUSEADDR, never SO_REUSEPORT (a second server on the
// same port fails instead of sharing it).
// INVALID_ARGUMENT for a malformed address; UNAVAILABLE when no address
// could be bound (in use, not local, not resolvable), naming why.
absl::StatusOr<ListenSockets> OpenListenSockets(const std::string& address,
                                                int backlog);

}  // namespace cmdctl

#endif  // CMDCTL_RPC_LISTEN_SOCKETS_H_

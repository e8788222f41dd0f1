// What clients may hold open on cmdctld (SPEC §8; docs/RPC.md, "Limits and
// recovery"): connections and output streams, in all and per client address,
// and how long a connection may take to finish its TLS handshake.
//
// Every limit defaults to a share of the server's file descriptor limit
// (RLIMIT_NOFILE), so that clients together can never take the descriptors
// the server needs for its own work (running jobs, records, logs):
// connections (one fd each) take at most a quarter, output streams (up to two
// fds each, for an ended job's files) at most another quarter; the other half
// stays for the jobs and the server.
//
// No gRPC here: the acceptor (acceptor.h) and the service use these, and
// their unit tests run under TSan.
#ifndef CMDCTL_RPC_CONNECTION_LIMITS_H_
#define CMDCTL_RPC_CONNECTION_LIMITS_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace cmdctl {

struct ConnectionLimits {
  // Open connections, in all and from one client address (0: no limit).
  // A connection beyond them is closed as soon as it is accepted.
  int64_t max_connections = 0;
  int64_t max_connections_per_peer = 0;
  // Open GetProcessOutput streams, in all and from one client address (0: no
  // limit). One more is RESOURCE_EXHAUSTED, naming the limit.
  int64_t max_streams = 0;
  int64_t max_streams_per_peer = 0;
  // Concurrent calls on one HTTP/2 connection (SETTINGS_MAX_CONCURRENT_
  // STREAMS; 0: gRPC's default, no limit). A client queues the calls beyond.
  int max_streams_per_connection = 0;
  // A connection that has not finished its TLS handshake (and sent its HTTP/2
  // settings) this long after it was accepted is closed. Zero: gRPC's
  // default (120 s).
  absl::Duration handshake_timeout = absl::ZeroDuration();
};

// The defaults for a server allowed `fd_limit` open descriptors (its
// RLIMIT_NOFILE): connections fd_limit/4 (one address 1/8 of that), output
// streams fd_limit/8 (one address 1/8 of that), 100 calls per connection, a
// 5 s handshake. Never below a handful each, so that a tiny limit still
// serves someone.
ConnectionLimits DefaultConnectionLimits(uint64_t fd_limit);

// `asked` (the server's flags) with each field left at 0 filled in: the
// totals from DefaultConnectionLimits(fd_limit), a per-address limit from
// its total (1/8 of it, at least 4, at most the total).
ConnectionLimits ResolveConnectionLimits(uint64_t fd_limit,
                                         const ConnectionLimits& asked);

// The client address of a gRPC peer string, without the port:
// "ipv4:127.0.0.1:51234" -> "127.0.0.1", "ipv6:[::1]:51234" -> "::1"
// (an IPv4-mapped "::ffff:10.0.0.1" -> "10.0.0.1"). Anything else is
// returned whole.
std::string PeerAddress(absl::string_view grpc_peer);

// The stream limits of ConnectionLimits, for the service.
struct StreamLimits {
  int64_t max_streams = 0;           // 0: no limit
  int64_t max_streams_per_peer = 0;  // 0: no limit
};

// Counts the open output streams, in all and per client address. Thread-safe.
class StreamLimiter {
 public:
  // One open stream; the slot is given back when the last copy is destroyed.
  using Slot = std::shared_ptr<const void>;

  explicit StreamLimiter(const StreamLimits& limits)
      : max_total_(limits.max_streams),
        max_per_peer_(limits.max_streams_per_peer) {}
  StreamLimiter(const StreamLimiter&) = delete;
  StreamLimiter& operator=(const StreamLimiter&) = delete;
  // Every slot must have been given back.
  ~StreamLimiter();

  // A slot for one more stream from `peer` (an address, PeerAddress), or
  // RESOURCE_EXHAUSTED naming the limit that is reached.
  absl::StatusOr<Slot> Acquire(const std::string& peer)
      ABSL_LOCKS_EXCLUDED(mu_);

  int64_t open() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  void Release(const std::string& peer) ABSL_LOCKS_EXCLUDED(mu_);

  const int64_t max_total_;
  const int64_t max_per_peer_;
  mutable absl::Mutex mu_;
  int64_t total_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_map<std::string, int64_t> per_peer_ ABSL_GUARDED_BY(mu_);
};

}  // namespace cmdctl

#endif  // CMDCTL_RPC_CONNECTION_LIMITS_H_

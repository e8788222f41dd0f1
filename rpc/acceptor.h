// cmdctld's accept loop, in place of gRPC's (docs/RPC.md, "Limits and
// recovery").
//
// Why: gRPC 1.51's accept loop (src/core/lib/iomgr/tcp_server_posix.cc,
// on_read) treats any accept4 error other than EINTR/EAGAIN (EMFILE, ENFILE,
// ENOMEM, ENOBUFS...) as the end of that listener: it logs "Failed accept4"
// and never polls the socket again, so one moment without a free fd stops the
// server accepting for good. Here one thread accepts on the listening
// sockets and hands each connection to gRPC (ExternalConnectionAcceptor,
// which runs the same TLS handshake with the same credentials), after:
//  - the connection limits, in all and per client address (ConnectionTable):
//    a connection beyond them is closed at once;
//  - on EMFILE/ENFILE/ENOMEM/ENOBUFS, a pause (10 ms, doubling up to 1 s)
//    and a retry, for as long as it takes: the server accepts again by
//    itself as soon as resources are free. Connections arriving meanwhile
//    wait in the listen backlog; once fds have been out for a second, the
//    ones waiting are accepted with a reserved fd and closed at once
//    ("shed"), so that their clients fail fast instead of waiting for a
//    server that cannot take them.
//
// No gRPC here: the hand-off is a callback, so this is unit-tested (TSan
// included) with plain sockets.
#ifndef CMDCTL_RPC_ACCEPTOR_H_
#define CMDCTL_RPC_ACCEPTOR_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/unique_fd.h"
#include "rpc/connection_table.h"

namespace cmdctl {

class Acceptor {
 public:
  // Takes an accepted connection (non-blocking, close-on-exec) and owns it
  // from then on. `listener_fd` is the socket it came from. Called on the
  // acceptor's thread.
  using Handoff = std::function<void(int fd, int listener_fd)>;

  struct Options {
    int64_t max_connections = 0;           // 0: no limit
    int64_t max_connections_per_peer = 0;  // 0: no limit
    // The resource-error pause: the first, and the most it doubles to.
    absl::Duration first_pause = absl::Milliseconds(10);
    absl::Duration max_pause = absl::Seconds(1);
    // Out of fds this long: pending connections are shed at each retry.
    absl::Duration shed_after = absl::Seconds(1);
  };

  struct Stats {
    int64_t accepted = 0;         // handed to gRPC
    int64_t refused = 0;          // closed at once: over a connection limit
    int64_t shed = 0;             // closed at once: no fd to serve them
    int64_t resource_errors = 0;  // accept4 EMFILE/ENFILE/ENOMEM/ENOBUFS
    int64_t open = 0;             // connections open now (swept)
  };

  // Starts the thread. `listeners` are listening, non-blocking sockets.
  // RESOURCE_EXHAUSTED or INTERNAL when the wake-up fd cannot be made.
  static absl::StatusOr<std::unique_ptr<Acceptor>> Start(
      std::vector<UniqueFd> listeners, const Options& options, Handoff handoff);

  // Stop()s.
  ~Acceptor();
  Acceptor(const Acceptor&) = delete;
  Acceptor& operator=(const Acceptor&) = delete;

  // Stops accepting and closes the listening sockets; returns once the
  // thread has ended (no Handoff runs after). Idempotent; any thread but
  // the acceptor's own.
  void Stop();

  Stats stats() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  Acceptor(std::vector<UniqueFd> listeners, const Options& options,
           Handoff handoff, UniqueFd wake);

  void Loop();
  // Accepts what is pending on `listener` (at most a batch); false when a
  // resource error paused accepting.
  bool AcceptSome(int listener);
  void Admit(int fd, int listener, const std::string& peer);
  void OnResourceError(int listener, int err);
  // Accepts and closes what is pending, with the reserved fd.
  void Shed(int listener);

  const Options options_;
  const Handoff handoff_;
  std::vector<UniqueFd> listeners_;
  UniqueFd wake_;     // eventfd: Stop
  UniqueFd reserve_;  // /dev/null, given up to shed when out of fds
  ConnectionTable table_;
  std::thread thread_;
  bool stopped_ = false;  // Stop's caller only

  // The loop thread's own state.
  absl::Time paused_until_ = absl::InfinitePast();
  absl::Duration pause_ = absl::ZeroDuration();
  absl::Time exhausted_since_ = absl::InfiniteFuture();  // none
  // Per refusal kind (in all, per address).
  absl::Time last_refusal_log_[2] = {absl::InfinitePast(),
                                     absl::InfinitePast()};
  int64_t shed_since_exhausted_ = 0;

  absl::Mutex mu_;
  Stats stats_ ABSL_GUARDED_BY(mu_);
};

}  // namespace cmdctl

#endif  // CMDCTL_RPC_ACCEPTOR_H_

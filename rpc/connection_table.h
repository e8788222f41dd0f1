// The connections cmdctld's acceptor handed to gRPC, counted in all and per
// client address, for the connection limits (connection_limits.h).
//
// gRPC owns a connection once it has it and closes it without telling us
// (after a failed or timed-out handshake, a GOAWAY, a dead peer). So each
// entry remembers its fd and the identity of the socket behind it (device
// and inode, from fstat): the connection is known to be gone when that fd no
// longer refers to that socket (closed: EBADF; or reused for another file).
// Socket inodes are not reused while a socket is open, and an fd number the
// kernel hands out again for a new connection replaces the old entry.
//
// Sweep() checks every entry (one fstat each). Admit() sweeps only when a
// limit would refuse the connection, at most once per `min_sweep_interval`,
// so a flood at the limit costs one sweep per interval, not one per
// connection; between sweeps the counts can only be too high (a connection
// refused that could have been let in), never too low.
//
// Thread-safe.
#ifndef CMDCTL_RPC_CONNECTION_TABLE_H_
#define CMDCTL_RPC_CONNECTION_TABLE_H_

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace cmdctl {

class ConnectionTable {
 public:
  // 0: no limit.
  ConnectionTable(int64_t max_total, int64_t max_per_peer,
                  absl::Duration min_sweep_interval = absl::Milliseconds(100))
      : max_total_(max_total),
        max_per_peer_(max_per_peer),
        min_sweep_interval_(min_sweep_interval) {}

  enum class Verdict { kAdmitted, kTooManyInAll, kTooManyFromPeer };

  // Records connection `fd` (an open socket) from `peer` if the limits let
  // it in; else records nothing and says which limit refused it.
  Verdict Admit(int fd, const std::string& peer, absl::Time now)
      ABSL_LOCKS_EXCLUDED(mu_);

  // Forgets every connection whose socket is gone. Returns how many remain.
  int64_t Sweep() ABSL_LOCKS_EXCLUDED(mu_);

  // As last counted (Sweep first for an exact figure).
  int64_t size() const ABSL_LOCKS_EXCLUDED(mu_);
  int64_t CountFrom(const std::string& peer) const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Entry {
    dev_t dev = 0;
    ino_t ino = 0;
    std::string peer;
  };
  bool Fits(const std::string& peer) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Erase(int fd) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void SweepLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const int64_t max_total_;
  const int64_t max_per_peer_;
  const absl::Duration min_sweep_interval_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<int, Entry> by_fd_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, int64_t> per_peer_ ABSL_GUARDED_BY(mu_);
  absl::Time last_sweep_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

}  // namespace cmdctl

#endif  // CMDCTL_RPC_CONNECTION_TABLE_H_

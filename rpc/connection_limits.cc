#include "rpc/connection_limits.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "glog/logging.h"

namespace cmdctl {
namespace {

// Below these the server would serve almost nobody; a limit this small is
// for tests (which set the flags) rather than for production.
constexpr int64_t kMinConnections = 16;
constexpr int64_t kMinStreams = 8;
constexpr int64_t kMinPerPeer = 4;
// HTTP/2's customary value (nginx, Go, Envoy's default is similar): more
// calls than this on one connection wait in the client.
constexpr int kStreamsPerConnection = 100;
constexpr absl::Duration kHandshakeTimeout = absl::Seconds(5);

// One address may hold an eighth of a total (at least a few, at most all).
int64_t PerPeer(int64_t total) {
  return std::min(total, std::max(kMinPerPeer, total / 8));
}

}  // namespace

ConnectionLimits DefaultConnectionLimits(uint64_t fd_limit) {
  return ResolveConnectionLimits(fd_limit, ConnectionLimits{});
}

ConnectionLimits ResolveConnectionLimits(uint64_t fd_limit,
                                         const ConnectionLimits& asked) {
  const int64_t fds =
      static_cast<int64_t>(std::min<uint64_t>(fd_limit, uint64_t{1} << 40));
  ConnectionLimits out = asked;
  if (out.max_connections <= 0) {
    out.max_connections = std::max(kMinConnections, fds / 4);
  }
  if (out.max_connections_per_peer <= 0) {
    out.max_connections_per_peer = PerPeer(out.max_connections);
  }
  if (out.max_streams <= 0) out.max_streams = std::max(kMinStreams, fds / 8);
  if (out.max_streams_per_peer <= 0) {
    out.max_streams_per_peer = PerPeer(out.max_streams);
  }
  if (out.max_streams_per_connection <= 0) {
    out.max_streams_per_connection = kStreamsPerConnection;
  }
  if (out.handshake_timeout <= absl::ZeroDuration()) {
    out.handshake_timeout = kHandshakeTimeout;
  }
  return out;
}

std::string PeerAddress(absl::string_view peer) {
  absl::string_view rest = peer;
  if (absl::ConsumePrefix(&rest, "ipv4:")) {
    const size_t colon = rest.rfind(':');
    return std::string(
        colon == absl::string_view::npos ? rest : rest.substr(0, colon));
  }
  if (absl::ConsumePrefix(&rest, "ipv6:")) {
    // "[addr]:port" (gRPC's form) or "[addr%scope]:port".
    if (absl::ConsumePrefix(&rest, "[")) {
      const size_t close = rest.find(']');
      if (close != absl::string_view::npos) rest = rest.substr(0, close);
    }
    absl::string_view v4 = rest;
    if (absl::ConsumePrefix(&v4, "::ffff:") &&
        v4.find(':') == absl::string_view::npos) {
      return std::string(v4);
    }
    return std::string(rest);
  }
  return std::string(peer);
}

StreamLimiter::~StreamLimiter() {
  absl::MutexLock lock(&mu_);
  LOG_IF(DFATAL, total_ != 0)
      << "StreamLimiter destroyed with " << total_ << " slots out";
}

absl::StatusOr<StreamLimiter::Slot> StreamLimiter::Acquire(
    const std::string& peer) {
  {
    absl::MutexLock lock(&mu_);
    if (max_total_ > 0 && total_ >= max_total_) {
      return absl::ResourceExhaustedError(
          absl::StrCat("too many output streams open on this server: ", total_,
                       ", the limit (--max_streams); try again later"));
    }
    int64_t& mine = per_peer_[peer];
    if (max_per_peer_ > 0 && mine >= max_per_peer_) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "too many output streams open from ", peer, ": ", mine,
          ", the limit per client address (--max_streams_per_peer)"));
    }
    ++mine;
    ++total_;
  }
  // The slot holds nothing but its release.
  return Slot(static_cast<const void*>(this),
              [this, peer](const void*) { Release(peer); });
}

void StreamLimiter::Release(const std::string& peer) {
  absl::MutexLock lock(&mu_);
  --total_;
  auto it = per_peer_.find(peer);
  if (it != per_peer_.end() && --it->second <= 0) per_peer_.erase(it);
}

int64_t StreamLimiter::open() const {
  absl::MutexLock lock(&mu_);
  return total_;
}

}  // namespace cmdctl

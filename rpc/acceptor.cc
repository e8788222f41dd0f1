#include "rpc/acceptor.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/errno_status.h"
#include "glog/logging.h"
#include "rpc/connection_limits.h"

namespace cmdctl {
namespace {

// Connections accepted from one listener before the others get a turn.
constexpr int kBatch = 64;
// At most this many connections shed per retry (the listen backlog's size
// is the kernel's somaxconn, 4096 by default).
constexpr int kMaxShedPerRetry = 4096;
// Refusals are logged at most this often (a flood would fill the log).
constexpr absl::Duration kRefusalLogInterval = absl::Seconds(10);

bool IsResourceError(int err) {
  return err == EMFILE || err == ENFILE || err == ENOMEM || err == ENOBUFS;
}

// The client's address as PeerAddress() gives it for gRPC's peer string.
std::string AddressOf(const sockaddr_storage& addr) {
  char text[INET6_ADDRSTRLEN] = "?";
  if (addr.ss_family == AF_INET6) {
    const auto& a = reinterpret_cast<const sockaddr_in6&>(addr);
    inet_ntop(AF_INET6, &a.sin6_addr, text, sizeof(text));
    return PeerAddress(absl::StrCat("ipv6:[", text, "]:0"));
  }
  if (addr.ss_family == AF_INET) {
    const auto& a = reinterpret_cast<const sockaddr_in&>(addr);
    inet_ntop(AF_INET, &a.sin_addr, text, sizeof(text));
  }
  return text;
}

UniqueFd OpenReserve() {
  return UniqueFd(open("/dev/null", O_RDONLY | O_CLOEXEC));
}

}  // namespace

absl::StatusOr<std::unique_ptr<Acceptor>> Acceptor::Start(
    std::vector<UniqueFd> listeners, const Options& options, Handoff handoff) {
  UniqueFd wake(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake) return ErrnoStatus(errno, "eventfd", ErrnoCause::kMachinery);
  std::unique_ptr<Acceptor> acceptor(new Acceptor(
      std::move(listeners), options, std::move(handoff), std::move(wake)));
  acceptor->thread_ = std::thread([a = acceptor.get()] { a->Loop(); });
  return acceptor;
}

Acceptor::Acceptor(std::vector<UniqueFd> listeners, const Options& options,
                   Handoff handoff, UniqueFd wake)
    : options_(options),
      handoff_(std::move(handoff)),
      listeners_(std::move(listeners)),
      wake_(std::move(wake)),
      reserve_(OpenReserve()),
      table_(options.max_connections, options.max_connections_per_peer) {}

Acceptor::~Acceptor() { Stop(); }

void Acceptor::Stop() {
  if (stopped_) return;
  stopped_ = true;
  const uint64_t one = 1;
  (void)!write(wake_.get(), &one, sizeof(one));
  if (thread_.joinable()) thread_.join();
  listeners_.clear();
}

Acceptor::Stats Acceptor::stats() {
  const int64_t open = table_.Sweep();
  absl::MutexLock lock(&mu_);
  Stats out = stats_;
  out.open = open;
  return out;
}

void Acceptor::Loop() {
  std::vector<pollfd> fds;
  for (;;) {
    const absl::Time now = absl::Now();
    const bool paused = now < paused_until_;
    fds.clear();
    fds.push_back({wake_.get(), POLLIN, 0});
    if (!paused) {
      for (const UniqueFd& l : listeners_) fds.push_back({l.get(), POLLIN, 0});
    }
    int timeout_ms = -1;
    if (paused) {
      timeout_ms = static_cast<int>(absl::ToInt64Milliseconds(
          absl::Ceil(paused_until_ - now, absl::Milliseconds(1))));
      timeout_ms = std::max(timeout_ms, 1);
    }
    const int n = poll(fds.data(), fds.size(), timeout_ms);
    if (n < 0) {
      if (errno == EINTR) continue;
      // ENOMEM: poll itself is short of memory. Wait and try again.
      PLOG(ERROR) << "poll on the listening sockets";
      absl::SleepFor(options_.max_pause);
      continue;
    }
    if (fds[0].revents != 0) return;  // Stop
    for (size_t i = 1; i < fds.size(); ++i) {
      if (fds[i].revents == 0) continue;
      if (!AcceptSome(fds[i].fd)) break;
    }
  }
}

bool Acceptor::AcceptSome(int listener) {
  for (int i = 0; i < kBatch; ++i) {
    sockaddr_storage addr = {};
    socklen_t len = sizeof(addr);
    const int fd = accept4(listener, reinterpret_cast<sockaddr*>(&addr), &len,
                           SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      const int err = errno;
      if (err == EINTR) continue;
      if (err == EAGAIN || err == EWOULDBLOCK) return true;
      if (IsResourceError(err)) {
        OnResourceError(listener, err);
        return false;
      }
      // ECONNABORTED, EPROTO, EPERM (a firewall) and the like concern that
      // one connection; go on with the next.
      continue;
    }
    if (exhausted_since_ != absl::InfiniteFuture()) {
      LOG(WARNING) << "accepting connections again after "
                   << absl::FormatDuration(absl::Now() - exhausted_since_)
                   << " short of resources (" << shed_since_exhausted_
                   << " waiting connections shed meanwhile)";
      exhausted_since_ = absl::InfiniteFuture();
      pause_ = absl::ZeroDuration();
      shed_since_exhausted_ = 0;
    }
    if (!reserve_) reserve_ = OpenReserve();
    Admit(fd, listener, AddressOf(addr));
  }
  return true;
}

void Acceptor::Admit(int fd, int listener, const std::string& peer) {
  const absl::Time now = absl::Now();
  const ConnectionTable::Verdict verdict = table_.Admit(fd, peer, now);
  if (verdict == ConnectionTable::Verdict::kAdmitted) {
    {
      absl::MutexLock lock(&mu_);
      ++stats_.accepted;
    }
    handoff_(fd, listener);
    return;
  }
  // Counted before the close: whoever sees the close sees the count.
  int64_t refused;
  {
    absl::MutexLock lock(&mu_);
    refused = ++stats_.refused;
  }
  close(fd);
  const bool in_all = verdict == ConnectionTable::Verdict::kTooManyInAll;
  absl::Time& last_log = last_refusal_log_[in_all ? 0 : 1];
  if (now - last_log >= kRefusalLogInterval) {
    last_log = now;
    if (in_all) {
      LOG(WARNING) << "refusing connections: " << options_.max_connections
                   << " open, the limit (--max_connections); " << refused
                   << " refused so far";
    } else {
      LOG(WARNING) << "refusing connections from " << peer << ": "
                   << options_.max_connections_per_peer
                   << " open from that address, the limit "
                      "(--max_connections_per_peer); "
                   << refused << " refused so far";
    }
  }
}

void Acceptor::OnResourceError(int listener, int err) {
  const absl::Time now = absl::Now();
  {
    absl::MutexLock lock(&mu_);
    ++stats_.resource_errors;
  }
  if (exhausted_since_ == absl::InfiniteFuture()) {
    exhausted_since_ = now;
    pause_ = options_.first_pause;
    LOG(WARNING) << "accept: " << ErrnoText(err)
                 << ": pausing new connections, retrying until it works";
  } else {
    pause_ = std::min(pause_ * 2, options_.max_pause);
  }
  if ((err == EMFILE || err == ENFILE) &&
      now - exhausted_since_ >= options_.shed_after) {
    Shed(listener);
  }
  paused_until_ = now + pause_;
}

void Acceptor::Shed(int listener) {
  reserve_.reset();  // one fd to accept with
  int shed = 0;
  while (shed < kMaxShedPerRetry) {
    const int fd = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR) continue;
      break;
    }
    {
      absl::MutexLock lock(&mu_);  // counted before the close, as refusals
      ++stats_.shed;
    }
    close(fd);
    ++shed;
  }
  reserve_ = OpenReserve();  // may fail while fds are short: retried later
  shed_since_exhausted_ += shed;
}

}  // namespace cmdctl

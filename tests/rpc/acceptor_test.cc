// The acceptor with plain sockets (no gRPC, no TLS): what it hands off, what
// it closes at once, how it stops. Exhaustion of fds is tested against a
// real cmdctld (integration_tests/rpc/connection_limits_test.cc).
#include "rpc/acceptor.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "rpc/listen_sockets.h"

namespace cmdctl {
namespace {

// Keeps what it is handed (the "gRPC" of these tests).
class Sink {
 public:
  Acceptor::Handoff Handoff() {
    return [this](int fd, int) {
      absl::MutexLock lock(&mu_);
      fds_.emplace_back(fd);
      changed_.SignalAll();
    };
  }
  // (A CondVar, not Await with a Condition: the TSan build's annotations
  // of Debian's uninstrumented Abseil model CondVar waits exactly.)
  bool WaitFor(size_t n) {
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    absl::MutexLock lock(&mu_);
    while (fds_.size() < n) {
      if (changed_.WaitWithDeadline(&mu_, deadline)) return fds_.size() >= n;
    }
    return true;
  }
  size_t size() {
    absl::MutexLock lock(&mu_);
    return fds_.size();
  }
  void CloseAll() {
    absl::MutexLock lock(&mu_);
    fds_.clear();
  }

 private:
  absl::Mutex mu_;
  absl::CondVar changed_;
  std::vector<UniqueFd> fds_ ABSL_GUARDED_BY(mu_);
};

UniqueFd ConnectFrom(const std::string& from, int port) {
  UniqueFd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in src = {};
  src.sin_family = AF_INET;
  inet_pton(AF_INET, from.c_str(), &src.sin_addr);
  EXPECT_EQ(bind(fd.get(), reinterpret_cast<sockaddr*>(&src), sizeof(src)), 0);
  sockaddr_in dst = {};
  dst.sin_family = AF_INET;
  dst.sin_port = htons(port);
  inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr);
  EXPECT_EQ(connect(fd.get(), reinterpret_cast<sockaddr*>(&dst), sizeof(dst)),
            0);
  return fd;
}

// The server closed it: EOF within a few seconds.
bool Closed(const UniqueFd& fd) {
  pollfd p = {fd.get(), POLLIN, 0};
  if (poll(&p, 1, 5000) != 1) return false;
  char c;
  return recv(fd.get(), &c, 1, 0) <= 0;
}

struct Listening {
  Listening() {
    absl::StatusOr<ListenSockets> s = OpenListenSockets("127.0.0.1:0", 128);
    EXPECT_TRUE(s.ok()) << s.status();
    port = s->port;
    fds = std::move(s->fds);
  }
  int port = 0;
  std::vector<UniqueFd> fds;
};

TEST(AcceptorTest, HandsOffWithinTheLimitsAndClosesTheRest) {
  Listening l;
  Sink sink;
  Acceptor::Options options;
  options.max_connections = 3;
  options.max_connections_per_peer = 2;
  absl::StatusOr<std::unique_ptr<Acceptor>> acceptor =
      Acceptor::Start(std::move(l.fds), options, sink.Handoff());
  ASSERT_TRUE(acceptor.ok());
  UniqueFd a1 = ConnectFrom("127.0.0.2", l.port);
  UniqueFd a2 = ConnectFrom("127.0.0.2", l.port);
  ASSERT_TRUE(sink.WaitFor(2));
  UniqueFd a3 = ConnectFrom("127.0.0.2", l.port);
  EXPECT_TRUE(Closed(a3));  // over the per-address limit
  UniqueFd b1 = ConnectFrom("127.0.0.3", l.port);
  ASSERT_TRUE(sink.WaitFor(3));
  UniqueFd c1 = ConnectFrom("127.0.0.4", l.port);
  EXPECT_TRUE(Closed(c1));  // over the limit in all
  Acceptor::Stats stats = (*acceptor)->stats();
  EXPECT_EQ(stats.accepted, 3);
  EXPECT_EQ(stats.refused, 2);
  EXPECT_EQ(stats.open, 3);
  // Connections closed by their owner free their places.
  sink.CloseAll();
  UniqueFd a4 = ConnectFrom("127.0.0.2", l.port);
  EXPECT_TRUE(sink.WaitFor(1));
  EXPECT_EQ((*acceptor)->stats().open, 1);
}

TEST(AcceptorTest, StopClosesTheListenersAndHandsOffNothingMore) {
  Listening l;
  const int port = l.port;
  Sink sink;
  absl::StatusOr<std::unique_ptr<Acceptor>> acceptor =
      Acceptor::Start(std::move(l.fds), Acceptor::Options{}, sink.Handoff());
  ASSERT_TRUE(acceptor.ok());
  UniqueFd a = ConnectFrom("127.0.0.2", port);
  ASSERT_TRUE(sink.WaitFor(1));
  (*acceptor)->Stop();
  (*acceptor)->Stop();  // idempotent
  UniqueFd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in dst = {};
  dst.sin_family = AF_INET;
  dst.sin_port = htons(port);
  inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr);
  EXPECT_NE(connect(fd.get(), reinterpret_cast<sockaddr*>(&dst), sizeof(dst)),
            0);
  EXPECT_EQ(sink.size(), 1u);
}

TEST(ListenSocketsTest, ParsesAndRefusesAddresses) {
  EXPECT_EQ(OpenListenSockets("localhost", 8).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(OpenListenSockets("::1:9090", 8).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(OpenListenSockets("127.0.0.1:70000", 8).status().code(),
            absl::StatusCode::kInvalidArgument);
  absl::StatusOr<ListenSockets> wildcard = OpenListenSockets("[::]:0", 8);
  ASSERT_TRUE(wildcard.ok()) << wildcard.status();
  EXPECT_GT(wildcard->port, 0);
  // Both families where the host has them, on one port.
  EXPECT_GE(wildcard->fds.size(), 1u);
  // The port is taken: a second server fails instead of sharing it.
  absl::StatusOr<ListenSockets> again =
      OpenListenSockets("127.0.0.1:" + std::to_string(wildcard->port), 8);
  EXPECT_EQ(again.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(OpenListenSockets("no-such-host.invalid:0", 8).status().code(),
            absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace cmdctl

// The connection and stream limits' bookkeeping (no gRPC): defaults from the
// fd limit, peer addresses, the stream limiter, the connection table.
#include "rpc/connection_limits.h"

#include <sys/socket.h>
#include <unistd.h>

#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rpc/connection_table.h"

namespace cmdctl {
namespace {

using ::testing::HasSubstr;

TEST(ConnectionLimitsTest, DefaultsAreSharesOfTheFdLimit) {
  ConnectionLimits l = DefaultConnectionLimits(20000);
  EXPECT_EQ(l.max_connections, 5000);
  EXPECT_EQ(l.max_connections_per_peer, 625);
  EXPECT_EQ(l.max_streams, 2500);
  EXPECT_EQ(l.max_streams_per_peer, 312);
  EXPECT_EQ(l.max_streams_per_connection, 100);
  EXPECT_EQ(l.handshake_timeout, absl::Seconds(5));
  // Connections and streams (two fds each at most) take half the fds.
  EXPECT_LE(l.max_connections + 2 * l.max_streams, 20000 / 2);
}

TEST(ConnectionLimitsTest, TinyFdLimitsStillServeAFew) {
  ConnectionLimits l = DefaultConnectionLimits(64);
  EXPECT_EQ(l.max_connections, 16);
  EXPECT_EQ(l.max_connections_per_peer, 4);
  EXPECT_EQ(l.max_streams, 8);
  EXPECT_EQ(l.max_streams_per_peer, 4);
}

TEST(ConnectionLimitsTest, PerAddressDefaultsFollowAnExplicitTotal) {
  ConnectionLimits asked;
  asked.max_connections = 80;
  asked.max_streams = 2;
  asked.max_streams_per_peer = 1;
  ConnectionLimits l = ResolveConnectionLimits(1 << 20, asked);
  EXPECT_EQ(l.max_connections, 80);
  EXPECT_EQ(l.max_connections_per_peer, 10);
  EXPECT_EQ(l.max_streams, 2);
  EXPECT_EQ(l.max_streams_per_peer, 1);
  // Never above its total.
  asked.max_streams_per_peer = 0;
  EXPECT_EQ(ResolveConnectionLimits(1 << 20, asked).max_streams_per_peer, 2);
}

TEST(PeerAddressTest, StripsSchemeAndPort) {
  EXPECT_EQ(PeerAddress("ipv4:127.0.0.1:51234"), "127.0.0.1");
  EXPECT_EQ(PeerAddress("ipv6:[::1]:51234"), "::1");
  EXPECT_EQ(PeerAddress("ipv6:[::ffff:10.0.0.1]:5"), "10.0.0.1");
  EXPECT_EQ(PeerAddress("ipv6:[fe80::1%lo]:5"), "fe80::1%lo");
  EXPECT_EQ(PeerAddress("unix:/run/x.sock"), "unix:/run/x.sock");
}

TEST(StreamLimiterTest, LimitsPerAddressAndInAllAndGivesSlotsBack) {
  StreamLimiter limiter(StreamLimits{3, 2});
  std::vector<StreamLimiter::Slot> held;
  for (int i = 0; i < 2; ++i) {
    absl::StatusOr<StreamLimiter::Slot> slot = limiter.Acquire("a");
    ASSERT_TRUE(slot.ok());
    held.push_back(*std::move(slot));
  }
  absl::StatusOr<StreamLimiter::Slot> third = limiter.Acquire("a");
  EXPECT_EQ(third.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(third.status().message(), HasSubstr("--max_streams_per_peer"));
  absl::StatusOr<StreamLimiter::Slot> b = limiter.Acquire("b");
  ASSERT_TRUE(b.ok());
  absl::StatusOr<StreamLimiter::Slot> b2 = limiter.Acquire("b");
  EXPECT_EQ(b2.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(b2.status().message(), HasSubstr("(--max_streams)"));
  EXPECT_EQ(limiter.open(), 3);
  // A copy holds the slot too; the last one gives it back.
  StreamLimiter::Slot copy = held[0];
  held.erase(held.begin());
  EXPECT_EQ(limiter.open(), 3);
  copy.reset();
  EXPECT_EQ(limiter.open(), 2);
  EXPECT_TRUE(limiter.Acquire("a").ok());  // and released at once
  b->reset();
  held.clear();
  EXPECT_EQ(limiter.open(), 0);
}

TEST(StreamLimiterTest, ZeroMeansNoLimit) {
  StreamLimiter limiter(StreamLimits{});
  std::vector<StreamLimiter::Slot> held;
  for (int i = 0; i < 1000; ++i) {
    absl::StatusOr<StreamLimiter::Slot> slot = limiter.Acquire("a");
    ASSERT_TRUE(slot.ok());
    held.push_back(*std::move(slot));
  }
}

// A connected socket pair; the table watches one end.
struct Pair {
  Pair() { EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0); }
  ~Pair() {
    for (int fd : fds) {
      if (fd >= 0) close(fd);
    }
  }
  void CloseOurs() {
    close(fds[0]);
    fds[0] = -1;
  }
  int fds[2] = {-1, -1};
};

TEST(ConnectionTableTest, CountsPerPeerAndInAll) {
  ConnectionTable table(3, 2, absl::ZeroDuration());
  Pair a1, a2, a3, b1, c1;
  const absl::Time now = absl::Now();
  EXPECT_EQ(table.Admit(a1.fds[0], "a", now),
            ConnectionTable::Verdict::kAdmitted);
  EXPECT_EQ(table.Admit(a2.fds[0], "a", now),
            ConnectionTable::Verdict::kAdmitted);
  EXPECT_EQ(table.Admit(a3.fds[0], "a", now),
            ConnectionTable::Verdict::kTooManyFromPeer);
  EXPECT_EQ(table.Admit(b1.fds[0], "b", now),
            ConnectionTable::Verdict::kAdmitted);
  EXPECT_EQ(table.Admit(c1.fds[0], "c", now),
            ConnectionTable::Verdict::kTooManyInAll);
  EXPECT_EQ(table.size(), 3);
  EXPECT_EQ(table.CountFrom("a"), 2);
}

TEST(ConnectionTableTest, ClosedConnectionsAreSweptAtTheLimit) {
  ConnectionTable table(2, 2, absl::ZeroDuration());
  Pair a1, a2, a3;
  const absl::Time now = absl::Now();
  ASSERT_EQ(table.Admit(a1.fds[0], "a", now),
            ConnectionTable::Verdict::kAdmitted);
  ASSERT_EQ(table.Admit(a2.fds[0], "a", now),
            ConnectionTable::Verdict::kAdmitted);
  a1.CloseOurs();  // as gRPC would, without telling the table
  EXPECT_EQ(table.Admit(a3.fds[0], "a", now),
            ConnectionTable::Verdict::kAdmitted);
  EXPECT_EQ(table.Sweep(), 2);
}

TEST(ConnectionTableTest, AnFdNumberReusedForAnotherFileIsNotTheConnection) {
  ConnectionTable table(1, 1, absl::ZeroDuration());
  Pair a;
  ASSERT_EQ(table.Admit(a.fds[0], "a", absl::Now()),
            ConnectionTable::Verdict::kAdmitted);
  const int number = a.fds[0];
  a.CloseOurs();
  Pair other;  // most likely takes the number again
  if (other.fds[0] != number && other.fds[1] != number) {
    GTEST_SKIP() << "the fd number was not reused";
  }
  EXPECT_EQ(table.Sweep(), 0);
}

TEST(ConnectionTableTest, SweepsAtMostOncePerInterval) {
  ConnectionTable table(1, 1, absl::Hours(1));
  Pair a, b, c;
  const absl::Time now = absl::Now();
  ASSERT_EQ(table.Admit(a.fds[0], "a", now),
            ConnectionTable::Verdict::kAdmitted);
  a.CloseOurs();
  // The first refusal sweeps (and finds a gone); the next within the
  // interval does not.
  EXPECT_EQ(table.Admit(b.fds[0], "a", now),
            ConnectionTable::Verdict::kAdmitted);
  b.CloseOurs();
  EXPECT_EQ(table.Admit(c.fds[0], "a", now + absl::Seconds(1)),
            ConnectionTable::Verdict::kTooManyInAll);
}

}  // namespace
}  // namespace cmdctl

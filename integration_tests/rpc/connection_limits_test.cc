// Issue 14, point 1: no number of connections, half-open handshakes or
// streams, from anyone, stops cmdctld from serving (SPEC §8). A real server
// with a low fd limit, raw TCP connections that never start TLS, and real
// mutual-TLS calls afterwards.
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "integration_tests/rpc/hardening_fixture.h"

namespace cmdctl::test {
namespace {

using ::testing::HasSubstr;

class ConnectionLimitsTest : public HardeningTest {
 protected:
  // `n` raw connections from `from`, held open.
  std::vector<UniqueFd> Flood(int n, const std::string& from = "") {
    std::vector<UniqueFd> out;
    for (int i = 0; i < n; ++i) {
      absl::StatusOr<UniqueFd> fd = RawConnect(server().port(), from);
      if (!fd.ok()) {
        ADD_FAILURE() << "connection " << i << ": " << fd.status();
        break;
      }
      out.push_back(*std::move(fd));
    }
    return out;
  }

  // How many of `conns` the server closes: waits until `expected` are
  // closed (or `timeout`), then half a second more for any beyond.
  static int ClosedCount(const std::vector<UniqueFd>& conns, int expected,
                         absl::Duration timeout = absl::Seconds(10)) {
    std::vector<bool> closed(conns.size(), false);
    int n = 0;
    absl::Time deadline = absl::Now() + timeout;
    bool extra = false;
    for (;;) {
      for (size_t i = 0; i < conns.size(); ++i) {
        if (!closed[i] && ClosedWithin(conns[i].get(), absl::ZeroDuration())) {
          closed[i] = true;
          ++n;
        }
      }
      if (n >= expected && !extra) {
        extra = true;
        deadline = std::min(deadline, absl::Now() + absl::Milliseconds(500));
      }
      if (absl::Now() >= deadline) return n;
      absl::SleepFor(absl::Milliseconds(20));
    }
  }
};

// The attack: under a 64-fd limit, 80 connections without a TLS
// handshake made gRPC's accept4 fail with EMFILE, after which it never
// accepted again. The connection limits are lifted here so that accept
// really runs out of fds: the server must take up accepting by itself.
TEST_F(ConnectionLimitsTest, ServesAgainAfterUnauthenticatedFloodExhaustedFds) {
  StartServer({"--max_connections=1000", "--max_connections_per_peer=1000",
               "--handshake_timeout=30s"},
              /*fd_limit=*/64);
  auto stub = Stub(Pki().alice);
  ASSERT_TRUE(List(stub.get()).ok());
  for (int round = 0; round < 2; ++round) {
    SCOPED_TRACE(absl::StrCat("round ", round));
    std::vector<UniqueFd> flood = Flood(80);
    // accept4 has failed with EMFILE (otherwise the test proves nothing).
    const absl::Time deadline = absl::Now() + kBound;
    while (CountInLog(server().ReadLog(), "Too many open files") <= round &&
           absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(50));
    }
    ASSERT_GT(CountInLog(server().ReadLog(), "Too many open files"), round)
        << server().ReadLog();
    flood.clear();
    // A fresh client (new connection) is served, within a bound.
    grpc::Status status = List(Stub(Pki().alice).get(), absl::Seconds(20));
    EXPECT_TRUE(status.ok())
        << status.error_code() << " " << status.error_message();
  }
  EXPECT_THAT(server().ReadLog(), HasSubstr("accepting connections again"));
  EXPECT_EQ(CountInLog(server().ReadLog(), "Failed accept4"), 0);
}

// With the default limits (derived from the fd limit) a flood never makes
// the server run out of fds: connections beyond the limit are closed at
// once, and the server's fds stay within the limit with room to spare.
TEST_F(ConnectionLimitsTest, DefaultLimitsKeepFdsInReserveUnderAFlood) {
  StartServer({"--handshake_timeout=30s"}, /*fd_limit=*/64);
  // fd limit 64: 16 connections in all, 4 per address.
  EXPECT_THAT(server().ReadLog(),
              HasSubstr("connections 16 in all, 4 per address"));
  const int idle_fds = ServerFdCount();
  std::vector<UniqueFd> flood = Flood(80, "127.0.0.2");
  // 4 admitted, 76 closed at once.
  EXPECT_EQ(ClosedCount(flood, 76), 76);
  EXPECT_LE(ServerFdCount(), idle_fds + 4);
  // Another address is served meanwhile, through the same flood.
  EXPECT_TRUE(List(Stub(Pki().alice).get(), absl::Seconds(20)).ok());
  EXPECT_EQ(CountInLog(server().ReadLog(), "Too many open files"), 0);
  EXPECT_THAT(server().ReadLog(),
              HasSubstr("refusing connections from 127.0.0.2"));
}

TEST_F(ConnectionLimitsTest, ConnectionLimitsPerAddressAndInAll) {
  StartServer({"--max_connections=6", "--max_connections_per_peer=3",
               "--handshake_timeout=60s"});
  std::vector<UniqueFd> from2 = Flood(5, "127.0.0.2");
  EXPECT_EQ(ClosedCount(from2, 2), 2);  // 3 per address
  std::vector<UniqueFd> from3 = Flood(3, "127.0.0.3");
  EXPECT_EQ(ClosedCount(from3, 0), 0);
  // 6 in all: a seventh address is refused too, and so is a real client.
  std::vector<UniqueFd> from4 = Flood(1, "127.0.0.4");
  EXPECT_EQ(ClosedCount(from4, 1), 1);
  grpc::Status refused = List(Stub(Pki().alice).get(), absl::Seconds(3));
  EXPECT_FALSE(refused.ok());
  // The held connections are counted as gone once the server has closed
  // them too (it notices the EOF soon, not at once: hence a client that
  // tries again).
  from2.clear();
  grpc::Status status = List(Stub(Pki().alice).get(), absl::Seconds(20),
                             /*wait_for_ready=*/true);
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_THAT(server().ReadLog(), HasSubstr("the limit (--max_connections)"));
}

// A connection that does not finish its handshake within
// --handshake_timeout is closed: silent, or stopped half-way.
TEST_F(ConnectionLimitsTest, HandshakeNotFinishedInTimeIsClosed) {
  StartServer({"--handshake_timeout=1s"});
  absl::StatusOr<UniqueFd> silent = RawConnect(server().port());
  ASSERT_TRUE(silent.ok());
  absl::StatusOr<UniqueFd> partial = RawConnect(server().port());
  ASSERT_TRUE(partial.ok());
  // The first bytes of a TLS ClientHello record, and no more.
  const unsigned char hello[] = {0x16, 0x03, 0x01, 0x02, 0x00,
                                 0x01, 0x00, 0x01, 0xfc};
  ASSERT_EQ(write(partial->get(), hello, sizeof(hello)),
            static_cast<ssize_t>(sizeof(hello)));
  const absl::Time start = absl::Now();
  EXPECT_TRUE(ClosedWithin(silent->get(), absl::Seconds(10)));
  EXPECT_TRUE(ClosedWithin(partial->get(), absl::Seconds(10)));
  // Not before its time: a second, give or take the timer's slack.
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(500));
  // A client that does finish its handshake is served as usual.
  EXPECT_TRUE(List(Stub(Pki().alice).get()).ok());
}

// The fd limit drops below what the server holds while it runs (another
// process's prlimit, as an operator could do): accept fails with EMFILE;
// once the unauthenticated connections are gone the server serves again,
// with the limit still that low.
TEST_F(ConnectionLimitsTest, RecoversFromEmfileWhenTheLimitDropsAtRuntime) {
  StartServer({"--handshake_timeout=30s"});
  auto stub = Stub(Pki().alice);
  ASSERT_TRUE(List(stub.get()).ok());
  const int fds = ServerFdCount();
  struct rlimit low = {static_cast<rlim_t>(fds + 8),
                       static_cast<rlim_t>(fds + 8)};
  ASSERT_EQ(prlimit(server().pid(), RLIMIT_NOFILE, &low, nullptr), 0);
  {
    std::vector<UniqueFd> flood = Flood(40);
    const absl::Time deadline = absl::Now() + kBound;
    while (CountInLog(server().ReadLog(), "Too many open files") == 0 &&
           absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(50));
    }
    ASSERT_GT(CountInLog(server().ReadLog(), "Too many open files"), 0);
  }
  grpc::Status status = List(Stub(Pki().alice).get(), absl::Seconds(20));
  EXPECT_TRUE(status.ok()) << status.error_message();
  // The connection made before is still served too.
  EXPECT_TRUE(List(stub.get()).ok());
}

// ---------------------------------------------------------------------------
// Streams

class StreamLimitsTest : public HardeningTest {
 protected:
  // A job that prints a line and then waits (stopped by the test).
  std::string StartWaitingJob(v1::ProcessService::Stub* stub) {
    v1::RunProcessResponse response;
    grpc::Status status =
        Run(stub, {"/bin/sh", "-c", "echo ready; exec sleep 120"}, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.job_id();
  }

  struct Follower {
    std::unique_ptr<grpc::ClientContext> context;
    std::unique_ptr<grpc::ClientReader<v1::ProcessOutputResponse>> reader;
    grpc::Status status;  // set when it did not start
  };
  // A follower of `job_id`: started (it got "ready") or refused (status).
  static Follower Follow(v1::ProcessService::Stub* stub,
                         const std::string& job_id) {
    Follower f;
    f.context = Context();
    v1::ProcessOutputRequest request;
    request.set_job_id(job_id);
    f.reader = stub->GetProcessOutput(f.context.get(), request);
    v1::ProcessOutputResponse message;
    if (!f.reader->Read(&message)) {
      f.status = f.reader->Finish();
      f.reader.reset();
    }
    return f;
  }
  static void Cancel(Follower* f) {
    if (f->reader == nullptr) return;
    f->context->TryCancel();
    v1::ProcessOutputResponse message;
    while (f->reader->Read(&message)) {
    }
    f->reader->Finish();
    f->reader.reset();
  }
  // Follows until a follower is let in again (slots come back when the
  // server is done with a cancelled stream: soon, not at once).
  static Follower FollowOnceAdmitted(v1::ProcessService::Stub* stub,
                                     const std::string& job_id) {
    const absl::Time deadline = absl::Now() + kBound;
    for (;;) {
      Follower f = Follow(stub, job_id);
      if (f.reader != nullptr || absl::Now() > deadline) return f;
      absl::SleepFor(absl::Milliseconds(50));
    }
  }
};

TEST_F(StreamLimitsTest, OutputStreamsPerAddressAndInAll) {
  // IPv4 and IPv6 loopback: two client addresses.
  StartServer(
      {"--listen=[::]:0", "--max_streams=3", "--max_streams_per_peer=2"});
  auto v4 = Stub(Pki().alice);
  auto v6 = Stub(Pki().alice, absl::StrCat("[::1]:", server().port()));
  const std::string job = StartWaitingJob(v4.get());
  Follower a = Follow(v4.get(), job), b = Follow(v4.get(), job);
  ASSERT_NE(a.reader, nullptr) << a.status.error_message();
  ASSERT_NE(b.reader, nullptr) << b.status.error_message();
  Follower c = Follow(v4.get(), job);
  EXPECT_EQ(c.status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(c.status.error_message(), HasSubstr("--max_streams_per_peer"));
  // Another address still has room, until the total is reached.
  Follower d = Follow(v6.get(), job);
  ASSERT_NE(d.reader, nullptr) << d.status.error_message();
  Follower e = Follow(v6.get(), job);
  EXPECT_EQ(e.status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(e.status.error_message(), HasSubstr("(--max_streams)"));
  // A stream that ends gives its slot back.
  Cancel(&a);
  Follower f = FollowOnceAdmitted(v4.get(), job);
  EXPECT_NE(f.reader, nullptr) << f.status.error_message();
  for (Follower* x : {&b, &d, &f}) Cancel(x);
  EXPECT_TRUE(Stop(v4.get(), job).ok());
}

// Concurrent calls on one connection are capped (HTTP/2
// SETTINGS_MAX_CONCURRENT_STREAMS): the client holds the next one back
// until a stream ends; another connection is not affected.
TEST_F(StreamLimitsTest, CallsPerConnectionAreCapped) {
  StartServer({"--max_streams_per_connection=2"});
  auto stub = Stub(Pki().alice);
  const std::string job = StartWaitingJob(stub.get());
  Follower a = Follow(stub.get(), job), b = Follow(stub.get(), job);
  ASSERT_NE(a.reader, nullptr);
  ASSERT_NE(b.reader, nullptr);
  v1::ProcessStatusRequest request;
  request.set_job_id(job);
  v1::ProcessStatusResponse response;
  grpc::Status held = stub->GetProcessStatus(Context(absl::Seconds(2)).get(),
                                             request, &response);
  EXPECT_EQ(held.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_TRUE(Stub(Pki().alice)
                  ->GetProcessStatus(Context().get(), request, &response)
                  .ok());
  Cancel(&a);
  EXPECT_TRUE(stub->GetProcessStatus(Context().get(), request, &response).ok());
  Cancel(&b);
  EXPECT_TRUE(Stop(stub.get(), job).ok());
}

}  // namespace
}  // namespace cmdctl::test

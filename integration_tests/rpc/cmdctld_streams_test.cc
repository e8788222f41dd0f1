// cmdctld end to end: a real server (child process) on 127.0.0.1:0 with
// certificates made by the test, real unix users, real TLS 1.3, real jobs.
// Runs as root.
// This file: output streams, followers and readers.

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cmdctl/v1/cmdctl.grpc.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "integration_tests/common/runnable_copy.h"
#include "integration_tests/common/server_process.h"
#include "integration_tests/common/test_pki.h"
#include "integration_tests/common/test_users.h"
#include "integration_tests/rpc/cmdctld_fixture.h"
#include "tls/tls_policy.h"

namespace cmdctl {
namespace {

using ::cmdctl::test::CpuTicks;
using ::cmdctl::test::RssKiB;

using it::CmdctldTest;
using it::fixture;

// ---------------------------------------------------------------------------
// Streaming

std::string ExpectedLines(const std::string& prefix, int n) {
  std::string s;
  for (int i = 0; i < n; ++i) absl::StrAppend(&s, prefix, " ", i, "\n");
  return s;
}

TEST_F(CmdctldTest, FollowersJoiningAtDifferentMomentsGetIdenticalStreams) {
  auto alice = Stub(fixture->alice);
  constexpr int kLines = 150;
  const std::string id =
      Run(alice.get(), "/bin/sh",
          {"-c", absl::StrCat("i=0; while [ $i -lt ", kLines,
                              " ]; do echo \"out $i\"; echo \"err $i\" >&2; "
                              "i=$((i+1)); sleep 0.01; done")});
  constexpr int kFollowers = 8;
  std::vector<Output> outputs(kFollowers);
  std::vector<std::thread> threads;
  for (int i = 0; i < kFollowers; ++i) {
    threads.emplace_back([&, i] { outputs[i] = ReadAll(alice.get(), id); });
    absl::SleepFor(absl::Milliseconds(150));  // join at different moments
  }
  for (auto& t : threads) t.join();
  const v1::ProcessStatus end = WaitForEnd(alice.get(), id);
  EXPECT_EQ(end.state(), v1::JOB_STATE_EXITED);
  const std::string want_out = ExpectedLines("out", kLines);
  const std::string want_err = ExpectedLines("err", kLines);
  for (int i = 0; i < kFollowers; ++i) {
    EXPECT_TRUE(outputs[i].status.ok()) << outputs[i].status.error_message();
    EXPECT_EQ(outputs[i].out, want_out) << "follower " << i;
    EXPECT_EQ(outputs[i].err, want_err) << "follower " << i;
  }
  Output late = ReadAll(alice.get(), id, /*snapshot=*/true);
  EXPECT_EQ(late.out, want_out);
  EXPECT_EQ(late.err, want_err);
}

// A client that opens an output stream and never reads: a small receive
// window, so it really stops taking data.
grpc::ChannelArguments StalledClientArgs() {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 64 * 1024);
  return args;
}

TEST_F(CmdctldTest, StalledReaderHoldsBackNeitherTheJobNorAnotherReader) {
  auto alice = Stub(fixture->alice);
  constexpr int kBytes = 32 << 20;
  const std::string id =
      Run(alice.get(), "head", {"-c", std::to_string(kBytes), "/dev/zero"});

  // Stalled readers, each its own client (connection).
  constexpr int kStalled = 20;
  struct Stalled {
    std::unique_ptr<v1::ProcessService::Stub> stub;
    std::unique_ptr<grpc::ClientContext> context;
    std::unique_ptr<grpc::ClientReader<v1::ProcessOutputResponse>> reader;
  };
  auto open_stalled = [&] {
    Stalled s;
    s.stub = v1::ProcessService::NewStub(
        Channel(&fixture->alice, StalledClientArgs()));
    s.context = Context();
    v1::ProcessOutputRequest request;
    request.set_job_id(id);
    s.reader = s.stub->GetProcessOutput(s.context.get(), request);
    return s;
  };
  std::vector<Stalled> stalled;
  stalled.push_back(open_stalled());

  // The job runs to its end although a reader takes nothing.
  const v1::ProcessStatus end = WaitForEnd(alice.get(), id);
  EXPECT_EQ(end.state(), v1::JOB_STATE_EXITED);
  EXPECT_EQ(end.exit_code(), 0);
  // Another reader gets everything.
  Output other = ReadAll(alice.get(), id);
  ASSERT_TRUE(other.status.ok()) << other.status.error_message();
  EXPECT_EQ(other.out.size(), static_cast<size_t>(kBytes));

  // Memory per stalled reader: server RSS before and after more of them
  // have filled every buffer they can.
  absl::SleepFor(absl::Seconds(1));
  const long long before = *RssKiB(server_->pid());
  for (int i = 1; i < kStalled; ++i) stalled.push_back(open_stalled());
  absl::SleepFor(absl::Seconds(3));
  const long long after = *RssKiB(server_->pid());
  const double per_reader_kib =
      static_cast<double>(after - before) / (kStalled - 1);
  RecordProperty("rss_kib_per_stalled_reader",
                 static_cast<int>(per_reader_kib));
  std::printf(
      "[ MEASURED ] server RSS %lld KiB -> %lld KiB with %d more "
      "stalled readers of a 32 MiB output: %.0f KiB per reader\n",
      before, after, kStalled - 1, per_reader_kib);
  // Bounded: nowhere near the 32 MiB each would cost if buffered.
  EXPECT_LT(per_reader_kib, 4 * 1024);

  // The server is still responsive to everyone else.
  EXPECT_TRUE(GetStatus(alice.get(), id).ok());
  for (auto& s : stalled) {
    s.context->TryCancel();
    EXPECT_EQ(s.reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
  }
}

TEST_F(CmdctldTest, IdleFollowersUseNoCpu) {
  auto alice = Stub(fixture->alice);
  const std::string id =
      Run(alice.get(), "/bin/sh", {"-c", "echo ready; exec sleep 120"});
  constexpr int kFollowers = 100;
  auto channel = Channel(&fixture->alice);
  auto stub = v1::ProcessService::NewStub(channel);
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::unique_ptr<grpc::ClientReader<v1::ProcessOutputResponse>>>
      readers;
  for (int i = 0; i < kFollowers; ++i) {
    contexts.push_back(Context());
    v1::ProcessOutputRequest request;
    request.set_job_id(id);
    readers.push_back(stub->GetProcessOutput(contexts.back().get(), request));
    v1::ProcessOutputResponse message;
    ASSERT_TRUE(readers.back()->Read(&message));  // caught up now
    ASSERT_EQ(message.data(), "ready\n");
  }
  const long long ticks_before = *CpuTicks(server_->pid());
  absl::SleepFor(absl::Seconds(10));
  const long long ticks = *CpuTicks(server_->pid()) - ticks_before;
  RecordProperty("server_cpu_ticks_100_idle_followers_10s",
                 static_cast<int>(ticks));
  std::printf(
      "[ MEASURED ] %d idle followers for 10 s: server used %lld "
      "clock ticks (%ld per s) of CPU\n",
      kFollowers, ticks, sysconf(_SC_CLK_TCK));
  // Near zero: a poll loop over 100 streams would burn far more.
  EXPECT_LE(ticks, 5);

  // The job's end ends every follower, complete.
  ASSERT_TRUE(Stop(alice.get(), id).ok());
  for (auto& reader : readers) {
    v1::ProcessOutputResponse message;
    while (reader->Read(&message)) {
    }
    EXPECT_TRUE(reader->Finish().ok());
  }
}

TEST_F(CmdctldTest, ClientCancelLeavesTheJobRunning) {
  auto alice = Stub(fixture->alice);
  const std::string id =
      Run(alice.get(), "/bin/sh", {"-c", "echo start; exec sleep 120"});
  auto context = Context();
  v1::ProcessOutputRequest request;
  request.set_job_id(id);
  auto reader = alice->GetProcessOutput(context.get(), request);
  v1::ProcessOutputResponse message;
  ASSERT_TRUE(reader->Read(&message));
  context->TryCancel();
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
  v1::ProcessStatus status;
  ASSERT_TRUE(GetStatus(alice.get(), id, &status).ok());
  EXPECT_EQ(status.state(), v1::JOB_STATE_RUNNING);
  EXPECT_EQ(kill(status.pid(), 0), 0);
  ASSERT_TRUE(Stop(alice.get(), id, absl::ZeroDuration(), &status).ok());
  EXPECT_EQ(status.state(), v1::JOB_STATE_STOPPED);
}

TEST_F(CmdctldTest, KillingTheServerFailsAStreamingClientPromptly) {
  auto alice = Stub(fixture->alice);
  const std::string id =
      Run(alice.get(), "/bin/sh",
          {"-c", "while true; do echo tick; sleep 0.5; done"});
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 2000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 2000);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  auto follower = v1::ProcessService::NewStub(Channel(&fixture->alice, args));
  auto context = Context();
  v1::ProcessOutputRequest request;
  request.set_job_id(id);
  auto reader = follower->GetProcessOutput(context.get(), request);
  v1::ProcessOutputResponse message;
  // Alive across several keepalive periods.
  for (int i = 0; i < 8; ++i) ASSERT_TRUE(reader->Read(&message)) << i;

  server_->Kill();
  while (reader->Read(&message)) {
  }
  grpc::Status status = reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE)
      << status.error_message();
}

}  // namespace
}  // namespace cmdctl

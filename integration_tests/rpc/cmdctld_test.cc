// cmdctld end to end: a real server (child process) on 127.0.0.1:0 with
// certificates made by the test, real unix users, real TLS 1.3, real jobs.
// Runs as root.
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
using ::cmdctl::test::IssuedCert;
using ::cmdctl::test::RssKiB;
using ::cmdctl::test::RunWithInput;
using ::cmdctl::test::ServerProcess;
using ::cmdctl::test::ServerProcessOptions;
using ::cmdctl::test::TempDir;
using ::cmdctl::test::TestCa;
using ::testing::HasSubstr;

using it::CmdctldTest;
using it::fixture;
using it::kAlice;
using it::kBob;
using it::kBound;

// ---------------------------------------------------------------------------
// TLS

TEST_F(CmdctldTest, Tls12ClientIsRefusedAtTheHandshake) {
  absl::StatusOr<test::CommandResult> result = SClient({"-tls1_2"});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_NE(result->exit_code, 0) << result->output;
  // The server drops the connection after the ClientHello: nothing
  // negotiated.
  EXPECT_THAT(result->output, HasSubstr("Cipher is (NONE)"));
  EXPECT_THAT(result->output, ::testing::Not(HasSubstr("TLSv1.2, Cipher is")));
  EXPECT_THAT(result->output, ::testing::Not(HasSubstr("TLSv1.3")));
}

TEST_F(CmdctldTest, Tls13ClientIsAcceptedAndServerPrefersAes256) {
  absl::StatusOr<test::CommandResult> result =
      SClient({"-tls1_3", "-ciphersuites",
               "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384"});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->exit_code, 0) << result->output;
  EXPECT_THAT(result->output,
              HasSubstr("New, TLSv1.3, Cipher is TLS_AES_256_GCM_SHA384"));
}

TEST_F(CmdctldTest, GoodClientCertificateIsAccepted) {
  v1::ListProcessesResponse list;
  grpc::Status status =
      Stub(fixture->alice)->ListProcesses(Context().get(), {}, &list);
  EXPECT_TRUE(status.ok()) << status.error_message();
}

TEST_F(CmdctldTest, ClientWithoutCertificateIsRefused) {
  auto stub = v1::ProcessService::NewStub(Channel(nullptr));
  v1::ListProcessesResponse list;
  grpc::Status status = stub->ListProcesses(Context().get(), {}, &list);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE)
      << status.error_message();
}

TEST_F(CmdctldTest, CertificateFromAnotherCaIsRefused) {
  v1::ListProcessesResponse list;
  grpc::Status status =
      Stub(fixture->foreign_alice)->ListProcesses(Context().get(), {}, &list);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE)
      << status.error_message();
}

TEST_F(CmdctldTest, ExpiredCertificateIsRefused) {
  v1::ListProcessesResponse list;
  grpc::Status status =
      Stub(fixture->expired_alice)->ListProcesses(Context().get(), {}, &list);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE)
      << status.error_message();
}

// ---------------------------------------------------------------------------
// Identity and authorization

TEST_F(CmdctldTest, JobRunsAsTheCallersDefaultPrincipal) {
  auto alice = Stub(fixture->alice);
  const std::string id = Run(alice.get(), "id", {"-un"});
  EXPECT_EQ(WaitForEnd(alice.get(), id).exit_code(), 0);
  Output output = ReadAll(alice.get(), id);
  EXPECT_TRUE(output.status.ok());
  EXPECT_EQ(output.out, std::string(kAlice) + "\n");
  v1::ProcessStatus status;
  ASSERT_TRUE(GetStatus(alice.get(), id, &status).ok());
  EXPECT_EQ(status.owner(), "alice");
  EXPECT_EQ(status.run_as(), kAlice);
}

TEST_F(CmdctldTest, AliceCannotSeeStreamOrStopBobsJob) {
  auto alice = Stub(fixture->alice);
  auto bob = Stub(fixture->bob);
  const std::string bobs = Run(bob.get(), "sleep", {"30"});
  const std::string unknown = "3f2b8c1e-9a7d-4e5f-8b6a-1c2d3e4f5a6b";

  grpc::Status seen = GetStatus(alice.get(), bobs);
  grpc::Status never = GetStatus(alice.get(), unknown);
  EXPECT_EQ(seen.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(seen.error_message(),
            absl::StrReplaceAll(never.error_message(), {{unknown, bobs}}));
  Output streamed = ReadAll(alice.get(), bobs);
  EXPECT_EQ(streamed.status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(streamed.status.error_message(), seen.error_message());
  grpc::Status stopped = Stop(alice.get(), bobs);
  EXPECT_EQ(stopped.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(stopped.error_message(), seen.error_message());
  v1::ListProcessesResponse list;
  ASSERT_TRUE(alice->ListProcesses(Context().get(), {}, &list).ok());
  for (const auto& p : list.processes()) EXPECT_NE(p.job_id(), bobs);

  // Still running, untouched: bob sees it and stops it.
  v1::ProcessStatus status;
  ASSERT_TRUE(GetStatus(bob.get(), bobs, &status).ok());
  EXPECT_EQ(status.state(), v1::JOB_STATE_RUNNING);
  EXPECT_FALSE(status.stop_requested());
  ASSERT_TRUE(Stop(bob.get(), bobs, absl::ZeroDuration(), &status).ok());
  EXPECT_EQ(status.state(), v1::JOB_STATE_STOPPED);

  const std::string log = server_->ReadLog();
  EXPECT_THAT(log, HasSubstr(absl::StrCat("audit identity=\"alice\" "
                                          "method=StopProcess job_id=\"",
                                          bobs, "\" result=NOT_FOUND")));
}

TEST_F(CmdctldTest, RunAsOutsidePrincipalsIsDeniedAndRootNeedsPrincipalRoot) {
  auto alice = Stub(fixture->alice);
  for (const std::string& login : {std::string(kBob), std::string("root")}) {
    v1::RunProcessRequest request;
    request.set_command("id");
    request.set_run_as(login);
    v1::RunProcessResponse response;
    grpc::Status status =
        alice->RunProcess(Context().get(), request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED)
        << login;
  }
  auto admin = Stub(fixture->admin);
  const std::string id = Run(admin.get(), "id", {"-u"}, "root");
  WaitForEnd(admin.get(), id);
  EXPECT_EQ(ReadAll(admin.get(), id).out, "0\n");
}

// cmdctld blocks SIGTERM/SIGINT in all its threads (for sigwait): a job
// must not inherit that, or a stop's TERM would wait for the KILL.
TEST_F(CmdctldTest, JobStartsWithNoSignalBlockedOrIgnored) {
  auto alice = Stub(fixture->alice);
  const std::string id =
      Run(alice.get(), "grep", {"-E", "^Sig(Blk|Ign)", "/proc/self/status"});
  WaitForEnd(alice.get(), id);
  EXPECT_EQ(ReadAll(alice.get(), id).out,
            "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n");
}

TEST_F(CmdctldTest, MissingProgramIsNotFound) {
  v1::RunProcessRequest request;
  request.set_command("no-such-program-cmdctl");
  v1::RunProcessResponse response;
  grpc::Status status =
      Stub(fixture->alice)->RunProcess(Context().get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND)
      << status.error_message();
}

TEST_F(CmdctldTest, NonRootServerRunsJobsOnlyAsItselfAndSaysSo) {
  absl::StatusOr<cmdctl::test::TestUser> bob_user =
      cmdctl::test::EnsureTestUser(kBob);
  ASSERT_TRUE(bob_user.ok());
  server_.reset();
  // Everything the unprivileged server reads or writes, owned by it.
  TempDir own;
  ASSERT_EQ(chmod(own.path().c_str(), 0755), 0);
  ASSERT_EQ(chown(own.path().c_str(), bob_user->uid, bob_user->gid), 0);
  const std::string out = own.path() + "/out";
  ASSERT_EQ(mkdir(out.c_str(), 0700), 0);
  ASSERT_EQ(chown(out.c_str(), bob_user->uid, bob_user->gid), 0);
  std::vector<std::string> files = {
      own.WriteFile("ca.pem", fixture->ca.cert_pem()),
      own.WriteFile("server.pem", fixture->server.cert_pem),
      own.WriteFile("server.key", fixture->server.key_pem)};
  for (const auto& f : files) {
    ASSERT_EQ(chown(f.c_str(), bob_user->uid, bob_user->gid), 0);
  }
  // Run as bob: cmdctld and its launcher where bob can reach them, wherever
  // the build tree is.
  absl::StatusOr<std::string> launcher =
      test::UserRunnableCopy(CMDCTL_LAUNCHER_PATH);
  ASSERT_TRUE(launcher.ok()) << launcher.status();
  absl::StatusOr<std::string> cmdctld = test::UserRunnableCopy(CMDCTLD_PATH);
  ASSERT_TRUE(cmdctld.ok()) << cmdctld.status();
  ServerProcessOptions options;
  options.binary = *cmdctld;
  options.ca_path = files[0];
  options.cert_path = files[1];
  options.key_path = files[2];
  options.work_dir = own.path();
  options.extra_flags = {"--output_dir=" + out};
  options.run_as_uid = static_cast<int>(bob_user->uid);
  options.run_as_gid = static_cast<int>(bob_user->gid);
  absl::StatusOr<std::unique_ptr<ServerProcess>> server =
      ServerProcess::Start(options);
  ASSERT_TRUE(server.ok()) << server.status();
  server_ = *std::move(server);

  // Alice may run as kAlice, but this server cannot act as anyone else.
  v1::RunProcessRequest request;
  request.set_command("id");
  v1::RunProcessResponse response;
  grpc::Status denied =
      Stub(fixture->alice)->RunProcess(Context().get(), request, &response);
  EXPECT_EQ(denied.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(denied.error_message(),
              HasSubstr(absl::StrCat("can only run jobs as ", kBob)));
  // As itself it works.
  auto bob = Stub(fixture->bob);
  const std::string id = Run(bob.get(), "id", {"-un"});
  WaitForEnd(bob.get(), id);
  EXPECT_EQ(ReadAll(bob.get(), id).out, std::string(kBob) + "\n");
  server_.reset();
}

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

// Whether process `pid` is gone (or a zombie nobody reaped yet).
bool ProcessGone(int pid) {
  return kill(pid, 0) != 0 ||
         absl::StrContains(
             test::RunWithInput(
                 {"/bin/cat", absl::StrCat("/proc/", pid, "/stat")}, "",
                 absl::Seconds(5))
                 ->output,
             ") Z ");
}

TEST_F(CmdctldTest, SigtermEndsStreamsAndLeavesJobsRunning) {
  auto alice = Stub(fixture->alice);
  const std::string id =
      Run(alice.get(), "/bin/sh", {"-c", "echo up; exec sleep 120"});
  v1::ProcessStatus status;
  ASSERT_TRUE(GetStatus(alice.get(), id, &status).ok());
  const int pid = status.pid();
  auto context = Context();
  v1::ProcessOutputRequest request;
  request.set_job_id(id);
  auto reader = alice->GetProcessOutput(context.get(), request);
  v1::ProcessOutputResponse message;
  ASSERT_TRUE(reader->Read(&message));

  server_->Signal(SIGTERM);
  while (reader->Read(&message)) {
  }
  grpc::Status ended = reader->Finish();
  EXPECT_EQ(ended.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(ended.error_message(), "server shutting down");
  absl::StatusOr<int> exit = server_->WaitForExit(kBound);
  ASSERT_TRUE(exit.ok()) << exit.status();
  EXPECT_TRUE(WIFEXITED(*exit) && WEXITSTATUS(*exit) == 0) << *exit;
  // SPEC §9: the job runs on, for the next start of the server.
  EXPECT_FALSE(ProcessGone(pid)) << "job pid " << pid << " was stopped";
  EXPECT_THAT(server_->ReadLog(), HasSubstr("graceful shutdown"));
  EXPECT_THAT(server_->ReadLog(), HasSubstr("jobs keep running"));
}

TEST_F(CmdctldTest, StopJobsOnExitStopsEveryJobBeforeExiting) {
  server_.reset();
  StartServer({"--stop_jobs_on_exit"});
  auto alice = Stub(fixture->alice);
  const std::string id = Run(alice.get(), "sleep", {"120"});
  v1::ProcessStatus status;
  ASSERT_TRUE(GetStatus(alice.get(), id, &status).ok());
  const int pid = status.pid();
  server_->Signal(SIGTERM);
  absl::StatusOr<int> exit = server_->WaitForExit(kBound);
  ASSERT_TRUE(exit.ok()) << exit.status();
  EXPECT_TRUE(WIFEXITED(*exit) && WEXITSTATUS(*exit) == 0) << *exit;
  EXPECT_TRUE(ProcessGone(pid)) << "job pid " << pid << " still alive";
  EXPECT_THAT(server_->ReadLog(), HasSubstr("stopping every job"));
}

TEST_F(CmdctldTest, SigintAlsoShutsDownGracefully) {
  auto alice = Stub(fixture->alice);
  const std::string id = Run(alice.get(), "sleep", {"120"});
  v1::ProcessStatus status;
  ASSERT_TRUE(GetStatus(alice.get(), id, &status).ok());
  server_->Signal(SIGINT);
  absl::StatusOr<int> exit = server_->WaitForExit(kBound);
  ASSERT_TRUE(exit.ok()) << exit.status();
  EXPECT_TRUE(WIFEXITED(*exit) && WEXITSTATUS(*exit) == 0) << *exit;
  EXPECT_THAT(server_->ReadLog(), HasSubstr("graceful shutdown"));
  EXPECT_THAT(server_->ReadLog(), HasSubstr("server stopped"));
}

// ---------------------------------------------------------------------------
// Health and reflection

std::string Flatten(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  (void)buffer.Dump(&slices);
  std::string s;
  for (const auto& slice : slices) {
    s.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  return s;
}

TEST_F(CmdctldTest, HealthServiceReportsServing) {
  grpc::GenericStub stub(Channel(&fixture->alice));
  grpc::Slice empty("");
  grpc::ByteBuffer request(&empty, 1), response;
  auto context = Context();
  absl::Notification done;
  grpc::Status status;
  stub.UnaryCall(context.get(), "/grpc.health.v1.Health/Check", {}, &request,
                 &response, [&](grpc::Status s) {
                   status = std::move(s);
                   done.Notify();
                 });
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(kBound));
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(Flatten(response), std::string("\x08\x01", 2));  // SERVING
}

TEST_F(CmdctldTest, ReflectionListsTheProcessService) {
  grpc::GenericStub stub(Channel(&fixture->alice));
  grpc::CompletionQueue cq;
  auto context = Context();
  auto call = stub.PrepareCall(
      context.get(),
      "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &cq);
  void* tag;
  bool ok;
  call->StartCall(reinterpret_cast<void*>(1));
  ASSERT_TRUE(cq.Next(&tag, &ok) && ok);
  grpc::Slice list_services(std::string("\x3a\x00", 2));  // list_services=""
  grpc::ByteBuffer request(&list_services, 1);
  call->Write(request, reinterpret_cast<void*>(2));
  ASSERT_TRUE(cq.Next(&tag, &ok) && ok);
  grpc::ByteBuffer response;
  call->Read(&response, reinterpret_cast<void*>(3));
  ASSERT_TRUE(cq.Next(&tag, &ok) && ok);
  EXPECT_THAT(Flatten(response), HasSubstr("cmdctl.v1.ProcessService"));
  EXPECT_THAT(Flatten(response), HasSubstr("grpc.health.v1.Health"));
  context->TryCancel();
  grpc::Status status;
  call->Finish(&status, reinterpret_cast<void*>(4));
  ASSERT_TRUE(cq.Next(&tag, &ok));
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
}

// ---------------------------------------------------------------------------
// Start-up checks

TEST_F(CmdctldTest, RefusesToStartWithEmptyOrMismatchedFiles) {
  const std::string empty = work_.WriteFile("empty.pem", "");
  const std::string other_key =
      work_.WriteFile("other.key", fixture->alice.key_pem);
  struct Case {
    std::string ca, cert, key, want;
  };
  for (const Case& c : std::vector<Case>{
           {empty, fixture->cert_path, fixture->key_path, "is empty"},
           {fixture->ca_path, empty, fixture->key_path, "is empty"},
           {fixture->ca_path, fixture->cert_path, other_key, "does not match"},
           {fixture->ca_path, fixture->cert_path, "/nonexistent/key.pem",
            "/nonexistent/key.pem"}}) {
    absl::StatusOr<test::CommandResult> result =
        RunWithInput({CMDCTLD_PATH, "--listen=127.0.0.1:0", "--ca=" + c.ca,
                      "--cert=" + c.cert, "--key=" + c.key},
                     "", absl::Seconds(30));
    ASSERT_TRUE(result.ok());
    EXPECT_EQ(result->exit_code, 1) << result->output;
    EXPECT_THAT(result->output, HasSubstr("refusing to start"));
    EXPECT_THAT(result->output, HasSubstr(c.want));
  }
}

}  // namespace
}  // namespace cmdctl

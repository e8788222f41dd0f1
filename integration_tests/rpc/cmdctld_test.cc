// cmdctld end to end: a real server (child process) on 127.0.0.1:0 with
// certificates made by the test, real unix users, real TLS 1.3, real jobs.
// Runs as root.
// This file: TLS, identities and authorization, how jobs start.

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

using ::cmdctl::test::ServerProcess;
using ::cmdctl::test::ServerProcessOptions;
using ::cmdctl::test::TempDir;
using ::testing::HasSubstr;

using it::CmdctldTest;
using it::fixture;
using it::kAlice;
using it::kBob;

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

}  // namespace
}  // namespace cmdctl

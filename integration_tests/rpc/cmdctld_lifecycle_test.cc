// cmdctld end to end: a real server (child process) on 127.0.0.1:0 with
// certificates made by the test, real unix users, real TLS 1.3, real jobs.
// Runs as root.
// This file: shutdown and signals, health, reflection, refused flags.

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

using ::cmdctl::test::RunWithInput;
using ::testing::HasSubstr;

using it::CmdctldTest;
using it::fixture;
using it::kBound;

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

// RunProcess through the service: what a job is started with, and the codes
// of every refused start (nothing is started then).
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cmdctl/v1/cmdctl.grpc.pb.h"
#include "domain/uuid.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/rpc/process_service_fixture.h"

namespace cmdctl::test {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST_F(ProcessServiceTest, RunProcessReturnsJobIdAndRunningStatus) {
  v1::RunProcessRequest request;
  request.set_command("ls");
  request.add_args("-la");
  request.set_working_dir("/tmp");
  (*request.mutable_env())["LANG"] = "C";
  v1::RunProcessResponse response;
  ASSERT_TRUE(Run(Alice().get(), request, &response).ok());

  EXPECT_TRUE(IsUuidV4(response.job_id())) << response.job_id();
  const v1::ProcessStatus& status = response.status();
  EXPECT_EQ(status.job_id(), response.job_id());
  EXPECT_EQ(status.owner(), "alice");
  EXPECT_EQ(status.run_as(), "alice");  // the first principal
  EXPECT_EQ(status.command(), "ls");
  EXPECT_THAT(status.args(), ElementsAre("-la"));
  EXPECT_EQ(status.state(), v1::JOB_STATE_RUNNING);
  EXPECT_EQ(status.pid(), host_.job(response.job_id()).pid);
  EXPECT_TRUE(status.has_started_at());
  EXPECT_FALSE(status.has_ended_at());

  std::optional<ProcessSpec> spec = host_.job(response.job_id()).spec;
  ASSERT_TRUE(spec.has_value());
  EXPECT_EQ(spec->program, "ls");
  EXPECT_EQ(spec->run_as, "alice");
  EXPECT_EQ(spec->working_dir, "/tmp");
  EXPECT_THAT(spec->env, ElementsAre(std::make_pair(std::string("LANG"),
                                                    std::string("C"))));
}

TEST_F(ProcessServiceTest, RunProcessAsAnotherOfTheCallersPrincipals) {
  v1::RunProcessRequest request;
  request.set_command("true");
  request.set_run_as("svc");
  v1::RunProcessResponse response;
  ASSERT_TRUE(Run(Alice().get(), request, &response).ok());
  EXPECT_EQ(response.status().run_as(), "svc");
}

TEST_F(ProcessServiceTest, BadRunRequestsAreInvalidArgumentAndStartNothing) {
  std::vector<v1::RunProcessRequest> bad(5);
  // Empty command.
  bad[1].set_command(std::string("l\0s", 3));
  bad[2].set_command("ls");
  bad[2].add_args(std::string("a\0b", 3));
  bad[3].set_command("ls");
  (*bad[3].mutable_env())["A=B"] = "x";
  bad[4].set_command("ls");
  bad[4].set_working_dir(std::string("/tm\0p", 5));
  for (size_t i = 0; i < bad.size(); ++i) {
    grpc::Status status = Run(Alice().get(), bad[i]);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << "request " << i << ": " << status.error_message();
  }
  EXPECT_TRUE(host_.snapshot().start_attempts.empty());
  v1::ListProcessesResponse list;
  ASSERT_TRUE(stub_->ListProcesses(Alice().get(), {}, &list).ok());
  EXPECT_EQ(list.processes_size(), 0);
}

TEST_F(ProcessServiceTest, RunAsOutsidePrincipalsIsPermissionDenied) {
  v1::RunProcessRequest request;
  request.set_command("id");
  request.set_run_as("bob");
  grpc::Status status = Run(Alice().get(), request);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(host_.snapshot().start_attempts.empty());
}

TEST_F(ProcessServiceTest, CertificateWithoutPrincipalsGrantsNothing) {
  v1::RunProcessRequest request;
  request.set_command("id");
  grpc::Status status = Run(As("carol", {}).get(), request);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(host_.snapshot().start_attempts.empty());
}

TEST_F(ProcessServiceTest, RootNeedsPrincipalRoot) {
  v1::RunProcessRequest request;
  request.set_command("id");
  request.set_run_as("root");
  EXPECT_EQ(Run(Alice().get(), request).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  v1::RunProcessResponse response;
  ASSERT_TRUE(
      Run(As("admin", {"admin", "root"}).get(), request, &response).ok());
  EXPECT_EQ(response.status().run_as(), "root");
}

TEST_F(ProcessServiceTest, HostStartErrorsKeepTheirCodeAndMessage) {
  host_.SetProgramError("missing",
                        absl::NotFoundError("program missing not found"));
  host_.SetProgramError("/etc/passwd",
                        absl::FailedPreconditionError("not executable"));
  host_.SetProgramError(
      "id", absl::PermissionDeniedError(
                "cmdctld runs as uid 1000 (not root): it can run jobs only "
                "as itself"));
  struct Case {
    std::string command;
    grpc::StatusCode code;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {"missing", grpc::StatusCode::NOT_FOUND,
            "program missing not found"},
           {"/etc/passwd", grpc::StatusCode::FAILED_PRECONDITION,
            "not executable"},
           {"id", grpc::StatusCode::PERMISSION_DENIED, "not root"}}) {
    v1::RunProcessRequest request;
    request.set_command(c.command);
    grpc::Status status = Run(Alice().get(), request);
    EXPECT_EQ(status.error_code(), c.code) << c.command;
    EXPECT_THAT(status.error_message(), HasSubstr(c.message));
  }
  EXPECT_TRUE(host_.snapshot().started_job_ids.empty());
}

TEST_F(ProcessServiceTest, CallWithoutIdentityIsUnauthenticated) {
  grpc::ClientContext context;
  v1::RunProcessRequest request;
  request.set_command("ls");
  EXPECT_EQ(Run(&context, request).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  grpc::ClientContext list_context;
  v1::ListProcessesResponse list;
  EXPECT_EQ(stub_->ListProcesses(&list_context, {}, &list).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

}  // namespace
}  // namespace cmdctl::test

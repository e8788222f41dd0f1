// The service's audit trail (SPEC §4): every call leaves exactly one line
// with identity, peer, method, job id and result (and for RunProcess the
// run-as user, command and arguments), denied calls included, and no string
// in a request can forge a line.
#include <grpcpp/grpcpp.h>

#include <string>
#include <vector>

#include "cmdctl/v1/cmdctl.grpc.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/rpc/log_capture.h"
#include "tests/rpc/process_service_fixture.h"

namespace cmdctl::test {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// Ends the line and writes one that reads as a successful request by root.
const std::string kForgery =
    "\nI0101 00:00:00.000000  1 process_service.cc:1] audit "
    "identity=\"root\" method=RunProcess job_id=\"\" result=OK";

bool HasControlByte(const std::string& line) {
  for (char c : line) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return true;
  }
  return false;
}

TEST_F(ProcessServiceTest, EveryCallLeavesOneAuditLineWithItsFields) {
  LogCapture capture;
  v1::RunProcessRequest request;
  request.set_command("ls");
  request.add_args("-la");
  request.add_args("two words");
  v1::RunProcessResponse response;
  ASSERT_TRUE(Run(Alice().get(), request, &response).ok());
  ASSERT_TRUE(GetStatus(Bob().get(), response.job_id()).error_code() ==
              grpc::StatusCode::NOT_FOUND);

  const std::vector<std::string> lines = capture.AuditLines();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_THAT(
      lines[0],
      StartsWith("audit identity=\"alice\" method=RunProcess job_id=\"" +
                 response.job_id() + "\" result=OK peer=\""));
  // The run-as user the job got (alice's default), not the empty request.
  EXPECT_THAT(lines[0], HasSubstr("\" run_as=\"alice\" command=\"ls\" "
                                  "args=[\"-la\",\"two words\"]"));
  EXPECT_THAT(lines[0], Not(HasSubstr("peer=\"\"")));  // the peer is named
  EXPECT_THAT(lines[1],
              StartsWith("audit identity=\"bob\" method=GetProcessStatus "
                         "job_id=\"" +
                         response.job_id() + "\" result=NOT_FOUND peer=\""));
}

TEST_F(ProcessServiceTest, DeniedRunsAreAuditedWithWhatTheyAskedFor) {
  LogCapture capture;
  v1::RunProcessRequest request;
  request.set_command("id");
  request.set_run_as("root");
  request.add_args("-u");
  EXPECT_EQ(Run(Alice().get(), request).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  grpc::ClientContext anonymous;
  EXPECT_EQ(Run(&anonymous, request).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);

  const std::vector<std::string> lines = capture.AuditLines();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_THAT(lines[0], StartsWith("audit identity=\"alice\" method=RunProcess "
                                   "job_id=\"\" result=PERMISSION_DENIED "));
  EXPECT_THAT(lines[0],
              HasSubstr(" run_as=\"root\" command=\"id\" args=[\"-u\"]"));
  EXPECT_THAT(lines[1], StartsWith("audit identity=\"?\" method=RunProcess "
                                   "job_id=\"\" result=UNAUTHENTICATED "));
  EXPECT_THAT(lines[1],
              HasSubstr(" run_as=\"root\" command=\"id\" args=[\"-u\"]"));
}

TEST_F(ProcessServiceTest, RequestStringsCannotForgeAnAuditLine) {
  LogCapture capture;
  // Through the command and the arguments of a run that starts...
  v1::RunProcessRequest run;
  run.set_command("sh" + kForgery);
  run.add_args("-c");
  run.add_args("true" + kForgery);
  ASSERT_TRUE(Run(Alice().get(), run).ok());
  // ...through the run-as user of one that is refused...
  run.set_run_as("svc" + kForgery);
  EXPECT_EQ(Run(Alice().get(), run).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // ...and through the job id of every other method.
  const std::string bad_id = "6f9619ff-8b86-4011-b42d-00cf4fc964ff" + kForgery;
  EXPECT_EQ(GetStatus(Alice().get(), bad_id).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  v1::StopProcessRequest stop;
  stop.set_job_id(bad_id);
  v1::StopProcessResponse stopped;
  EXPECT_EQ(stub_->StopProcess(Alice().get(), stop, &stopped).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ReadAll(Alice().get(), bad_id, false).status.error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  // Five calls, five lines: no forged one, none broken, none by "root".
  const std::vector<std::string> lines = capture.AuditLines();
  ASSERT_EQ(lines.size(), 5u);
  for (const std::string& line : lines) {
    EXPECT_THAT(line, StartsWith("audit identity=\"alice\" method=")) << line;
    EXPECT_FALSE(HasControlByte(line)) << line;
    EXPECT_THAT(line, Not(HasSubstr("identity=\"root\""))) << line;
    EXPECT_THAT(line, HasSubstr("identity=\\\"root\\\"")) << line;
  }
  EXPECT_THAT(lines[0], HasSubstr(" command=\"sh\\nI0101 "));
  EXPECT_THAT(lines[0], HasSubstr(" args=[\"-c\",\"true\\nI0101 "));
  EXPECT_THAT(lines[1], HasSubstr(" run_as=\"svc\\nI0101 "));
  EXPECT_THAT(lines[2], HasSubstr(" job_id=\"6f9619ff-8b86-4011-b42d-"
                                  "00cf4fc964ff\\nI0101 "));
}

}  // namespace
}  // namespace cmdctl::test

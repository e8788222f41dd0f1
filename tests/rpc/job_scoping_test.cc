// GetProcessStatus and ListProcesses, and the scoping every method shares:
// another identity's job is NOT_FOUND exactly like an unknown id.
#include <grpcpp/generic/generic_stub.h>

#include <memory>
#include <string>

#include "absl/strings/str_replace.h"
#include "cmdctl/v1/cmdctl.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/rpc/process_service_fixture.h"

namespace cmdctl::test {
namespace {

TEST_F(ProcessServiceTest, BadJobIdsAreInvalidArgument) {
  for (const std::string& id :
       {std::string(""), std::string("123"), std::string("../../etc"),
        std::string("6F9619FF-8B86-4011-B42D-00CF4FC964FF")}) {
    EXPECT_EQ(GetStatus(Alice().get(), id).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT)
        << id;
    v1::StopProcessRequest stop;
    stop.set_job_id(id);
    v1::StopProcessResponse stopped;
    EXPECT_EQ(stub_->StopProcess(Alice().get(), stop, &stopped).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT)
        << id;
    EXPECT_EQ(ReadAll(Alice().get(), id, false).status.error_code(),
              grpc::StatusCode::INVALID_ARGUMENT)
        << id;
  }
}

// GetProcessOutput is a raw method (the server parses its request itself):
// bytes that are not a ProcessOutputRequest are INVALID_ARGUMENT, and the
// server goes on serving.
TEST_F(ProcessServiceTest, AMalformedOutputRequestIsInvalidArgument) {
  grpc::GenericStub generic(server_->grpc_server()->InProcessChannel({}));
  grpc::CompletionQueue cq;
  std::unique_ptr<grpc::ClientContext> context = Alice();
  const std::string garbage(11, '\xff');  // a varint that never ends
  grpc::Slice slice(garbage.data(), garbage.size());
  grpc::ByteBuffer request(&slice, 1);
  std::unique_ptr<grpc::GenericClientAsyncResponseReader> call =
      generic.PrepareUnaryCall(context.get(),
                               "/cmdctl.v1.ProcessService/GetProcessOutput",
                               request, &cq);
  call->StartCall();
  grpc::ByteBuffer response;
  grpc::Status status;
  call->Finish(&response, &status, reinterpret_cast<void*>(1));
  void* tag = nullptr;
  bool ok = false;
  ASSERT_EQ(cq.AsyncNext(&tag, &ok, absl::ToChronoTime(absl::Now() + kBound)),
            grpc::CompletionQueue::GOT_EVENT);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
      << status.error_message();
  EXPECT_NE(status.error_message().find("malformed request"), std::string::npos)
      << status.error_message();
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
  // A well-formed request still works.
  const std::string id = RunAsAlice("gen");
  ASSERT_TRUE(host_.AppendOutput(id, OutputStream::kStdout, "ok"));
  Output output = ReadAll(Alice().get(), id, /*snapshot=*/true);
  ASSERT_TRUE(output.status.ok()) << output.status.error_message();
  EXPECT_EQ(output.out, "ok");
}

TEST_F(ProcessServiceTest, StatusReportsExitExactly) {
  const std::string id = RunAsAlice("sh", {"-c", "exit 3"});
  host_.clock().AdvanceTime(absl::Milliseconds(1500));
  ASSERT_TRUE(host_.Exit(id, ExitInfo::Exited(3)));
  v1::ProcessStatusResponse response;
  ASSERT_TRUE(GetStatus(Alice().get(), id, &response).ok());
  EXPECT_EQ(response.status().state(), v1::JOB_STATE_EXITED);
  EXPECT_EQ(response.status().exit_code(), 3);
  EXPECT_EQ(response.status().signal(), 0);
  ASSERT_TRUE(response.status().has_ended_at());
  const auto& started = response.status().started_at();
  const auto& ended = response.status().ended_at();
  EXPECT_EQ((ended.seconds() - started.seconds()) * 1000 +
                (ended.nanos() - started.nanos()) / 1000000,
            1500);
}

TEST_F(ProcessServiceTest, AnotherIdentitysJobIsNotFoundLikeAnUnknownId) {
  const std::string alices = RunAsAlice("sleep", {"100"});
  const std::string unknown = NextJobId();  // never started

  grpc::Status bob_sees = GetStatus(Bob().get(), alices);
  grpc::Status nobody = GetStatus(Bob().get(), unknown);
  EXPECT_EQ(bob_sees.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(nobody.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(bob_sees.error_message(),
            absl::StrReplaceAll(nobody.error_message(), {{unknown, alices}}));

  Output streamed = ReadAll(Bob().get(), alices, /*snapshot=*/true);
  EXPECT_EQ(streamed.status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(streamed.status.error_message(), bob_sees.error_message());
  EXPECT_TRUE(streamed.chunks.empty());

  v1::StopProcessRequest stop;
  stop.set_job_id(alices);
  v1::StopProcessResponse stopped;
  grpc::Status stop_status = stub_->StopProcess(Bob().get(), stop, &stopped);
  EXPECT_EQ(stop_status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(stop_status.error_message(), bob_sees.error_message());
  EXPECT_EQ(host_.job(alices).terminate_count, 0);

  v1::ListProcessesResponse list;
  ASSERT_TRUE(stub_->ListProcesses(Bob().get(), {}, &list).ok());
  EXPECT_EQ(list.processes_size(), 0);

  v1::ProcessStatusResponse mine;
  ASSERT_TRUE(GetStatus(Alice().get(), alices, &mine).ok());
  EXPECT_EQ(mine.status().state(), v1::JOB_STATE_RUNNING);
}

TEST_F(ProcessServiceTest, ListShowsOnlyTheCallersJobsNewestFirst) {
  const std::string first = RunAsAlice("a");
  v1::RunProcessRequest bobs;
  bobs.set_command("b");
  ASSERT_TRUE(Run(Bob().get(), bobs).ok());
  const std::string second = RunAsAlice("c");
  v1::ListProcessesResponse list;
  ASSERT_TRUE(stub_->ListProcesses(Alice().get(), {}, &list).ok());
  ASSERT_EQ(list.processes_size(), 2);
  EXPECT_EQ(list.processes(0).job_id(), second);
  EXPECT_EQ(list.processes(1).job_id(), first);
  EXPECT_EQ(list.processes(0).owner(), "alice");
  EXPECT_TRUE(list.next_page_token().empty());
}

}  // namespace
}  // namespace cmdctl::test

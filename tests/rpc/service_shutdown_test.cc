// The service's part of the server shutdown: open streams end with
// UNAVAILABLE, running jobs are stopped, later calls are refused.
#include <string>

#include "cmdctl/v1/cmdctl.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/rpc/process_service_fixture.h"

namespace cmdctl::test {
namespace {

TEST_F(ProcessServiceTest, ShutdownEndsOpenStreamsAndStopsRunningJobs) {
  const std::string id = RunAsAlice("gen");
  ASSERT_TRUE(host_.AppendOutput(id, OutputStream::kStdout, "abcd"));
  auto context = Alice();
  v1::ProcessOutputRequest request;
  request.set_job_id(id);
  auto reader = stub_->GetProcessOutput(context.get(), request);
  v1::ProcessOutputResponse message;
  ASSERT_TRUE(reader->Read(&message));

  // Step one of the shutdown ends the stream with a clear status (the
  // steps are separate so that the client surely reads it before the
  // in-process transport goes away)...
  server_->service()->BeginShutdown();
  EXPECT_FALSE(reader->Read(&message));
  grpc::Status status = reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(status.error_message(), "server shutting down");
  EXPECT_TRUE(server_->service()->AwaitOpenStreamsAtMost(0, kBound));
  // ... and the whole shutdown stops the running job.
  host_.set_on_terminate(FakeProcessHost::SignalResponse::kExitInline);
  server_->Shutdown(absl::Seconds(5));
  EXPECT_EQ(host_.job(id).terminate_count, 1);
  absl::StatusOr<JobStatus> job = jobs_->GetStatus("alice", id);
  ASSERT_TRUE(job.ok());
  EXPECT_EQ(job->state, JobState::kStopped);
}

TEST_F(ProcessServiceTest, CallsAfterShutdownBeganAreUnavailable) {
  server_->service()->BeginShutdown();
  v1::RunProcessRequest request;
  request.set_command("ls");
  grpc::Status status = Run(Alice().get(), request);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(status.error_message(), "server shutting down");
  EXPECT_TRUE(host_.snapshot().start_attempts.empty());
  Output output = ReadAll(Alice().get(), NextJobId(), false);
  EXPECT_EQ(output.status.error_code(), grpc::StatusCode::UNAVAILABLE);
}

}  // namespace
}  // namespace cmdctl::test

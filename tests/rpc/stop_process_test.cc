// StopProcess through the service: it answers once the job has ended (or at
// once for an ended job), with the requested grace, and every waiting call is
// answered exactly once (job end, abort, client cancel).
#include <string>
#include <utility>
#include <vector>

#include "absl/synchronization/notification.h"
#include "cmdctl/v1/cmdctl.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/rpc/process_service_fixture.h"

namespace cmdctl::test {
namespace {

TEST_F(ProcessServiceTest, StopReturnsOnlyOnceTheJobHasEnded) {
  const std::string id = RunAsAlice("sleep", {"100"});
  host_.set_on_terminate(FakeProcessHost::SignalResponse::kIgnore);

  v1::StopProcessRequest request;
  request.set_job_id(id);  // grace unset: the default, 5 s
  v1::StopProcessResponse response;
  grpc::Status status;
  absl::Notification done;
  auto context = Alice();
  stub_->async()->StopProcess(context.get(), &request, &response,
                              [&](grpc::Status s) {
                                status = std::move(s);
                                done.Notify();
                              });
  ASSERT_TRUE(host_.WaitForTerminate());
  // TERM is ignored: nothing ends before the grace runs out.
  host_.clock().AdvanceTime(absl::Milliseconds(4999));
  EXPECT_EQ(host_.job(id).kill_count, 0);
  EXPECT_FALSE(done.HasBeenNotified());
  host_.clock().AdvanceTime(absl::Milliseconds(1));  // KILL
  EXPECT_EQ(host_.job(id).kill_count, 1);
  host_.clock().RunReady();  // the queued exit
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(kBound));
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.status().state(), v1::JOB_STATE_STOPPED);
  EXPECT_EQ(response.status().signal(), FakeProcessHost::kSigKill);
  EXPECT_TRUE(response.status().stop_requested());
}

TEST_F(ProcessServiceTest, StopUsesTheRequestedGrace) {
  const std::string id = RunAsAlice("sleep", {"100"});
  v1::StopProcessRequest request;
  request.set_job_id(id);
  request.mutable_grace_period()->set_nanos(250000000);
  v1::StopProcessResponse response;
  absl::Notification done;
  grpc::Status status;
  auto context = Alice();
  stub_->async()->StopProcess(context.get(), &request, &response,
                              [&](grpc::Status s) {
                                status = std::move(s);
                                done.Notify();
                              });
  ASSERT_TRUE(host_.WaitForTerminate());
  host_.clock().AdvanceTime(absl::Milliseconds(250));
  host_.clock().RunReady();
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(kBound));
  EXPECT_TRUE(status.ok());
  EXPECT_EQ(host_.job(id).kill_count, 1);
  EXPECT_EQ(response.status().state(), v1::JOB_STATE_STOPPED);
}

TEST_F(ProcessServiceTest, AbortedStopAnswersUnavailableAndIgnoresTheLateEnd) {
  const std::string id = RunAsAlice("sleep", {"100"});
  v1::StopProcessRequest request;
  request.set_job_id(id);
  v1::StopProcessResponse response;
  absl::Notification done;
  grpc::Status status;
  auto context = Alice();
  stub_->async()->StopProcess(context.get(), &request, &response,
                              [&](grpc::Status s) {
                                status = std::move(s);
                                done.Notify();
                              });
  ASSERT_TRUE(host_.WaitForTerminate());
  server_->service()->AbortPendingStops();
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(kBound));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  // The job ends later: its answer has nowhere to go and is dropped.
  host_.clock().AdvanceTime(absl::Seconds(5));
  host_.clock().RunReady();
  absl::StatusOr<JobStatus> job = jobs_->GetStatus("alice", id);
  ASSERT_TRUE(job.ok());
  EXPECT_EQ(job->state, JobState::kStopped);
}

TEST_F(ProcessServiceTest, CancelledStopStillFinishesWhenTheJobEnds) {
  const std::string id = RunAsAlice("sleep", {"100"});
  v1::StopProcessRequest request;
  request.set_job_id(id);
  v1::StopProcessResponse response;
  absl::Notification done;
  grpc::Status status;
  auto context = Alice();
  stub_->async()->StopProcess(context.get(), &request, &response,
                              [&](grpc::Status s) {
                                status = std::move(s);
                                done.Notify();
                              });
  ASSERT_TRUE(host_.WaitForTerminate());
  context->TryCancel();
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(kBound));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::CANCELLED);
  // The stop goes on without its caller; the server side finishes the call
  // when the job ends (else the server could not shut down, and ASan would
  // report the reactor).
  host_.clock().AdvanceTime(absl::Seconds(5));
  host_.clock().RunReady();
  absl::StatusOr<JobStatus> job = jobs_->GetStatus("alice", id);
  ASSERT_TRUE(job.ok());
  EXPECT_EQ(job->state, JobState::kStopped);
}

TEST_F(ProcessServiceTest, StopOfEndedJobReturnsFinalStatusAtOnce) {
  const std::string id = RunAsAlice("true");
  ASSERT_TRUE(host_.Exit(id, ExitInfo::Exited(0)));
  v1::StopProcessRequest request;
  request.set_job_id(id);
  v1::StopProcessResponse response;
  ASSERT_TRUE(stub_->StopProcess(Alice().get(), request, &response).ok());
  EXPECT_EQ(response.status().state(), v1::JOB_STATE_EXITED);
  EXPECT_EQ(host_.job(id).terminate_count, 0);
}

TEST_F(ProcessServiceTest, NegativeOrMalformedGraceIsInvalidArgument) {
  const std::string id = RunAsAlice("sleep", {"100"});
  std::vector<google::protobuf::Duration> bad(3);
  bad[0].set_seconds(-1);
  bad[1].set_seconds(1);
  bad[1].set_nanos(-5);  // signs disagree
  bad[2].set_nanos(2000000000);
  for (const auto& grace : bad) {
    v1::StopProcessRequest request;
    request.set_job_id(id);
    *request.mutable_grace_period() = grace;
    v1::StopProcessResponse response;
    grpc::Status status = stub_->StopProcess(Alice().get(), request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << grace.DebugString();
  }
  EXPECT_EQ(host_.job(id).terminate_count, 0);
}

}  // namespace
}  // namespace cmdctl::test

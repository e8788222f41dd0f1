// Where GetProcessOutput reads: never under a lock of the whole service, and
// never on the host's thread after a wake (the host's event loop must not
// wait for followers). The hook runs on the thread that is about to read
// (FakeProcessHost::RunOnceBeforeRead).
#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <thread>

#include "absl/synchronization/notification.h"
#include "cmdctl/v1/cmdctl.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/rpc/process_service_fixture.h"

namespace cmdctl::test {
namespace {

TEST_F(ProcessServiceTest, TheFirstReadHoldsNoLockOfTheService) {
  const std::string id = RunAsAlice("gen");
  ASSERT_TRUE(host_.AppendOutput(id, OutputStream::kStdout, "abcd"));
  // Just before the stream's first read, another thread asks the service
  // something that takes its lock: it must get an answer while the read is
  // under way (it would wait forever if the reader held that lock).
  bool service_answered = false;
  host_.RunOnceBeforeRead(OutputStream::kStdout, [&] {
    // Shared: if the service hangs, the other thread outlives this hook.
    auto answered = std::make_shared<absl::Notification>();
    std::thread other([this, answered] {
      server_->service()->OpenStreams();
      answered->Notify();
    });
    service_answered = answered->WaitForNotificationWithTimeout(kBound);
    if (service_answered) {
      other.join();
    } else {
      other.detach();  // the test fails; the lock comes free after the read
    }
  });
  Output output = ReadAll(Alice().get(), id, /*snapshot=*/true);
  ASSERT_TRUE(output.status.ok()) << output.status.error_message();
  EXPECT_EQ(output.out, "abcd");
  EXPECT_TRUE(service_answered);
}

TEST_F(ProcessServiceTest, AWokenFollowerReadsOffTheHostThread) {
  const std::string id = RunAsAlice("gen");
  ASSERT_TRUE(host_.AppendOutput(id, OutputStream::kStdout, "abcd"));
  auto context = Alice();
  v1::ProcessOutputRequest request;
  request.set_job_id(id);
  auto reader = stub_->GetProcessOutput(context.get(), request);
  v1::ProcessOutputResponse message;
  ASSERT_TRUE(reader->Read(&message));  // caught up: it waits for the job
  ASSERT_TRUE(GetStatus(Alice().get(), id).ok());  // (time to get there)

  // This thread plays the host's event loop: it appends, which wakes the
  // follower. The read that follows must happen on another thread, and the
  // host must not wait for it: the hook holds the read until AppendOutput
  // has returned.
  absl::Notification appended;
  bool read_on_host_thread = true;
  bool host_went_on = false;
  const std::thread::id host_thread = std::this_thread::get_id();
  host_.RunOnceBeforeRead(OutputStream::kStdout, [&] {
    read_on_host_thread = std::this_thread::get_id() == host_thread;
    if (!read_on_host_thread) {
      host_went_on = appended.WaitForNotificationWithTimeout(kBound);
    }
  });
  ASSERT_TRUE(host_.AppendOutput(id, OutputStream::kStdout, "efgh"));
  appended.Notify();
  ASSERT_TRUE(reader->Read(&message));
  EXPECT_EQ(message.data(), "efgh");
  EXPECT_FALSE(read_on_host_thread);
  EXPECT_TRUE(host_went_on);
  ASSERT_TRUE(host_.Exit(id, ExitInfo::Exited(0)));
  EXPECT_FALSE(reader->Read(&message));
  EXPECT_TRUE(reader->Finish().ok());
}

}  // namespace
}  // namespace cmdctl::test

// GetProcessOutput through the service: snapshots, followers, binary safety,
// errors, cancels racing output, and a stalled reader that holds back nobody.
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cmdctl/v1/cmdctl.grpc.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/rpc/process_service_fixture.h"

namespace cmdctl::test {
namespace {

using ::testing::HasSubstr;

TEST_F(ProcessServiceTest, SnapshotSendsWhatIsStoredAndEnds) {
  const std::string id = RunAsAlice("gen");
  ASSERT_TRUE(host_.AppendOutput(id, OutputStream::kStdout, "hello\n"));
  ASSERT_TRUE(host_.AppendOutput(id, OutputStream::kStderr, "oops"));
  Output output = ReadAll(Alice().get(), id, /*snapshot=*/true);
  ASSERT_TRUE(output.status.ok()) << output.status.error_message();
  EXPECT_EQ(output.out, "hello\n");
  EXPECT_EQ(output.err, "oops");
  for (const auto& [stream, data] : output.chunks) {
    EXPECT_LE(data.size(), 4u);  // the configured chunk size
    EXPECT_FALSE(data.empty());
  }
}

TEST_F(ProcessServiceTest, SnapshotOfAJobWithNoOutputIsEmptyAndOk) {
  const std::string id = RunAsAlice("quiet");
  Output output = ReadAll(Alice().get(), id, /*snapshot=*/true);
  EXPECT_TRUE(output.status.ok());
  EXPECT_TRUE(output.chunks.empty());
}

TEST_F(ProcessServiceTest, OutputIsBinarySafe) {
  const std::string id = RunAsAlice("gen");
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes.push_back(static_cast<char>(i));
  ASSERT_TRUE(host_.AppendOutput(id, OutputStream::kStdout, bytes));
  ASSERT_TRUE(host_.Exit(id, ExitInfo::Exited(0)));
  Output output = ReadAll(Alice().get(), id, /*snapshot=*/false);
  ASSERT_TRUE(output.status.ok());
  EXPECT_EQ(output.out, bytes);
}

TEST_F(ProcessServiceTest, FollowerGetsOutputThatArrivesAfterItCaughtUp) {
  const std::string id = RunAsAlice("gen");
  ASSERT_TRUE(host_.AppendOutput(id, OutputStream::kStdout, "abcd"));
  auto context = Alice();
  v1::ProcessOutputRequest request;
  request.set_job_id(id);
  auto reader = stub_->GetProcessOutput(context.get(), request);
  v1::ProcessOutputResponse message;
  ASSERT_TRUE(reader->Read(&message));
  EXPECT_EQ(message.data(), "abcd");
  // The reader has caught up; new output wakes it.
  ASSERT_TRUE(host_.AppendOutput(id, OutputStream::kStderr, "efg"));
  ASSERT_TRUE(reader->Read(&message));
  EXPECT_EQ(message.data(), "efg");
  EXPECT_EQ(message.stream(), v1::OUTPUT_STREAM_STDERR);
  ASSERT_TRUE(host_.Exit(id, ExitInfo::Exited(0)));
  EXPECT_FALSE(reader->Read(&message));
  EXPECT_TRUE(reader->Finish().ok());
}

TEST_F(ProcessServiceTest, FollowersJoiningAtDifferentMomentsGetEverything) {
  const std::string id = RunAsAlice("gen");
  constexpr int kReaders = 8;
  std::vector<Output> outputs(kReaders);
  std::vector<std::thread> readers;
  std::string want_out, want_err;
  for (int i = 0; i < kReaders; ++i) {
    const std::string out = absl::StrCat("out", i, "-line\n");
    const std::string err = absl::StrCat("err", i, "\n");
    ASSERT_TRUE(host_.AppendOutput(id, OutputStream::kStdout, out));
    ASSERT_TRUE(host_.AppendOutput(id, OutputStream::kStderr, err));
    want_out += out;
    want_err += err;
    readers.emplace_back([this, i, &outputs, id] {
      outputs[i] = ReadAll(Alice().get(), id, /*snapshot=*/false);
    });
  }
  for (int i = 0; i < 50; ++i) {
    const std::string more = absl::StrCat("tail ", i, "\n");
    ASSERT_TRUE(host_.AppendOutput(id, OutputStream::kStdout, more));
    want_out += more;
  }
  ASSERT_TRUE(host_.Exit(id, ExitInfo::Exited(0)));
  for (auto& t : readers) t.join();
  for (int i = 0; i < kReaders; ++i) {
    EXPECT_TRUE(outputs[i].status.ok()) << outputs[i].status.error_message();
    EXPECT_EQ(outputs[i].out, want_out) << "reader " << i;
    EXPECT_EQ(outputs[i].err, want_err) << "reader " << i;
  }
}

TEST_F(ProcessServiceTest, OutputOfUnknownJobIsNotFound) {
  Output output = ReadAll(Alice().get(), NextJobId(), false);
  EXPECT_EQ(output.status.error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(ProcessServiceTest, ReadErrorEndsTheStreamWithTheHostsCode) {
  const std::string id = RunAsAlice("gen");
  ASSERT_TRUE(host_.AppendOutput(id, OutputStream::kStdout, "x"));
  host_.set_read_error(absl::InternalError("pread: I/O error"));
  Output output = ReadAll(Alice().get(), id, false);
  EXPECT_EQ(output.status.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_THAT(output.status.error_message(), HasSubstr("I/O error"));
}

TEST_F(ProcessServiceTest, ClientCancelFinishesTheStreamAndLeavesTheJob) {
  const std::string id = RunAsAlice("gen");
  ASSERT_TRUE(host_.AppendOutput(id, OutputStream::kStdout, "abcd"));
  auto context = Alice();
  v1::ProcessOutputRequest request;
  request.set_job_id(id);
  auto reader = stub_->GetProcessOutput(context.get(), request);
  v1::ProcessOutputResponse message;
  ASSERT_TRUE(reader->Read(&message));
  ASSERT_EQ(server_->service()->OpenStreams(), 1u);
  context->TryCancel();
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
  // The server side finishes (OnCancel -> Finish -> OnDone).
  EXPECT_TRUE(server_->service()->AwaitOpenStreamsAtMost(0, kBound));
  // The job goes on, and a late change is harmless.
  ASSERT_TRUE(host_.AppendOutput(id, OutputStream::kStdout, "more"));
  v1::ProcessStatusResponse status;
  ASSERT_TRUE(GetStatus(Alice().get(), id, &status).ok());
  EXPECT_EQ(status.status().state(), v1::JOB_STATE_RUNNING);
  EXPECT_EQ(host_.job(id).terminate_count, 0);
}

TEST_F(ProcessServiceTest, ManyCancelledFollowersAllFinish) {
  const std::string id = RunAsAlice("gen");
  constexpr int kReaders = 20;
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::unique_ptr<grpc::ClientReader<v1::ProcessOutputResponse>>>
      readers;
  for (int i = 0; i < kReaders; ++i) {
    contexts.push_back(Alice());
    v1::ProcessOutputRequest request;
    request.set_job_id(id);
    readers.push_back(stub_->GetProcessOutput(contexts.back().get(), request));
  }
  ASSERT_TRUE(host_.AppendOutput(id, OutputStream::kStdout, "ping"));
  for (int i = 0; i < kReaders; ++i) {
    v1::ProcessOutputResponse message;
    ASSERT_TRUE(readers[i]->Read(&message));
    EXPECT_EQ(message.data(), "ping");
  }
  EXPECT_EQ(server_->service()->OpenStreams(), size_t{kReaders});
  for (int i = 0; i < kReaders; ++i) {
    contexts[i]->TryCancel();
    EXPECT_EQ(readers[i]->Finish().error_code(), grpc::StatusCode::CANCELLED);
  }
  EXPECT_TRUE(server_->service()->AwaitOpenStreamsAtMost(0, kBound));
}

// Every message one 4-byte chunk (no large reads), so reader i below always
// has the i * 3 messages it waits for.
class ProcessServiceSmallMessagesTest : public ProcessServiceTest {
 protected:
  void SetUp() override {
    StartServer(/*chunk_bytes=*/4, OutputReadOptions{/*large_chunk_bytes=*/0});
  }
};

TEST_F(ProcessServiceSmallMessagesTest,
       CancelsRacingNewOutputAllFinishCleanly) {
  const std::string id = RunAsAlice("gen");
  constexpr int kReaders = 16;
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::unique_ptr<grpc::ClientReader<v1::ProcessOutputResponse>>>
      readers;
  for (int i = 0; i < kReaders; ++i) {
    contexts.push_back(Alice());
    v1::ProcessOutputRequest request;
    request.set_job_id(id);
    readers.push_back(stub_->GetProcessOutput(contexts.back().get(), request));
  }
  // Output arrives on another thread (as on a host thread) while readers
  // read, and are cancelled, at various points.
  std::thread producer([this, id] {
    for (int i = 0; i < 300; ++i) {
      ASSERT_TRUE(host_.AppendOutput(id, OutputStream::kStdout,
                                     absl::StrCat("chunk ", i, "\n")));
    }
  });
  for (int i = 0; i < kReaders; ++i) {
    v1::ProcessOutputResponse message;
    for (int n = 0; n < i * 3 && readers[i]->Read(&message); ++n) {
    }
    contexts[i]->TryCancel();
  }
  producer.join();
  for (int i = 0; i < kReaders; ++i) {
    EXPECT_EQ(readers[i]->Finish().error_code(), grpc::StatusCode::CANCELLED);
  }
  EXPECT_TRUE(server_->service()->AwaitOpenStreamsAtMost(0, kBound));
  ASSERT_TRUE(host_.Exit(id, ExitInfo::Exited(0)));
}

// A reader that never reads holds back neither the job nor other readers.
class ProcessServiceBigChunkTest : public ProcessServiceTest {
 protected:
  void SetUp() override { StartServer(/*chunk_bytes=*/64 * 1024); }
};

TEST_F(ProcessServiceBigChunkTest, StalledReaderHoldsBackNobody) {
  const std::string id = RunAsAlice("gen");
  auto stalled_context = Alice();
  v1::ProcessOutputRequest request;
  request.set_job_id(id);
  auto stalled = stub_->GetProcessOutput(stalled_context.get(), request);

  std::string want;
  const std::string block(64 * 1024, 'x');
  for (int i = 0; i < 128; ++i) {  // 8 MiB, far beyond any buffer
    std::string data = block;
    data[0] = static_cast<char>('a' + i % 26);
    // AppendOutput wakes every waiting reader on this thread: it returns,
    // so the job is never held back by the stalled reader.
    ASSERT_TRUE(host_.AppendOutput(id, OutputStream::kStdout, data));
    want += data;
  }
  ASSERT_TRUE(host_.Exit(id, ExitInfo::Exited(0)));
  Output other = ReadAll(Alice().get(), id, /*snapshot=*/false);
  ASSERT_TRUE(other.status.ok());
  EXPECT_EQ(other.out.size(), want.size());
  EXPECT_TRUE(other.out == want);

  stalled_context->TryCancel();
  EXPECT_EQ(stalled->Finish().error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_TRUE(server_->service()->AwaitOpenStreamsAtMost(0, kBound));
}

// A reader that is behind gets fewer, larger messages (within the budget);
// every byte still comes once and in order.
class ProcessServiceLargeReadsTest : public ProcessServiceTest {
 protected:
  static constexpr size_t kChunk = 4 * 1024;
  static constexpr size_t kLarge = 64 * 1024;
  void SetUp() override {}
  // 1 MiB written in 8 KiB pieces by a job that has ended, read at once.
  Output ReadFinishedJob() {
    const std::string id = RunAsAlice("gen");
    std::string want;
    for (int i = 0; i < 128; ++i) {
      std::string data(8 * 1024, static_cast<char>('a' + i % 26));
      data[i] = '\n';
      EXPECT_TRUE(host_.AppendOutput(id, OutputStream::kStdout, data));
      want += data;
    }
    EXPECT_TRUE(host_.Exit(id, ExitInfo::Exited(0)));
    Output all = ReadAll(Alice().get(), id, /*snapshot=*/false);
    EXPECT_TRUE(all.status.ok()) << all.status.error_message();
    EXPECT_EQ(all.out.size(), want.size());
    EXPECT_TRUE(all.out == want);
    return all;
  }
};

TEST_F(ProcessServiceLargeReadsTest, ALateReaderGetsLargeMessages) {
  StartServer(kChunk, OutputReadOptions{kLarge, 1024 * 1024});
  if (IsSkipped()) return;  // TSan (StartServer)
  Output all = ReadFinishedJob();
  // One normal chunk, then large ones: 1 + (1 MiB - 4 KiB) / 64 KiB.
  EXPECT_EQ(all.chunks.size(), 17u);
  for (const auto& [stream, data] : all.chunks) EXPECT_LE(data.size(), kLarge);
}

TEST_F(ProcessServiceLargeReadsTest, WithoutLargeReadsEveryMessageIsAChunk) {
  StartServer(kChunk, OutputReadOptions{/*large_chunk_bytes=*/0, 1024 * 1024});
  if (IsSkipped()) return;  // TSan (StartServer)
  EXPECT_EQ(ReadFinishedJob().chunks.size(), 256u);
}

TEST_F(ProcessServiceLargeReadsTest, NoBudgetMeansNormalChunks) {
  StartServer(kChunk, OutputReadOptions{kLarge, /*large_chunk_budget=*/0});
  if (IsSkipped()) return;  // TSan (StartServer)
  EXPECT_EQ(ReadFinishedJob().chunks.size(), 256u);
}

}  // namespace
}  // namespace cmdctl::test

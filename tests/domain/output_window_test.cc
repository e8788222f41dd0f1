// The output window (SPEC §6) through OutputCursor over the fake host:
// offsets on every chunk, resume at any offset, OUT_OF_RANGE and
// INVALID_ARGUMENT at the edges, tail over chunk boundaries, a window whose
// start moves while a reader is behind or waits, and DATA_LOSS.
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/domain/domain_test_support.h"
#include "tests/fakes/fake_process_host.h"

namespace cmdctl::test {
namespace {

class OutputWindowTest : public ::testing::Test {
 protected:
  void SetUp() override { StartJob(0); }

  void StartJob(int64_t cap) {
    ProcessSpec spec;
    spec.job_id = "job-1";
    spec.program = "prog";
    spec.run_as = "alice";
    spec.max_output_bytes = cap;
    host_ = std::make_unique<FakeProcessHost>();
    job_ = std::make_shared<Job>("job-1", "alice", spec, host_->Now());
    ASSERT_TRUE(host_->Start(spec, job_).ok());
  }
  absl::StatusOr<std::unique_ptr<OutputCursor>> Open(OutputRequest request,
                                                     size_t chunk = 1 << 16) {
    return OpenCursor(job_, host_.get(), request, chunk);
  }
  std::unique_ptr<OutputCursor> OpenOk(OutputRequest request,
                                       size_t chunk = 1 << 16) {
    auto cursor = Open(request, chunk);
    EXPECT_TRUE(cursor.ok()) << cursor.status();
    return cursor.ok() ? *std::move(cursor) : nullptr;
  }
  void Out(const std::string& s) {
    ASSERT_TRUE(host_->AppendOutput("job-1", OutputStream::kStdout, s));
  }
  void Err(const std::string& s) {
    ASSERT_TRUE(host_->AppendOutput("job-1", OutputStream::kStderr, s));
  }
  void End() { host_->Exit("job-1", ExitInfo::Exited(0)); }

  std::unique_ptr<FakeProcessHost> host_;
  std::shared_ptr<Job> job_;
};

OutputRequest At(int64_t out, int64_t err, bool follow = true) {
  OutputRequest r;
  r.follow = follow;
  r.stdout_offset = out;
  r.stderr_offset = err;
  return r;
}

OutputRequest Tail(int64_t lines, bool follow = false) {
  OutputRequest r;
  r.follow = follow;
  r.tail_lines = lines;
  return r;
}

TEST_F(OutputWindowTest, EveryChunkCarriesTheOffsetOfItsFirstByte) {
  Out("abcdefghij");
  Err("0123");
  End();
  auto cursor = OpenOk(At(0, 0), /*chunk=*/3);
  Received r = DrainNow(*cursor);
  EXPECT_TRUE(r.at_end);
  int64_t next[2] = {0, 0};
  for (const OutputChunk& c : r.chunks) {
    const int s = StreamIndex(c.stream);
    EXPECT_EQ(c.offset, next[s]);
    next[s] += static_cast<int64_t>(c.data.size());
  }
  EXPECT_EQ(next[0], 10);
  EXPECT_EQ(next[1], 4);
}

TEST_F(OutputWindowTest, ResumesExactlyAtTheGivenOffsets) {
  Out("hello world\n");
  Err("warning\n");
  auto cursor = OpenOk(At(6, 8));
  Received r = DrainNow(*cursor);
  EXPECT_EQ(r.out, "world\n");
  EXPECT_EQ(r.err, "");
  ASSERT_FALSE(r.chunks.empty());
  EXPECT_EQ(r.chunks[0].offset, 6);
  Err("more\n");
  r = DrainNow(*cursor);
  EXPECT_EQ(r.err, "more\n");
  EXPECT_EQ(r.chunks.back().offset, 8);
}

TEST_F(OutputWindowTest, OffsetPastTheEndOfAnEndedJobIsOutOfRange) {
  Out("12345");
  End();
  EXPECT_EQ(Open(At(6, 0)).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(Open(At(0, 1)).status().code(), absl::StatusCode::kOutOfRange);
  // At the very end: nothing to send, and no error.
  auto cursor = OpenOk(At(5, 0));
  Received r = DrainNow(*cursor);
  EXPECT_TRUE(r.at_end);
  EXPECT_TRUE(r.chunks.empty());
}

TEST_F(OutputWindowTest, SnapshotPastTheStoredEndIsOutOfRange) {
  Out("12345");
  EXPECT_EQ(Open(At(9, 0, /*follow=*/false)).status().code(),
            absl::StatusCode::kOutOfRange);
}

TEST_F(OutputWindowTest, FollowerPastTheEndOfARunningJobWaitsForTheBytes) {
  Out("12345");
  auto cursor = OpenOk(At(8, 0));
  Received r = DrainNow(*cursor);
  EXPECT_FALSE(r.at_end);
  EXPECT_TRUE(r.chunks.empty());
  bool woken = false;
  ASSERT_TRUE(cursor->WaitForMore([&] { woken = true; }));
  Out("67");  // up to byte 7: still before 8
  EXPECT_TRUE(woken);
  r = DrainNow(*cursor);
  EXPECT_TRUE(r.chunks.empty());
  Out("89ab");
  r = DrainNow(*cursor);
  EXPECT_EQ(r.out, "9ab");
  EXPECT_EQ(r.chunks[0].offset, 8);
}

TEST_F(OutputWindowTest, NegativeOffsetsAndOffsetsWithTailAreInvalid) {
  EXPECT_EQ(ValidateOutputRequest(At(-1, 0)).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateOutputRequest(At(0, -5)).code(),
            absl::StatusCode::kInvalidArgument);
  OutputRequest both = Tail(3);
  both.stdout_offset = 1;
  EXPECT_EQ(ValidateOutputRequest(both).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateOutputRequest(Tail(-1)).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(ValidateOutputRequest(Tail(3)).ok());
  EXPECT_TRUE(ValidateOutputRequest(At(4, 2)).ok());
}

TEST_F(OutputWindowTest, TailStartsAtTheLastLines) {
  Out("one\ntwo\nthree\nfour\n");
  Err("e1\ne2\n");
  auto cursor = OpenOk(Tail(2));
  Received r = DrainNow(*cursor);
  EXPECT_EQ(r.out, "three\nfour\n");
  EXPECT_EQ(r.err, "e1\ne2\n");
  EXPECT_EQ(r.chunks[0].offset, StreamIndex(r.chunks[0].stream) == 0 ? 8 : 0);
}

TEST_F(OutputWindowTest, TailCountsAFinalPieceWithoutNewlineAsALine) {
  Out("a\nb\nc");
  EXPECT_EQ(DrainNow(*OpenOk(Tail(1))).out, "c");
  EXPECT_EQ(DrainNow(*OpenOk(Tail(2))).out, "b\nc");
  EXPECT_EQ(DrainNow(*OpenOk(Tail(9))).out, "a\nb\nc");  // fewer: all
}

TEST_F(OutputWindowTest, TailFindsLinesAcrossBlocksAndShortReads) {
  // Lines of 100 KiB: the backwards search spans several 64 KiB blocks,
  // and every read returns at most 1000 bytes.
  std::string all;
  for (int i = 0; i < 5; ++i) {
    all += std::string(100 * 1024, static_cast<char>('a' + i)) + "\n";
  }
  Out(all);
  host_->set_max_read_bytes(1000);
  Received r = DrainNow(*OpenOk(Tail(2), /*chunk=*/4096));
  EXPECT_EQ(r.out, all.substr(3 * (100 * 1024 + 1)));
}

TEST_F(OutputWindowTest, TailOfAFollowerGoesOnWithNewLines) {
  Out("old1\nold2\nlast\n");
  auto cursor = OpenOk(Tail(1, /*follow=*/true));
  EXPECT_EQ(DrainNow(*cursor).out, "last\n");
  Out("new\n");
  End();
  Received r = DrainNow(*cursor);
  EXPECT_EQ(r.out, "new\n");
  EXPECT_TRUE(r.at_end);
}

TEST_F(OutputWindowTest, ReaderBehindTheWindowSkipsToTheFirstStoredByte) {
  Out("0123456789");
  auto cursor = OpenOk(At(0, 0), /*chunk=*/4);
  Received r = DrainNow(*cursor, {});
  ASSERT_EQ(r.out, "0123456789");
  // A second reader that is behind when the front is dropped.
  auto behind = OpenOk(At(2, 0), /*chunk=*/4);
  host_->DropFront("job-1", OutputStream::kStdout, 6);
  r = DrainNow(*behind);
  EXPECT_EQ(r.out, "6789");
  EXPECT_EQ(r.chunks[0].offset, 6);  // the gap shows in the offset
}

TEST_F(OutputWindowTest, WindowThatMovesWhileAFollowerWaitsLeavesAGap) {
  StartJob(/*cap=*/8);
  Out("abcd");
  auto cursor = OpenOk(At(0, 0));
  EXPECT_EQ(DrainNow(*cursor).out, "abcd");
  bool woken = false;
  ASSERT_TRUE(cursor->WaitForMore([&] { woken = true; }));
  Out("efghijklmnop");  // 16 bytes written, the cap keeps the last 8
  EXPECT_TRUE(woken);
  Received r = DrainNow(*cursor);
  EXPECT_EQ(r.out, "ijklmnop");
  EXPECT_EQ(r.chunks[0].offset, 8);
  End();
  r = DrainNow(*cursor);
  EXPECT_TRUE(r.at_end);
}

TEST_F(OutputWindowTest, ReaderFromTheStartOfACappedStreamBeginsAtItsWindow) {
  StartJob(/*cap=*/5);
  Out("0123456789");
  End();
  Received r = DrainNow(*OpenOk(At(0, 0)));
  EXPECT_EQ(r.out, "56789");
  EXPECT_EQ(r.chunks[0].offset, 5);
  // tail never reaches before the window either.
  EXPECT_EQ(DrainNow(*OpenOk(Tail(100))).out, "56789");
}

TEST_F(OutputWindowTest, TamperedFileEndsTheStreamWithDataLoss) {
  Out("first\n");
  auto cursor = OpenOk(At(0, 0));
  EXPECT_EQ(DrainNow(*cursor).out, "first\n");
  host_->Tamper("job-1", OutputStream::kStdout);
  Out("second\n");
  Received r = DrainNow(*cursor);
  EXPECT_EQ(r.status.code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(r.out, "");
  // A new reader is refused the same way.
  EXPECT_EQ(Open(At(0, 0)).status().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace cmdctl::test

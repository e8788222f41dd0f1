// OutputCursor's large reads: a reader that is behind reads (and sends)
// larger chunks while it holds a reservation from the server-wide
// OutputBudget; a caught-up follower keeps normal chunks; every byte still
// comes exactly once and in order; errors are unchanged; sent buffers are
// reused.
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "domain/output_budget.h"
#include "domain/output_cursor.h"
#include "gtest/gtest.h"
#include "tests/domain/domain_test_support.h"
#include "tests/domain/output_cursor_fixture.h"

namespace cmdctl::test {
namespace {

constexpr size_t kChunk = 4;
constexpr size_t kLarge = 16;

std::vector<size_t> Sizes(const Received& r) {
  std::vector<size_t> sizes;
  for (const OutputChunk& c : r.chunks) sizes.push_back(c.data.size());
  return sizes;
}

std::string Pattern(size_t n, char first = 'a') {
  std::string s;
  for (size_t i = 0; i < n; ++i) s.push_back(static_cast<char>(first + i % 26));
  return s;
}

class LargeReadsTest : public OutputCursorTest {
 protected:
  std::unique_ptr<OutputCursor> OpenLarge(bool follow = true) {
    std::unique_ptr<OutputCursor> cursor = Open(follow, kChunk);
    if (cursor != nullptr) cursor->EnableLargeReads(&budget_, kLarge);
    return cursor;
  }
  OutputBudget budget_{4 * kLarge};
};

TEST_F(LargeReadsTest, ABehindReaderGetsLargeChunksAfterAFullOne) {
  Out(Pattern(40));
  auto cursor = OpenLarge();
  Received r = DrainNow(*cursor);
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_EQ(r.out, Pattern(40));
  // The first read cannot know; it filled its chunk, so the next ones are
  // large, up to what is there.
  EXPECT_EQ(Sizes(r), (std::vector<size_t>{4, 16, 16, 4}));
  EXPECT_EQ(budget_.reserved(), kLarge);
  // Caught up and waiting: the reservation goes back.
  EXPECT_TRUE(cursor->WaitForMore([] {}));
  EXPECT_EQ(budget_.reserved(), 0u);
  // After the wake, a small first read again.
  Out(Pattern(10));
  r = DrainNow(*cursor);
  EXPECT_EQ(Sizes(r), (std::vector<size_t>{4, 6}));
}

TEST_F(LargeReadsTest, WithoutLargeReadsChunksStayNormal) {
  Out(Pattern(40));
  auto cursor = Open(true, kChunk);
  Received r = DrainNow(*cursor);
  EXPECT_EQ(r.chunks.size(), 10u);
  EXPECT_EQ(budget_.reserved(), 0u);
}

TEST_F(LargeReadsTest, ACaughtUpFollowerKeepsNormalChunksAndReservesNothing) {
  auto cursor = OpenLarge();
  std::string want;
  Received r;
  for (int i = 0; i < 30; ++i) {
    const std::string piece = Pattern(kChunk - 1, static_cast<char>('a' + i));
    Out(piece);
    want += piece;
    r = DrainNow(*cursor, std::move(r));
    ASSERT_TRUE(r.status.ok()) << r.status;
    EXPECT_EQ(budget_.reserved(), 0u) << "after write " << i;
    EXPECT_TRUE(cursor->WaitForMore([] {}));
  }
  EXPECT_EQ(r.out, want);
  for (size_t size : Sizes(r)) EXPECT_EQ(size, kChunk - 1);
}

TEST_F(LargeReadsTest, NoBudgetLeftMeansNormalChunksUntilSomeComesBack) {
  OutputBudget small(kLarge);
  ASSERT_TRUE(small.TryReserve(kLarge));  // another reader holds it all
  Out(Pattern(60));
  std::unique_ptr<OutputCursor> cursor = Open(true, kChunk);
  cursor->EnableLargeReads(&small, kLarge);
  for (int i = 0; i < 3; ++i) {
    auto next = cursor->Next();
    ASSERT_TRUE(next.ok() && next->has_value());
    EXPECT_EQ((*next)->data.size(), kChunk);
  }
  small.Release(kLarge);
  Received r = DrainNow(*cursor);
  EXPECT_EQ(Sizes(r), (std::vector<size_t>{16, 16, 16}));
  EXPECT_EQ(small.reserved(), kLarge);
  cursor.reset();  // a cursor that goes away gives its reservation back
  EXPECT_EQ(small.reserved(), 0u);
}

TEST_F(LargeReadsTest, EveryByteOnceAndInOrderOnBothStreamsWithOffsets) {
  auto cursor = OpenLarge();
  std::string want_out, want_err;
  Received r;
  for (int i = 0; i < 40; ++i) {
    const std::string o = Pattern(static_cast<size_t>(i * 7 % 45 + 1), 'A');
    const std::string e = Pattern(static_cast<size_t>(i * 5 % 23), 'a');
    Out(o);
    want_out += o;
    if (!e.empty()) Err(e);
    want_err += e;
    if (i % 3 == 0) r = DrainNow(*cursor, std::move(r));
    if (i % 6 == 0) cursor->WaitForMore([] {});
  }
  End();
  r = DrainNow(*cursor, std::move(r));
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_TRUE(r.at_end);
  EXPECT_EQ(r.out, want_out);
  EXPECT_EQ(r.err, want_err);
  int64_t at[2] = {0, 0};
  bool some_large = false;
  for (const OutputChunk& c : r.chunks) {
    const int s = c.stream == OutputStream::kStdout ? 0 : 1;
    EXPECT_EQ(c.offset, at[s]);
    at[s] += static_cast<int64_t>(c.data.size());
    EXPECT_LE(c.data.size(), kLarge);
    some_large = some_large || c.data.size() > kChunk;
  }
  EXPECT_TRUE(some_large);
  cursor.reset();
  EXPECT_EQ(budget_.reserved(), 0u);
}

TEST_F(LargeReadsTest, ASnapshotNeverReadsPastItsEnd) {
  Out(Pattern(30));
  auto cursor = OpenLarge(/*follow=*/false);
  Out(Pattern(30, 'A'));  // after the snapshot was taken
  Received r = DrainNow(*cursor);
  EXPECT_TRUE(r.at_end);
  EXPECT_EQ(r.out, Pattern(30));
  EXPECT_EQ(Sizes(r), (std::vector<size_t>{4, 16, 10}));
}

TEST_F(LargeReadsTest, ATamperedFileStillEndsWithDataLoss) {
  Out(Pattern(60));
  auto cursor = OpenLarge();
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(cursor->Next().ok());
  ASSERT_EQ(budget_.reserved(), kLarge);  // reading large now
  host_.Tamper("job-1", OutputStream::kStdout);
  auto next = cursor->Next();
  EXPECT_EQ(next.status().code(), absl::StatusCode::kDataLoss);
}

TEST_F(LargeReadsTest, AnOffsetPastTheEndOfAnEndedJobIsStillOutOfRange) {
  Out(Pattern(10));
  End();
  OutputRequest request;
  request.stdout_offset = 11;
  auto cursor = OpenCursor(job_, &host_, request, kChunk);
  EXPECT_EQ(cursor.status().code(), absl::StatusCode::kOutOfRange);
}

TEST_F(LargeReadsTest, ASentBufferIsReusedForTheNextRead) {
  // Chunks beyond std::string's inline capacity, so they have a buffer.
  Out(Pattern(300));
  auto cursor = Open(true, 100);
  auto first = cursor->Next();
  ASSERT_TRUE(first.ok() && first->has_value());
  const char* buffer = (*first)->data.data();
  cursor->Recycle(std::move((*first)->data));
  auto second = cursor->Next();
  ASSERT_TRUE(second.ok() && second->has_value());
  EXPECT_EQ((*second)->data, Pattern(300).substr(100, 100));
  EXPECT_EQ((*second)->data.data(), buffer);
  // Without Recycle, the next read has a buffer of its own.
  auto third = cursor->Next();
  ASSERT_TRUE(third.ok() && third->has_value());
  EXPECT_EQ((*third)->data, Pattern(300).substr(200, 100));
  EXPECT_NE((*third)->data.data(), (*second)->data.data());
}

TEST_F(LargeReadsTest, AWaitingFollowerKeepsNoBuffer) {
  Out(Pattern(150));
  auto cursor = Open(true, 100);
  Received r = DrainNow(*cursor);  // the last, empty read keeps its buffer
  ASSERT_EQ(r.out, Pattern(150));
  EXPECT_GE(cursor->KeptBufferBytes(), 100u);
  ASSERT_TRUE(cursor->WaitForMore([] {}));
  EXPECT_LT(cursor->KeptBufferBytes(), 100u);
}

}  // namespace
}  // namespace cmdctl::test

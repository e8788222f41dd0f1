// OutputCursor: a reader's position in both streams of one job, non-blocking
// reads, waits without threads, and the end of stream.
#include "domain/output_cursor.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/domain/domain_test_support.h"
#include "tests/domain/output_cursor_fixture.h"
#include "tests/fakes/fake_process_host.h"

namespace cmdctl::test {
namespace {

TEST_F(OutputCursorTest, RunningJobWithoutOutputIsCaughtUpNotEnded) {
  auto cursor = Open();
  auto next = cursor->Next();
  ASSERT_TRUE(next.ok());
  EXPECT_FALSE(next->has_value());
  EXPECT_FALSE(cursor->AtEnd());
}

TEST_F(OutputCursorTest, LateReaderGetsBothStreamsFromByteZero) {
  Out("out-1\n");
  Err("err-1\n");
  Out("out-2\n");
  auto cursor = Open();
  Received r = DrainNow(*cursor);
  EXPECT_TRUE(r.status.ok());
  EXPECT_EQ(r.out, "out-1\nout-2\n");
  EXPECT_EQ(r.err, "err-1\n");
  EXPECT_FALSE(r.at_end);
}

TEST_F(OutputCursorTest, ChunksNeverExceedChunkBytesAndAreNeverEmpty) {
  Out("0123456789");
  auto cursor = Open(true, 4);
  Received r = DrainNow(*cursor);
  ASSERT_EQ(r.chunks.size(), 3u);
  EXPECT_EQ(r.chunks[0].data, "0123");
  EXPECT_EQ(r.chunks[1].data, "4567");
  EXPECT_EQ(r.chunks[2].data, "89");
  for (const auto& c : r.chunks) EXPECT_EQ(c.stream, OutputStream::kStdout);
}

TEST_F(OutputCursorTest, StreamsAlternateSoNeitherStarves) {
  Out("AAAAAAAAAAAA");  // 3 chunks of 4
  Err("bbbbbbbbbbbb");  // 3 chunks of 4
  auto cursor = Open(true, 4);
  Received r = DrainNow(*cursor);
  ASSERT_EQ(r.chunks.size(), 6u);
  for (size_t i = 1; i < r.chunks.size(); ++i) {
    EXPECT_NE(r.chunks[i].stream, r.chunks[i - 1].stream) << "chunk " << i;
  }
  EXPECT_EQ(r.out, "AAAAAAAAAAAA");
  EXPECT_EQ(r.err, "bbbbbbbbbbbb");
}

TEST_F(OutputCursorTest, OneStreamKeepsFlowingWhenTheOtherIsDry) {
  Out("xxxxxxxx");
  Err("y");
  auto cursor = Open(true, 2);
  Received r = DrainNow(*cursor);
  EXPECT_EQ(r.out, "xxxxxxxx");
  EXPECT_EQ(r.err, "y");
  EXPECT_EQ(r.chunks.size(), 5u);
}

TEST_F(OutputCursorTest, BytesAreDeliveredExactlyIncludingNulAndNoNewline) {
  std::string binary;
  for (int i = 0; i < 256; ++i) binary.push_back(static_cast<char>(i));
  binary += std::string("\0\0end-without-newline", 21);
  Out(binary);
  Err(std::string("\0", 1));
  End();
  auto cursor = Open(true, 7);
  Received r = DrainNow(*cursor);
  EXPECT_TRUE(r.at_end);
  EXPECT_EQ(r.out, binary);
  EXPECT_EQ(r.err, std::string("\0", 1));
}

TEST_F(OutputCursorTest, EachStreamKeepsItsOrderAcrossManyAppends) {
  auto cursor = Open(true, 5);
  std::string want_out, want_err;
  Received r;
  for (int i = 0; i < 50; ++i) {
    const std::string o = "o" + std::to_string(i) + ";";
    const std::string e = "e" + std::to_string(i) + ";";
    Out(o);
    want_out += o;
    if (i % 3 == 0) {
      Err(e);
      want_err += e;
    }
    if (i % 4 == 0) r = DrainNow(*cursor, std::move(r));
  }
  End();
  r = DrainNow(*cursor, std::move(r));
  EXPECT_TRUE(r.at_end);
  EXPECT_EQ(r.out, want_out);
  EXPECT_EQ(r.err, want_err);
}

TEST_F(OutputCursorTest, ShortHostReadsStillDeliverEveryByteBeforeTheEnd) {
  host_.set_max_read_bytes(1);
  Out("abcdef");
  Err("XYZ");
  End();
  auto cursor = Open(true, 4);
  Received r = DrainNow(*cursor);
  EXPECT_TRUE(r.at_end);
  EXPECT_EQ(r.out, "abcdef");
  EXPECT_EQ(r.err, "XYZ");
}

TEST_F(OutputCursorTest, WaitForMoreWakesOnceOnNewOutput) {
  auto cursor = Open();
  ASSERT_FALSE(DrainNow(*cursor).at_end);
  int wakes = 0;
  ASSERT_TRUE(cursor->WaitForMore([&] { ++wakes; }));
  EXPECT_EQ(wakes, 0);
  Out("more");
  EXPECT_EQ(wakes, 1);
  Out("and more");
  EXPECT_EQ(wakes, 1);
  Received r = DrainNow(*cursor);
  EXPECT_EQ(r.out, "moreand more");
  EXPECT_EQ(job_->PendingWaits(), 0u);
}

TEST_F(OutputCursorTest, WaitForMoreRefusesWhenOutputArrivedSinceNext) {
  auto cursor = Open();
  ASSERT_FALSE(DrainNow(*cursor).at_end);
  Out("raced in");
  int wakes = 0;
  EXPECT_FALSE(cursor->WaitForMore([&] { ++wakes; }));
  EXPECT_EQ(job_->PendingWaits(), 0u);
  Out("x");
  EXPECT_EQ(wakes, 0);
  EXPECT_EQ(DrainNow(*cursor).out, "raced inx");
}

TEST_F(OutputCursorTest, WaitForMoreRefusesWhenTheJobEndedSinceNext) {
  auto cursor = Open();
  ASSERT_FALSE(DrainNow(*cursor).at_end);
  End();
  int wakes = 0;
  EXPECT_FALSE(cursor->WaitForMore([&] { ++wakes; }));
  EXPECT_TRUE(DrainNow(*cursor).at_end);
  EXPECT_EQ(wakes, 0);
}

TEST_F(OutputCursorTest, WaitForMoreWakesOnTheJobsEnd) {
  auto cursor = Open();
  ASSERT_FALSE(DrainNow(*cursor).at_end);
  int wakes = 0;
  ASSERT_TRUE(cursor->WaitForMore([&] { ++wakes; }));
  End();
  EXPECT_EQ(wakes, 1);
  Received r = DrainNow(*cursor);
  EXPECT_TRUE(r.at_end);
  EXPECT_TRUE(r.chunks.empty());
}

TEST_F(OutputCursorTest, WakeMayCallBackIntoTheCursor) {
  auto cursor = Open();
  ASSERT_FALSE(DrainNow(*cursor).at_end);
  Received inside;
  ASSERT_TRUE(cursor->WaitForMore([&] { inside = DrainNow(*cursor); }));
  Out("abc");
  EXPECT_EQ(inside.out, "abc");
}

TEST_F(OutputCursorTest, EndComesOnlyAfterTheJobEndedAndEveryByteWasRead) {
  auto cursor = Open(true, 2);
  Out("abcd");
  auto first = cursor->Next();
  ASSERT_TRUE(first.ok() && first->has_value());
  EXPECT_EQ((*first)->data, "ab");
  End();
  EXPECT_FALSE(cursor->AtEnd());
  auto second = cursor->Next();
  ASSERT_TRUE(second.ok() && second->has_value());
  EXPECT_EQ((*second)->data, "cd");
  EXPECT_FALSE(cursor->AtEnd());
  auto last = cursor->Next();
  ASSERT_TRUE(last.ok());
  EXPECT_FALSE(last->has_value());
  EXPECT_TRUE(cursor->AtEnd());
  // Stays at the end.
  auto again = cursor->Next();
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->has_value());
  EXPECT_TRUE(cursor->AtEnd());
}

TEST_F(OutputCursorTest, OutputWrittenJustBeforeTheEndIsNotLost) {
  auto cursor = Open();
  Out("early ");
  Received r = DrainNow(*cursor);
  ASSERT_TRUE(cursor->WaitForMore([] {}));
  Out("final words");
  End();
  r = DrainNow(*cursor, std::move(r));
  EXPECT_TRUE(r.at_end);
  EXPECT_EQ(r.out, "early final words");
}

TEST_F(OutputCursorTest, OutputAndExitLandingInsideNextAreNotLost) {
  // Whichever stream the cursor reads second, output to the other one and
  // the job's end arrive just before that read: the cursor must not take
  // the end for "everything was read".
  for (OutputStream second : {OutputStream::kStdout, OutputStream::kStderr}) {
    SCOPED_TRACE(second == OutputStream::kStdout ? "stdout" : "stderr");
    FakeProcessHost host;
    ProcessSpec spec;
    spec.job_id = "job-2";
    spec.program = "prog";
    auto job = std::make_shared<Job>("job-2", "alice", spec, host.Now());
    ASSERT_TRUE(host.Start(spec, job).ok());
    auto cursor = OpenCursor(job, &host, /*follow=*/true, kBig).value();
    ASSERT_FALSE(DrainNow(*cursor).at_end);
    const OutputStream other = second == OutputStream::kStdout
                                   ? OutputStream::kStderr
                                   : OutputStream::kStdout;
    host.RunOnceBeforeRead(second, [&host, other] {
      host.AppendOutput("job-2", other, "last words");
      host.Exit("job-2", ExitInfo::Exited(0));
    });
    Received r = DrainNow(*cursor);
    if (!r.at_end) {
      // Caught up with a job that changed meanwhile: no wait is needed.
      EXPECT_FALSE(cursor->WaitForMore([] {}));
      r = DrainNow(*cursor, std::move(r));
    }
    EXPECT_TRUE(r.at_end);
    EXPECT_EQ(other == OutputStream::kStdout ? r.out : r.err, "last words");
  }
}

TEST_F(OutputCursorTest, OutputLandingInsideNextIsSeenBeforeWaiting) {
  auto cursor = Open();
  ASSERT_FALSE(DrainNow(*cursor).at_end);
  host_.RunOnceBeforeRead(OutputStream::kStderr, [this] { Out("sneaky"); });
  host_.RunOnceBeforeRead(OutputStream::kStdout, [this] { Err("sneaky"); });
  Received r = DrainNow(*cursor);
  int wakes = 0;
  if (cursor->WaitForMore([&] { ++wakes; })) {
    // Registered: then it must have seen everything already.
    EXPECT_EQ(r.out + r.err, "sneakysneaky");
  } else {
    r = DrainNow(*cursor, std::move(r));
  }
  EXPECT_EQ(r.out, "sneaky");
  EXPECT_EQ(r.err, "sneaky");
}

// Output notifications are armed only while a reader waits
// (ProcessHost::WatchOutput). The fake honours arming strictly: an append
// while nothing is armed raises no OnOutput.

}  // namespace
}  // namespace cmdctl::test

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
#include "tests/fakes/fake_process_host.h"

namespace cmdctl::test {
namespace {

constexpr size_t kBig = 64 * 1024;

class OutputCursorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ProcessSpec spec;
    spec.job_id = "job-1";
    spec.program = "prog";
    spec.run_as = "alice";
    job_ = std::make_shared<Job>("job-1", "alice", spec, host_.Now());
    ASSERT_TRUE(host_.Start(spec, job_).ok());
  }

  std::unique_ptr<OutputCursor> Open(bool follow = true,
                                     size_t chunk_bytes = kBig) {
    auto cursor = OpenCursor(job_, &host_, follow, chunk_bytes);
    EXPECT_TRUE(cursor.ok()) << cursor.status();
    return cursor.ok() ? *std::move(cursor) : nullptr;
  }
  void Out(const std::string& s) {
    ASSERT_TRUE(host_.AppendOutput("job-1", OutputStream::kStdout, s));
  }
  void Err(const std::string& s) {
    ASSERT_TRUE(host_.AppendOutput("job-1", OutputStream::kStderr, s));
  }
  void End(int code = 0) { host_.Exit("job-1", ExitInfo::Exited(code)); }

  FakeProcessHost host_;
  std::shared_ptr<Job> job_;
};

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

TEST_F(OutputCursorTest, NoReaderWaitingArmsNothingAndCostsNoNotification) {
  auto cursor = Open();
  ASSERT_FALSE(DrainNow(*cursor).at_end);  // caught up, but not waiting
  Out("unwatched");
  Err("unwatched");
  EXPECT_EQ(host_.job("job-1").watch_calls, 0);
  EXPECT_EQ(host_.job("job-1").notifications, 0);
  EXPECT_EQ(DrainNow(*cursor).out, "unwatched");
}

TEST_F(OutputCursorTest, WaitArmsTheHostsNotificationBeforeRegistering) {
  auto cursor = Open();
  ASSERT_FALSE(DrainNow(*cursor).at_end);
  int wakes = 0;
  ASSERT_TRUE(cursor->WaitForMore([&] { ++wakes; }));
  EXPECT_EQ(host_.job("job-1").watch_calls, 1);
  EXPECT_TRUE(host_.job("job-1").armed);
  Err("woken");
  EXPECT_EQ(wakes, 1);
  EXPECT_FALSE(host_.job("job-1").armed);  // one-shot
  EXPECT_EQ(DrainNow(*cursor).err, "woken");
}

TEST_F(OutputCursorTest, FollowerNeverMissesAWriteBetweenItsReadAndItsWait) {
  // The write lands after Next caught up and before WaitForMore, while no
  // notification is armed, so no OnOutput ever reports it: only the size
  // check after arming can see it.
  for (OutputStream stream : {OutputStream::kStdout, OutputStream::kStderr}) {
    SCOPED_TRACE(stream == OutputStream::kStdout ? "stdout" : "stderr");
    FakeProcessHost host;
    ProcessSpec spec;
    spec.job_id = "job-3";
    spec.program = "prog";
    auto job = std::make_shared<Job>("job-3", "alice", spec, host.Now());
    ASSERT_TRUE(host.Start(spec, job).ok());
    auto cursor = OpenCursor(job, &host, /*follow=*/true, kBig).value();
    Received r = DrainNow(*cursor);
    ASSERT_FALSE(r.at_end);
    ASSERT_TRUE(host.AppendOutput("job-3", stream, "unannounced"));
    ASSERT_EQ(host.job("job-3").notifications, 0);
    int wakes = 0;
    EXPECT_FALSE(cursor->WaitForMore([&] { ++wakes; }));
    EXPECT_EQ(job->PendingWaits(), 0u);
    r = DrainNow(*cursor, std::move(r));
    EXPECT_EQ(stream == OutputStream::kStdout ? r.out : r.err, "unannounced");
  }
}

TEST_F(OutputCursorTest,
       WriteAfterTheSizeCheckIsNotifiedBecauseArmingCameFirst) {
  // The write lands after both sizes were checked and before the wait is
  // registered: only a notification armed before the checks reports it.
  auto cursor = Open();
  ASSERT_FALSE(DrainNow(*cursor).at_end);
  int checks = 0;
  auto after_size = [this, &checks] {
    if (++checks == 2) Out("between");
  };
  host_.RunOnceAfterWindow(OutputStream::kStdout, after_size);
  host_.RunOnceAfterWindow(OutputStream::kStderr, after_size);
  int wakes = 0;
  EXPECT_FALSE(cursor->WaitForMore([&] { ++wakes; }));
  EXPECT_EQ(checks, 2);
  EXPECT_EQ(host_.job("job-1").notifications, 1);
  EXPECT_EQ(job_->PendingWaits(), 0u);
  EXPECT_EQ(wakes, 0);
  EXPECT_EQ(DrainNow(*cursor).out, "between");
}

TEST_F(OutputCursorTest, EveryWaitArmsAgainAfterASpuriousWake) {
  auto cursor = Open();
  ASSERT_FALSE(DrainNow(*cursor).at_end);
  int wakes = 0;
  ASSERT_TRUE(cursor->WaitForMore([&] { ++wakes; }));
  ASSERT_TRUE(host_.NotifyOutputSpuriously("job-1"));
  EXPECT_EQ(wakes, 1);
  Received r = DrainNow(*cursor);
  EXPECT_TRUE(r.chunks.empty());
  ASSERT_TRUE(cursor->WaitForMore([&] { ++wakes; }));
  EXPECT_EQ(host_.job("job-1").watch_calls, 2);
  Out("real");
  EXPECT_EQ(wakes, 2);
  EXPECT_EQ(DrainNow(*cursor).out, "real");
}

TEST_F(OutputCursorTest, WaitOnAnEndedJobNeedsNoNotification) {
  auto cursor = Open();
  ASSERT_FALSE(DrainNow(*cursor).at_end);
  End();
  EXPECT_FALSE(cursor->WaitForMore([] {}));
  EXPECT_FALSE(host_.job("job-1").armed);
  EXPECT_TRUE(DrainNow(*cursor).at_end);
}

TEST_F(OutputCursorTest, WatchErrorEndsTheStreamWithItInsteadOfHanging) {
  auto cursor = Open();
  ASSERT_FALSE(DrainNow(*cursor).at_end);
  host_.set_watch_error(absl::ResourceExhaustedError("inotify watches"));
  int wakes = 0;
  EXPECT_FALSE(cursor->WaitForMore([&] { ++wakes; }));
  EXPECT_EQ(job_->PendingWaits(), 0u);
  auto next = cursor->Next();
  EXPECT_EQ(next.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_FALSE(cursor->AtEnd());
  EXPECT_EQ(wakes, 0);
}

TEST_F(OutputCursorTest, SizeErrorWhileWaitingEndsTheStreamWithIt) {
  auto cursor = Open();
  ASSERT_FALSE(DrainNow(*cursor).at_end);
  host_.set_window_error(absl::InternalError("fstat: EIO"));
  EXPECT_FALSE(cursor->WaitForMore([] {}));
  EXPECT_EQ(job_->PendingWaits(), 0u);
  auto next = cursor->Next();
  EXPECT_EQ(next.status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(next.status().message(), "fstat: EIO");
  EXPECT_FALSE(cursor->AtEnd());
}

TEST_F(OutputCursorTest, ReaderOfAnEndedJobGetsAllThenTheEnd) {
  Out("1");
  Err("2");
  End(3);
  auto cursor = Open();
  Received r = DrainNow(*cursor);
  EXPECT_TRUE(r.at_end);
  EXPECT_EQ(r.out, "1");
  EXPECT_EQ(r.err, "2");
}

TEST_F(OutputCursorTest, SnapshotEndsAtTheSizesTakenAtOpen) {
  Out("before-out");
  Err("before-err");
  auto cursor = Open(/*follow=*/false, 4);
  Out("-after");
  Err("-after");
  Received r = DrainNow(*cursor);
  EXPECT_TRUE(r.at_end);  // no waiting on a running job
  EXPECT_EQ(r.out, "before-out");
  EXPECT_EQ(r.err, "before-err");
}

TEST_F(OutputCursorTest, SnapshotOfARunningJobWithoutOutputEndsAtOnce) {
  auto cursor = Open(/*follow=*/false);
  Received r = DrainNow(*cursor);
  EXPECT_TRUE(r.at_end);
  EXPECT_TRUE(r.chunks.empty());
}

TEST_F(OutputCursorTest, SnapshotSizeErrorFailsOpen) {
  host_.set_window_error(absl::InternalError("fstat failed"));
  auto cursor = OpenCursor(job_, &host_, /*follow=*/false, kBig);
  EXPECT_EQ(cursor.status().code(), absl::StatusCode::kInternal);
}

TEST_F(OutputCursorTest, ReadErrorIsReturnedAsIs) {
  Out("data");
  auto cursor = Open();
  host_.set_read_error(absl::InternalError("pread: EIO"));
  auto next = cursor->Next();
  EXPECT_EQ(next.status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(next.status().message(), "pread: EIO");
}

TEST_F(OutputCursorTest, ReadErrorDoesNotCountAsEnd) {
  Out("data");
  End();
  auto cursor = Open();
  host_.set_read_error(absl::InternalError("pread: EIO"));
  EXPECT_FALSE(cursor->Next().ok());
  EXPECT_FALSE(cursor->AtEnd());  // an error is not a complete stream
}

TEST_F(OutputCursorTest, CancelledWaitIsNeverCalled) {
  auto cursor = Open();
  ASSERT_FALSE(DrainNow(*cursor).at_end);
  int wakes = 0;
  ASSERT_TRUE(cursor->WaitForMore([&] { ++wakes; }));
  EXPECT_TRUE(cursor->CancelWait());
  EXPECT_EQ(job_->PendingWaits(), 0u);
  Out("x");
  End();
  EXPECT_EQ(wakes, 0);
}

TEST_F(OutputCursorTest, CancelAfterTheWakeRanReportsFalse) {
  auto cursor = Open();
  ASSERT_FALSE(DrainNow(*cursor).at_end);
  int wakes = 0;
  ASSERT_TRUE(cursor->WaitForMore([&] { ++wakes; }));
  Out("x");
  ASSERT_EQ(wakes, 1);
  EXPECT_FALSE(cursor->CancelWait());
}

TEST_F(OutputCursorTest, CancelWithNothingRegisteredIsSafe) {
  auto cursor = Open();
  cursor->CancelWait();
  ASSERT_FALSE(DrainNow(*cursor).at_end);
  cursor->CancelWait();
  EXPECT_EQ(job_->PendingWaits(), 0u);
}

TEST_F(OutputCursorTest, CancelAfterAnInterveningNextStillPreventsTheWake) {
  // A reader that polls Next once more before cancelling (e.g. a reactor
  // handling a cancel) must not be left with a wake that fires later.
  auto cursor = Open();
  ASSERT_FALSE(DrainNow(*cursor).at_end);
  int wakes = 0;
  ASSERT_TRUE(cursor->WaitForMore([&] { ++wakes; }));
  ASSERT_FALSE(DrainNow(*cursor).at_end);
  const bool never = cursor->CancelWait();
  Out("x");
  if (never) {
    EXPECT_EQ(wakes, 0) << "CancelWait said the wake would not run";
  }
  EXPECT_EQ(job_->PendingWaits(), 0u);
}

TEST_F(OutputCursorTest, ReadersAreIndependent) {
  Out("shared");
  auto a = Open(true, 3);
  auto b = Open(true, 3);
  Received ra = DrainNow(*a);
  EXPECT_EQ(ra.out, "shared");
  Out("+more");
  End();
  ra = DrainNow(*a, std::move(ra));
  Received rb = DrainNow(*b);
  EXPECT_EQ(ra.out, "shared+more");
  EXPECT_EQ(rb.out, "shared+more");
  EXPECT_TRUE(ra.at_end);
  EXPECT_TRUE(rb.at_end);
}

}  // namespace
}  // namespace cmdctl::test

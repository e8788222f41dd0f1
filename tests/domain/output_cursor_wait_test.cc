// OutputCursor: waits (arming the host's notification), errors, snapshots,
// cancellation and independent readers. (Reads and order:
// output_cursor_test.cc.)
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/domain/output_cursor_fixture.h"

namespace cmdctl::test {
namespace {

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

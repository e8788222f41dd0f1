// The fake itself: its clock, timers, jobs and fault switches behave as its
// header documents, so that tests built on it tell the truth.
#include "tests/fakes/fake_process_host.h"

#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cmdctl::test {
namespace {

using ::testing::ElementsAre;

class RecordingObserver : public ProcessObserver {
 public:
  void OnOutput() override { ++outputs; }
  void OnEnd(const JobEnd& end) override {
    ++exits;
    last_exit = end.exit;
    exit_at = end.at;
  }
  int outputs = 0;
  int exits = 0;
  ExitInfo last_exit;
  absl::Time exit_at;
};

// The seam's reader calls, one reader per call (a fresh OpenOutput each time,
// so an unknown job shows as OpenOutput's NOT_FOUND).
absl::StatusOr<std::string> ReadText(FakeProcessHost& host,
                                     const std::string& id, OutputStream s,
                                     int64_t offset, size_t max) {
  absl::StatusOr<std::unique_ptr<OutputReader>> reader =
      host.OpenOutput(OutputSource{id, "", std::nullopt});
  if (!reader.ok()) return reader.status();
  std::string data(max, '\0');
  absl::StatusOr<ReadResult> read =
      (*reader)->Read(s, offset, absl::MakeSpan(data));
  if (!read.ok()) return read.status();
  data.resize(read->size);
  return data;
}

absl::StatusOr<int64_t> WindowEnd(FakeProcessHost& host, const std::string& id,
                                  OutputStream s) {
  absl::StatusOr<std::unique_ptr<OutputReader>> reader =
      host.OpenOutput(OutputSource{id, "", std::nullopt});
  if (!reader.ok()) return reader.status();
  absl::StatusOr<StreamWindow> window = (*reader)->Window(s);
  if (!window.ok()) return window.status();
  return window->end;
}

absl::Status Watch(FakeProcessHost& host, const std::string& id) {
  absl::StatusOr<std::unique_ptr<OutputReader>> reader =
      host.OpenOutput(OutputSource{id, "", std::nullopt});
  if (!reader.ok()) return reader.status();
  return (*reader)->Watch();
}

ProcessSpec SpecFor(const std::string& id, const std::string& program = "ls") {
  ProcessSpec spec;
  spec.job_id = id;
  spec.program = program;
  spec.run_as = "alice";
  return spec;
}

TEST(FakeProcessHostTest, TimersFireInDueOrderOnlyWhenTheClockReachesThem) {
  FakeProcessHost host;
  const absl::Time t0 = host.Now();
  std::vector<int> fired;
  host.RunAfter(absl::Seconds(2), [&] { fired.push_back(2); });
  host.RunAfter(absl::Seconds(1), [&] { fired.push_back(1); });
  host.RunAfter(absl::Seconds(3), [&] { fired.push_back(3); });
  EXPECT_TRUE(fired.empty());
  EXPECT_EQ(host.clock().AdvanceTime(absl::Milliseconds(2500)), 2);
  EXPECT_THAT(fired, ElementsAre(1, 2));
  EXPECT_EQ(host.Now(), t0 + absl::Milliseconds(2500));
  host.clock().AdvanceTime(absl::Seconds(1));
  EXPECT_THAT(fired, ElementsAre(1, 2, 3));
}

TEST(FakeProcessHostTest, ZeroDelayTimerNeverRunsOnTheRegisteringThread) {
  FakeProcessHost host;
  bool ran = false;
  host.RunAfter(absl::ZeroDuration(), [&] { ran = true; });
  EXPECT_FALSE(ran);
  EXPECT_EQ(host.clock().RunReady(), 1);
  EXPECT_TRUE(ran);
}

TEST(FakeProcessHostTest, CancelledTimerNeverRuns) {
  FakeProcessHost host;
  bool ran = false;
  TimerId id = host.RunAfter(absl::Seconds(1), [&] { ran = true; });
  host.CancelTimer(id);
  host.clock().AdvanceTime(absl::Seconds(5));
  EXPECT_FALSE(ran);
  EXPECT_EQ(host.clock().snapshot().pending_timers, 0u);
}

TEST(FakeProcessHostTest, TimerSeesTheClockAtItsDueTimeAndMayAddTimers) {
  FakeProcessHost host;
  const absl::Time t0 = host.Now();
  absl::Time seen;
  bool second = false;
  host.RunAfter(absl::Seconds(1), [&] {
    seen = host.Now();
    host.RunAfter(absl::Seconds(1), [&] { second = true; });
  });
  host.clock().AdvanceTime(absl::Seconds(10));
  EXPECT_EQ(seen, t0 + absl::Seconds(1));
  EXPECT_TRUE(second);
}

TEST(FakeProcessHostTest, OutputIsReadableAndNotifiesTheObserverWhenArmed) {
  FakeProcessHost host;
  auto obs = std::make_shared<RecordingObserver>();
  ASSERT_TRUE(host.Start(SpecFor("j1"), obs).ok());
  ASSERT_TRUE(Watch(host, "j1").ok());
  const std::string bytes("a\0b", 3);
  EXPECT_TRUE(host.AppendOutput("j1", OutputStream::kStdout, bytes));
  EXPECT_EQ(obs->outputs, 1);
  EXPECT_EQ(*WindowEnd(host, "j1", OutputStream::kStdout), 3);
  EXPECT_EQ(*WindowEnd(host, "j1", OutputStream::kStderr), 0);
  EXPECT_EQ(*ReadText(host, "j1", OutputStream::kStdout, 0, 100), bytes);
  EXPECT_EQ(*ReadText(host, "j1", OutputStream::kStdout, 1, 1),
            std::string(1, '\0'));
  EXPECT_EQ(*ReadText(host, "j1", OutputStream::kStdout, 3, 100), "");
}

TEST(FakeProcessHostTest, OutputNotificationIsOneShotAndOnlyWhenArmed) {
  FakeProcessHost host;
  auto obs = std::make_shared<RecordingObserver>();
  ASSERT_TRUE(host.Start(SpecFor("j1"), obs).ok());
  EXPECT_TRUE(host.AppendOutput("j1", OutputStream::kStdout, "unwatched"));
  EXPECT_EQ(obs->outputs, 0);
  EXPECT_FALSE(host.job("j1").armed);
  ASSERT_TRUE(Watch(host, "j1").ok());
  ASSERT_TRUE(Watch(host, "j1").ok());  // idempotent
  EXPECT_TRUE(host.job("j1").armed);
  EXPECT_TRUE(host.AppendOutput("j1", OutputStream::kStderr, "1"));
  EXPECT_TRUE(host.AppendOutput("j1", OutputStream::kStdout, "2"));
  EXPECT_EQ(obs->outputs, 1);
  EXPECT_EQ(host.job("j1").notifications, 1);
  EXPECT_EQ(host.job("j1").watch_calls, 2);
  EXPECT_FALSE(host.job("j1").armed);
  EXPECT_TRUE(host.NotifyOutputSpuriously("j1"));
  EXPECT_EQ(obs->outputs, 2);
}

TEST(FakeProcessHostTest, WatchOutputOfAnEndedJobIsANoOpAndUnknownIsNotFound) {
  FakeProcessHost host;
  auto obs = std::make_shared<RecordingObserver>();
  ASSERT_TRUE(host.Start(SpecFor("j1"), obs).ok());
  ASSERT_TRUE(host.Exit("j1", ExitInfo::Exited(0)));
  EXPECT_TRUE(Watch(host, "j1").ok());
  EXPECT_FALSE(host.job("j1").armed);
  EXPECT_EQ(Watch(host, "nope").code(), absl::StatusCode::kNotFound);
  host.set_watch_error(absl::ResourceExhaustedError("no watches"));
  ASSERT_TRUE(host.Start(SpecFor("j2"), obs).ok());
  EXPECT_EQ(Watch(host, "j2").code(), absl::StatusCode::kResourceExhausted);
  EXPECT_FALSE(host.job("j2").armed);
  EXPECT_EQ(host.job("j2").watch_calls, 1);
}

TEST(FakeProcessHostTest, ExitIsDeliveredOnceAndReleasesTheObserver) {
  FakeProcessHost host;
  auto obs = std::make_shared<RecordingObserver>();
  ASSERT_TRUE(host.Start(SpecFor("j1"), obs).ok());
  EXPECT_TRUE(host.job("j1").holds_observer);
  EXPECT_TRUE(host.Exit("j1", ExitInfo::Exited(3)));
  EXPECT_FALSE(host.Exit("j1", ExitInfo::Exited(4)));
  EXPECT_EQ(obs->exits, 1);
  EXPECT_EQ(obs->last_exit.exit_code, 3);
  EXPECT_EQ(obs->exit_at, host.Now());
  EXPECT_FALSE(host.job("j1").holds_observer);
  EXPECT_FALSE(host.AppendOutput("j1", OutputStream::kStdout, "late"));
}

TEST(FakeProcessHostTest, UnknownJobIsNotFoundEverywhere) {
  FakeProcessHost host;
  EXPECT_EQ(host.Terminate("nope").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(host.Kill("nope").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(ReadText(host, "nope", OutputStream::kStdout, 0, 1).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(WindowEnd(host, "nope", OutputStream::kStderr).status().code(),
            absl::StatusCode::kNotFound);
}

TEST(FakeProcessHostTest, ProgramErrorFailsStartAndLeavesNoJob) {
  FakeProcessHost host;
  host.SetProgramError("missing", absl::NotFoundError("no such program"));
  auto obs = std::make_shared<RecordingObserver>();
  EXPECT_EQ(host.Start(SpecFor("j1", "missing"), obs).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_TRUE(host.snapshot().started_job_ids.empty());
  EXPECT_EQ(host.snapshot().start_attempts.size(), 1u);
  EXPECT_TRUE(host.Start(SpecFor("j2", "ls"), obs).ok());
}

TEST(FakeProcessHostTest, TermIsIgnoredByDefaultAndKillEndsTheJobLater) {
  FakeProcessHost host;
  auto obs = std::make_shared<RecordingObserver>();
  ASSERT_TRUE(host.Start(SpecFor("j1"), obs).ok());
  EXPECT_TRUE(host.Terminate("j1").ok());
  host.clock().RunReady();
  EXPECT_EQ(obs->exits, 0);
  EXPECT_TRUE(host.Kill("j1").ok());
  EXPECT_EQ(obs->exits, 0);
  host.clock().RunReady();
  EXPECT_EQ(obs->exits, 1);
  EXPECT_TRUE(obs->last_exit.signaled);
  EXPECT_EQ(obs->last_exit.signal, FakeProcessHost::kSigKill);
  EXPECT_EQ(host.job("j1").terminate_count, 1);
  EXPECT_EQ(host.job("j1").kill_count, 1);
  // Signalling an ended job is an OK no-op, still counted.
  EXPECT_TRUE(host.Kill("j1").ok());
  host.clock().RunReady();
  EXPECT_EQ(obs->exits, 1);
  EXPECT_EQ(host.job("j1").kill_count, 2);
}

TEST(FakeProcessHostTest, InlineTermEndsTheJobBeforeTerminateReturns) {
  FakeProcessHost host;
  host.set_on_terminate(FakeProcessHost::SignalResponse::kExitInline);
  auto obs = std::make_shared<RecordingObserver>();
  ASSERT_TRUE(host.Start(SpecFor("j1"), obs).ok());
  EXPECT_TRUE(host.Terminate("j1").ok());
  EXPECT_EQ(obs->exits, 1);
  EXPECT_EQ(obs->last_exit.signal, FakeProcessHost::kSigTerm);
}

TEST(FakeProcessHostTest, ExitDuringStartReachesObserverBeforeStartReturns) {
  FakeProcessHost host;
  host.set_exit_during_start(ExitInfo::Exited(0));
  auto obs = std::make_shared<RecordingObserver>();
  ASSERT_TRUE(host.Start(SpecFor("j1"), obs).ok());
  EXPECT_EQ(obs->exits, 1);
  EXPECT_TRUE(host.job("j1").ended);
}

TEST(FakeProcessHostTest, ReadFaultsAndShortReads) {
  FakeProcessHost host;
  auto obs = std::make_shared<RecordingObserver>();
  ASSERT_TRUE(host.Start(SpecFor("j1"), obs).ok());
  host.AppendOutput("j1", OutputStream::kStderr, "hello");
  host.set_max_read_bytes(2);
  EXPECT_EQ(*ReadText(host, "j1", OutputStream::kStderr, 0, 100), "he");
  host.set_read_error(absl::InternalError("disk on fire"));
  EXPECT_EQ(ReadText(host, "j1", OutputStream::kStderr, 0, 100).status().code(),
            absl::StatusCode::kInternal);
  host.set_read_error(absl::OkStatus());
  EXPECT_EQ(*ReadText(host, "j1", OutputStream::kStderr, 2, 100), "ll");
}

}  // namespace
}  // namespace cmdctl::test

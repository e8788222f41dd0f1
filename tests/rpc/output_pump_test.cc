// OutputPump, the GetProcessOutput stream's logic without gRPC, driven by a
// fake sink: one write in flight, waits that cost nothing, the read after a
// wake on the runner (never on the host's thread), cancel and shutdown
// racing writes, EndStream exactly once, nothing after Detach. These tests
// link no gRPC and run under ThreadSanitizer too (ci/sanitizers.sh thread);
// the Concurrent* ones are there for it.
#include "rpc/output_pump.h"

#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "domain/job.h"
#include "domain/output_cursor.h"
#include "gtest/gtest.h"
#include "rpc/worker_pool.h"
#include "tests/domain/domain_test_support.h"
#include "tests/fakes/fake_process_host.h"

namespace cmdctl::test {
namespace {

constexpr absl::Duration kBound = absl::Seconds(30);  // a hang guard only

// A runner whose tasks run when the test says so, on the test's thread.
class ManualRunner final : public TaskRunner {
 public:
  void Post(std::function<void()> task) override {
    absl::MutexLock lock(&mu_);
    tasks_.push_back(std::move(task));
  }
  size_t Pending() {
    absl::MutexLock lock(&mu_);
    return tasks_.size();
  }
  void RunAll() {
    std::deque<std::function<void()>> tasks;
    {
      absl::MutexLock lock(&mu_);
      tasks.swap(tasks_);
    }
    for (auto& task : tasks) task();
  }

 private:
  absl::Mutex mu_;
  std::deque<std::function<void()>> tasks_ ABSL_GUARDED_BY(mu_);
};

// Records what the pump asks for and checks the sink's side of the
// contract: one write in flight, one end, nothing after the end. With a
// `transport`, each write completes (WriteDone(true)) on the transport's
// thread, as gRPC completes writes on its own threads.
class FakeSink final : public OutputSink {
 public:
  explicit FakeSink(TaskRunner* transport = nullptr) : transport_(transport) {}

  void set_pump(std::shared_ptr<OutputPump> pump) { pump_ = std::move(pump); }

  void SendChunk(OutputChunk chunk) override {
    {
      absl::MutexLock lock(&mu_);
      if (in_flight_) violations_.push_back("a second write in flight");
      if (ended_) violations_.push_back("a write after the end");
      in_flight_ = true;
      ++sends_;
      (chunk.stream == OutputStream::kStdout ? out_ : err_) += chunk.data;
      buffers_.push_back(chunk.data.data());
      last_data_ = std::move(chunk.data);
    }
    if (transport_ != nullptr) {
      transport_->Post([this] { CompleteWrite(true); });
    }
  }

  void EndStream(const absl::Status& status, uint64_t bytes_sent) override {
    absl::MutexLock lock(&mu_);
    if (in_flight_) violations_.push_back("the end while a write is in flight");
    if (ended_) violations_.push_back("a second end");
    ended_ = true;
    status_ = status;
    bytes_sent_ = bytes_sent;
    ended_cv_.SignalAll();
  }

  // The write in flight completes (as gRPC's OnWriteDone).
  // With `recycle`, the sent chunk's buffer goes back, as the reactor does.
  void CompleteWrite(bool ok, bool recycle = false) {
    std::string data;
    {
      absl::MutexLock lock(&mu_);
      ASSERT_TRUE(in_flight_);
      in_flight_ = false;
      if (recycle) data = std::move(last_data_);
    }
    pump_->WriteDone(ok, std::move(data));
  }

  // (A CondVar, not an absl::Condition: see worker_pool.cc.)
  bool AwaitEnd() {
    absl::MutexLock lock(&mu_);
    const absl::Time deadline = absl::Now() + kBound;
    while (!ended_) {
      if (ended_cv_.WaitWithDeadline(&mu_, deadline)) return ended_;
    }
    return true;
  }
  bool ended() {
    absl::MutexLock lock(&mu_);
    return ended_;
  }
  absl::Status status() {
    absl::MutexLock lock(&mu_);
    return status_;
  }
  uint64_t bytes_sent() {
    absl::MutexLock lock(&mu_);
    return bytes_sent_;
  }
  bool in_flight() {
    absl::MutexLock lock(&mu_);
    return in_flight_;
  }
  int sends() {
    absl::MutexLock lock(&mu_);
    return sends_;
  }
  std::string out() {
    absl::MutexLock lock(&mu_);
    return out_;
  }
  std::string err() {
    absl::MutexLock lock(&mu_);
    return err_;
  }
  // Where each sent chunk's data was.
  std::vector<const char*> buffers() {
    absl::MutexLock lock(&mu_);
    return buffers_;
  }
  std::vector<std::string> violations() {
    absl::MutexLock lock(&mu_);
    return violations_;
  }

 private:
  TaskRunner* const transport_;
  std::shared_ptr<OutputPump> pump_;
  absl::Mutex mu_;
  absl::CondVar ended_cv_;
  bool in_flight_ ABSL_GUARDED_BY(mu_) = false;
  bool ended_ ABSL_GUARDED_BY(mu_) = false;
  int sends_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status status_ ABSL_GUARDED_BY(mu_);
  uint64_t bytes_sent_ ABSL_GUARDED_BY(mu_) = 0;
  std::string out_ ABSL_GUARDED_BY(mu_);
  std::string err_ ABSL_GUARDED_BY(mu_);
  std::vector<const char*> buffers_ ABSL_GUARDED_BY(mu_);
  std::string last_data_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> violations_ ABSL_GUARDED_BY(mu_);
};

class OutputPumpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ProcessSpec spec;
    spec.job_id = "job-1";
    spec.program = "prog";
    spec.run_as = "alice";
    job_ = std::make_shared<Job>("job-1", "alice", spec, host_.Now());
    ASSERT_TRUE(host_.Start(spec, job_).ok());
  }

  std::unique_ptr<OutputCursor> Cursor(bool follow, size_t chunk_bytes = 4) {
    auto cursor = test::OpenCursor(job_, &host_, follow, chunk_bytes);
    EXPECT_TRUE(cursor.ok()) << cursor.status();
    return cursor.ok() ? *std::move(cursor) : nullptr;
  }
  // A pump over a fresh cursor into `sink`, wired both ways.
  std::shared_ptr<OutputPump> Pump(FakeSink* sink, TaskRunner* runner,
                                   bool follow = true, size_t chunk_bytes = 4) {
    auto pump = OutputPump::Create(Cursor(follow, chunk_bytes), sink, runner);
    sink->set_pump(pump);
    return pump;
  }
  void Out(const std::string& s) {
    ASSERT_TRUE(host_.AppendOutput("job-1", OutputStream::kStdout, s));
  }
  void Err(const std::string& s) {
    ASSERT_TRUE(host_.AppendOutput("job-1", OutputStream::kStderr, s));
  }
  void End() { ASSERT_TRUE(host_.Exit("job-1", ExitInfo::Exited(0))); }

  FakeProcessHost host_;
  std::shared_ptr<Job> job_;
  ManualRunner runner_;
};

TEST_F(OutputPumpTest, SnapshotSendsOneChunkPerWriteThenEndsOk) {
  Out("0123456789");
  Err("ab");
  FakeSink sink;
  auto pump = Pump(&sink, &runner_, /*follow=*/false);
  pump->Start();
  EXPECT_EQ(sink.sends(), 1);
  EXPECT_TRUE(sink.in_flight());
  int writes = 1;
  while (!sink.ended()) {
    ASSERT_LT(writes, 100);
    sink.CompleteWrite(true);
    if (!sink.ended()) {
      ++writes;
      EXPECT_EQ(sink.sends(), writes);  // one new write per completion
    }
  }
  EXPECT_TRUE(sink.status().ok()) << sink.status();
  EXPECT_EQ(sink.out(), "0123456789");
  EXPECT_EQ(sink.err(), "ab");
  EXPECT_EQ(sink.bytes_sent(), 12u);
  EXPECT_EQ(writes, 4);  // 4 + 4 + 2 of stdout, 2 of stderr
  EXPECT_TRUE(sink.violations().empty());
  pump->Detach();
}

TEST_F(OutputPumpTest, ASentBufferGivenBackIsReadIntoAgain) {
  const std::string data(300, 'x');
  Out(data);
  FakeSink sink;
  auto pump = Pump(&sink, &runner_, /*follow=*/false, /*chunk_bytes=*/100);
  pump->Start();
  sink.CompleteWrite(true, /*recycle=*/true);
  sink.CompleteWrite(true);  // this one is not given back
  sink.CompleteWrite(true, /*recycle=*/true);
  ASSERT_TRUE(sink.AwaitEnd());
  EXPECT_EQ(sink.out(), data);
  const std::vector<const char*> buffers = sink.buffers();
  ASSERT_EQ(buffers.size(), 3u);
  EXPECT_EQ(buffers[1], buffers[0]);
  EXPECT_NE(buffers[2], buffers[1]);
  EXPECT_TRUE(sink.violations().empty());
  pump->Detach();
}

TEST_F(OutputPumpTest, CaughtUpFollowerWaitsAndTheHostThreadOnlyPosts) {
  FakeSink sink;
  auto pump = Pump(&sink, &runner_);
  pump->Start();
  EXPECT_EQ(sink.sends(), 0);
  EXPECT_FALSE(sink.ended());
  EXPECT_EQ(job_->PendingWaits(), 1u);
  EXPECT_EQ(runner_.Pending(), 0u);

  // This thread plays the host's loop: the wake posts and returns, and
  // nothing is read or sent here.
  Out("abc");
  EXPECT_EQ(runner_.Pending(), 1u);
  EXPECT_EQ(sink.sends(), 0);
  runner_.RunAll();  // the runner's thread reads and sends
  EXPECT_EQ(sink.sends(), 1);
  EXPECT_EQ(sink.out(), "abc");

  sink.CompleteWrite(true);  // caught up again: waits
  EXPECT_EQ(job_->PendingWaits(), 1u);
  End();
  EXPECT_FALSE(sink.ended());  // not on the host's thread either
  runner_.RunAll();
  ASSERT_TRUE(sink.ended());
  EXPECT_TRUE(sink.status().ok());
  EXPECT_TRUE(sink.violations().empty());
  pump->Detach();
}

TEST_F(OutputPumpTest, CancelDuringAWriteEndsCancelledAtItsCompletion) {
  Out("abcdefgh");
  FakeSink sink;
  auto pump = Pump(&sink, &runner_);
  pump->Start();
  ASSERT_TRUE(sink.in_flight());
  pump->Cancel();
  EXPECT_FALSE(sink.ended());  // the write is still gRPC's
  sink.CompleteWrite(true);
  ASSERT_TRUE(sink.ended());
  EXPECT_EQ(sink.status(), absl::CancelledError("output stream cancelled"));
  EXPECT_EQ(sink.sends(), 1);
  EXPECT_EQ(sink.bytes_sent(), 4u);
  EXPECT_TRUE(sink.violations().empty());
  pump->Detach();
}

TEST_F(OutputPumpTest, CancelWhileWaitingEndsAtOnce) {
  FakeSink sink;
  auto pump = Pump(&sink, &runner_);
  pump->Start();
  pump->Cancel();
  ASSERT_TRUE(sink.ended());
  EXPECT_EQ(sink.status().code(), absl::StatusCode::kCancelled);
  pump->Detach();
  EXPECT_EQ(job_->PendingWaits(), 0u);  // Detach cancelled the wake
}

TEST_F(OutputPumpTest, BrokenWriteEndsCancelled) {
  Out("abcdefgh");
  FakeSink sink;
  auto pump = Pump(&sink, &runner_);
  pump->Start();
  sink.CompleteWrite(false);
  ASSERT_TRUE(sink.ended());
  EXPECT_EQ(sink.status().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(sink.sends(), 1);
  pump->Detach();
}

TEST_F(OutputPumpTest, ShutdownWinsOverAPendingCancel) {
  Out("abcdefgh");
  FakeSink sink;
  auto pump = Pump(&sink, &runner_);
  pump->Start();
  pump->Cancel();
  pump->Shutdown();
  EXPECT_FALSE(sink.ended());
  sink.CompleteWrite(true);
  ASSERT_TRUE(sink.ended());
  EXPECT_EQ(sink.status(), absl::UnavailableError("server shutting down"));
  pump->Detach();
}

TEST_F(OutputPumpTest, ShutdownBeforeStartEndsWithoutReading) {
  Out("abcdefgh");
  FakeSink sink;
  auto pump = Pump(&sink, &runner_);
  pump->Shutdown();
  ASSERT_TRUE(sink.ended());
  EXPECT_EQ(sink.status().code(), absl::StatusCode::kUnavailable);
  pump->Start();  // what the service does when BeginShutdown came between
  EXPECT_EQ(sink.sends(), 0);
  EXPECT_TRUE(sink.violations().empty());
  pump->Detach();
}

TEST_F(OutputPumpTest, ReadErrorEndsWithTheHostsStatus) {
  Out("x");
  host_.set_read_error(absl::InternalError("pread: I/O error"));
  FakeSink sink;
  auto pump = Pump(&sink, &runner_);
  pump->Start();
  ASSERT_TRUE(sink.ended());
  EXPECT_EQ(sink.status(), absl::InternalError("pread: I/O error"));
  EXPECT_EQ(sink.sends(), 0);
  pump->Detach();
}

TEST_F(OutputPumpTest, AfterDetachAQueuedResumeAndLateOutputDoNothing) {
  FakeSink sink;
  auto pump = Pump(&sink, &runner_);
  pump->Start();
  Out("abc");  // the wake posts a resume...
  ASSERT_EQ(runner_.Pending(), 1u);
  pump->Cancel();  // ...but the client cancels first
  ASSERT_TRUE(sink.ended());
  pump->Detach();
  runner_.RunAll();
  Out("more");
  EXPECT_EQ(runner_.Pending(), 0u);
  EXPECT_EQ(sink.sends(), 0);
  EXPECT_TRUE(sink.violations().empty());
}

TEST_F(OutputPumpTest, AWaitingPumpIsFreedWithItsOwnerAndItsWakeIsHarmless) {
  FakeSink sink;
  auto pump = Pump(&sink, &runner_);
  pump->Start();
  ASSERT_EQ(job_->PendingWaits(), 1u);
  std::weak_ptr<OutputPump> weak = pump;
  sink.set_pump(nullptr);
  pump.reset();  // no Detach: the job's wake must not keep it alive
  EXPECT_TRUE(weak.expired());
  Out("abc");
  EXPECT_EQ(runner_.Pending(), 0u);
  EXPECT_EQ(sink.sends(), 0);
}

// ---------------------------------------------------------------------------
// Real threads (for TSan): the host's thread appends and ends, the pool
// reads after wakes, a transport thread completes writes, other threads
// cancel and shut down.

TEST_F(OutputPumpTest, ConcurrentFollowersGetEveryByteInOrder) {
  constexpr int kFollowers = 6;
  std::vector<std::unique_ptr<FakeSink>> sinks;
  std::vector<std::shared_ptr<OutputPump>> pumps;
  // Declared after the sinks and pumps, so they are joined first.
  WorkerPool readers(2);
  WorkerPool transport(2);
  for (int i = 0; i < kFollowers; ++i) {
    sinks.push_back(std::make_unique<FakeSink>(&transport));
    pumps.push_back(Pump(sinks.back().get(), &readers, true, 16));
  }
  std::string want_out, want_err;
  for (int i = 0; i < 200; ++i) {
    want_out += absl::StrCat("out ", i, "\n");
    if (i % 7 == 0) want_err += absl::StrCat("err ", i, "\n");
  }
  std::thread host([&] {
    for (int i = 0; i < 200; ++i) {
      Out(absl::StrCat("out ", i, "\n"));
      if (i % 7 == 0) Err(absl::StrCat("err ", i, "\n"));
    }
    End();
  });
  std::vector<std::thread> starters;
  for (int i = 0; i < kFollowers; ++i) {
    starters.emplace_back([&pumps, i] { pumps[i]->Start(); });
  }
  for (auto& t : starters) t.join();
  host.join();
  for (int i = 0; i < kFollowers; ++i) {
    ASSERT_TRUE(sinks[i]->AwaitEnd()) << "follower " << i;
    EXPECT_TRUE(sinks[i]->status().ok()) << sinks[i]->status();
    EXPECT_EQ(sinks[i]->out(), want_out) << "follower " << i;
    EXPECT_EQ(sinks[i]->err(), want_err) << "follower " << i;
    EXPECT_EQ(sinks[i]->bytes_sent(), want_out.size() + want_err.size());
    EXPECT_TRUE(sinks[i]->violations().empty()) << "follower " << i;
    pumps[i]->Detach();
  }
}

TEST_F(OutputPumpTest, ConcurrentCancelsAndShutdownEndEachStreamOnce) {
  constexpr int kFollowers = 12;
  std::vector<std::unique_ptr<FakeSink>> sinks;
  std::vector<std::shared_ptr<OutputPump>> pumps;
  // Declared after the sinks and pumps, so they are joined first.
  WorkerPool readers(2);
  WorkerPool transport(2);
  for (int i = 0; i < kFollowers; ++i) {
    sinks.push_back(std::make_unique<FakeSink>(&transport));
    pumps.push_back(Pump(sinks.back().get(), &readers, true, 8));
    pumps.back()->Start();
  }
  std::thread host([&] {
    for (int i = 0; i < 300; ++i) Out(absl::StrCat("chunk ", i, "\n"));
  });
  // Half are cancelled by the client, at various points...
  std::thread canceller([&] {
    for (int i = 0; i < kFollowers; i += 2) {
      pumps[i]->Cancel();
      std::this_thread::yield();
    }
  });
  // ...and the server shuts down under all of them.
  std::thread shutdown([&] {
    for (int i = kFollowers - 1; i >= 0; --i) pumps[i]->Shutdown();
  });
  canceller.join();
  shutdown.join();
  host.join();
  for (int i = 0; i < kFollowers; ++i) {
    ASSERT_TRUE(sinks[i]->AwaitEnd()) << "follower " << i;
    const absl::StatusCode code = sinks[i]->status().code();
    EXPECT_TRUE(code == absl::StatusCode::kCancelled ||
                code == absl::StatusCode::kUnavailable)
        << sinks[i]->status();
    if (i % 2 == 1) {
      EXPECT_EQ(code, absl::StatusCode::kUnavailable);  // never cancelled
    }
    EXPECT_TRUE(sinks[i]->violations().empty()) << "follower " << i;
    pumps[i]->Detach();
  }
  EXPECT_EQ(job_->PendingWaits(), 0u);
  End();
}

}  // namespace
}  // namespace cmdctl::test

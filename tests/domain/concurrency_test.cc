// Concurrency: many readers joining while output grows, stops racing exits
// and each other, waits racing cancels. Meant to run under ThreadSanitizer;
// no test sleeps, and the outcome never depends on timing.
#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "domain/job_manager.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/domain/domain_test_support.h"
#include "tests/domain/job_manager_support.h"
#include "tests/fakes/fake_job_store.h"
#include "tests/fakes/fake_process_host.h"

namespace cmdctl::test {
namespace {

using SignalResponse = FakeProcessHost::SignalResponse;

const Caller kAlice{"alice", {"alice"}};

RunRequest Cmd(const std::string& command) {
  RunRequest req;
  req.command = command;
  return req;
}

TEST(ConcurrencyTest,
     ReadersJoiningWhileOutputGrowsAllReceiveIdenticalStreams) {
  FakeProcessHost host;
  JobManagerOptions options;
  options.output_chunk_bytes = 37;  // many chunks, odd boundaries
  FakeJobStore store;
  JobManager manager(&host, &store, SequentialIds(), options);
  const std::string id = manager.Run(kAlice, Cmd("producer")).value().job_id;

  constexpr int kWrites = 600;
  constexpr int kReaders = 6;
  std::string want_out, want_err;
  for (int i = 0; i < kWrites; ++i) {
    want_out += absl::StrCat("out ", i, "\n");
    if (i % 3 == 0) want_err += absl::StrCat("err ", i, std::string("\0", 1));
  }
  // Reader k opens its cursor once the producer has made k/kReaders of the
  // writes (reader 0 before the first byte).
  std::vector<std::unique_ptr<absl::Notification>> milestones;
  for (int k = 0; k < kReaders; ++k) {
    milestones.push_back(std::make_unique<absl::Notification>());
  }

  std::thread producer([&] {
    int next_milestone = 0;
    for (int i = 0; i < kWrites; ++i) {
      while (next_milestone < kReaders &&
             i >= next_milestone * kWrites / kReaders) {
        milestones[next_milestone++]->Notify();
      }
      host.AppendOutput(id, OutputStream::kStdout,
                        absl::StrCat("out ", i, "\n"));
      if (i % 3 == 0) {
        host.AppendOutput(id, OutputStream::kStderr,
                          absl::StrCat("err ", i, std::string("\0", 1)));
      }
    }
    while (next_milestone < kReaders) milestones[next_milestone++]->Notify();
    host.Exit(id, ExitInfo::Exited(0));
  });

  std::vector<Received> got(kReaders);
  std::vector<Received> snapshots(kReaders);
  std::vector<std::thread> readers;
  for (int k = 0; k < kReaders; ++k) {
    readers.emplace_back([&, k] {
      milestones[k]->WaitForNotification();
      auto snapshot = manager.OpenOutput("alice", id, Snapshot());
      auto follow = manager.OpenOutput("alice", id, Follow());
      ASSERT_TRUE(snapshot.ok() && follow.ok());
      snapshots[k] = DrainNow(**snapshot);
      got[k] = DrainToEnd(**follow);
    });
  }
  producer.join();
  for (auto& r : readers) r.join();

  for (int k = 0; k < kReaders; ++k) {
    SCOPED_TRACE(absl::StrCat("reader ", k));
    EXPECT_TRUE(got[k].status.ok()) << got[k].status;
    EXPECT_TRUE(got[k].at_end);
    EXPECT_EQ(got[k].out, want_out);
    EXPECT_EQ(got[k].err, want_err);
    // A snapshot is a prefix of each stream, and complete.
    EXPECT_TRUE(snapshots[k].at_end);
    EXPECT_EQ(want_out.compare(0, snapshots[k].out.size(), snapshots[k].out),
              0);
    EXPECT_EQ(want_err.compare(0, snapshots[k].err.size(), snapshots[k].err),
              0);
  }
}

struct StopOutcome {
  absl::Mutex mu;
  std::vector<absl::StatusOr<JobStatus>> results ABSL_GUARDED_BY(mu);
};

TEST(ConcurrencyTest, StopsRacingEachOtherAndTheExitConvergeOnOneFinalStatus) {
  constexpr int kTrials = 40;
  constexpr int kStoppers = 3;
  for (int trial = 0; trial < kTrials; ++trial) {
    SCOPED_TRACE(absl::StrCat("trial ", trial));
    FakeProcessHost host;
    host.set_on_terminate(trial % 2 == 0 ? SignalResponse::kExitInline
                                         : SignalResponse::kIgnore);
    host.set_on_kill(SignalResponse::kExitInline);
    FakeJobStore store;
    JobManager manager(&host, &store, SequentialIds());
    const std::string id = manager.Run(kAlice, Cmd("sleep")).value().job_id;

    StopOutcome outcome;
    absl::Notification go;
    std::vector<std::thread> threads;
    for (int s = 0; s < kStoppers; ++s) {
      threads.emplace_back([&, s] {
        go.WaitForNotification();
        // Zero grace: the KILL timer may fire on the clock thread while
        // other stops and the exit are still in flight.
        manager.Stop("alice", id, absl::Milliseconds(s * 10),
                     [&outcome](absl::StatusOr<JobStatus> r) {
                       absl::MutexLock lock(&outcome.mu);
                       outcome.results.push_back(std::move(r));
                     });
      });
    }
    threads.emplace_back([&] {
      go.WaitForNotification();
      host.Exit(id, ExitInfo::Exited(0));
    });
    threads.emplace_back([&] {  // the host's timer thread
      go.WaitForNotification();
      for (int i = 0; i < 50; ++i)
        host.clock().AdvanceTime(absl::Milliseconds(1));
    });
    go.Notify();
    for (auto& t : threads) t.join();
    host.clock().AdvanceTime(absl::Seconds(1));  // any KILL still due

    absl::MutexLock lock(&outcome.mu);
    ASSERT_EQ(outcome.results.size(), size_t{kStoppers});
    const JobStatus final_status = manager.GetStatus("alice", id).value();
    EXPECT_NE(final_status.state, JobState::kRunning);
    for (const auto& r : outcome.results) {
      ASSERT_TRUE(r.ok()) << r.status();
      EXPECT_EQ(r->state, final_status.state);
      EXPECT_EQ(r->exit_code, final_status.exit_code);
      EXPECT_EQ(r->signal, final_status.signal);
      EXPECT_EQ(r->ended_at, final_status.ended_at);
    }
    EXPECT_LE(host.job(id).terminate_count, 1);
    EXPECT_LE(host.job(id).kill_count, kStoppers);
    EXPECT_FALSE(host.job(id).holds_observer);
  }
}

TEST(ConcurrencyTest, FollowersOfAStoppedJobAllEndWithTheFullOutput) {
  FakeProcessHost host;
  host.set_on_terminate(SignalResponse::kIgnore);
  host.set_on_kill(SignalResponse::kExitInline);
  FakeJobStore store;
  JobManager manager(&host, &store, SequentialIds());
  const std::string id = manager.Run(kAlice, Cmd("yes")).value().job_id;
  constexpr int kReaders = 4;

  std::vector<Received> got(kReaders);
  std::vector<std::thread> readers;
  for (int k = 0; k < kReaders; ++k) {
    readers.emplace_back([&, k] {
      auto cursor = manager.OpenOutput("alice", id, Follow());
      ASSERT_TRUE(cursor.ok());
      got[k] = DrainToEnd(**cursor);
    });
  }
  std::string want;
  std::thread producer([&] {
    for (int i = 0; i < 300; ++i) {
      host.AppendOutput(id, OutputStream::kStdout, "y\n");
    }
  });
  for (int i = 0; i < 300; ++i) want += "y\n";
  producer.join();
  absl::Notification stopped;
  manager.Stop("alice", id, absl::ZeroDuration(),
               [&](absl::StatusOr<JobStatus>) { stopped.Notify(); });
  host.clock().RunReady();  // the KILL
  stopped.WaitForNotification();
  for (auto& r : readers) r.join();
  for (int k = 0; k < kReaders; ++k) {
    EXPECT_TRUE(got[k].at_end);
    EXPECT_EQ(got[k].out, want);
  }
}

TEST(ConcurrencyTest, WakeRacingCancelRunsExactlyWhenCancelSaysSo) {
  FakeProcessHost host;
  FakeJobStore store;
  JobManager manager(&host, &store, SequentialIds());
  const std::string id = manager.Run(kAlice, Cmd("chatty")).value().job_id;
  constexpr int kRounds = 300;
  for (int round = 0; round < kRounds; ++round) {
    auto cursor = manager.OpenOutput("alice", id, Follow()).value();
    Received r = DrainNow(*cursor);
    ASSERT_FALSE(r.at_end);
    std::atomic<int> wakes{0};
    absl::Notification woke;
    if (!cursor->WaitForMore([&] {
          wakes.fetch_add(1);
          woke.Notify();
        })) {
      continue;
    }
    std::thread producer(
        [&] { host.AppendOutput(id, OutputStream::kStdout, "."); });
    const bool never = cursor->CancelWait();
    producer.join();
    if (never) {
      EXPECT_EQ(wakes.load(), 0) << "round " << round;
    } else {
      woke.WaitForNotification();
      EXPECT_EQ(wakes.load(), 1) << "round " << round;
    }
  }
}

}  // namespace
}  // namespace cmdctl::test

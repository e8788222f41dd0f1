// WorkerPool: posted tasks run on the pool's threads, every one of them,
// including those still queued when the pool is destroyed. Runs under TSan.
#include "rpc/worker_pool.h"

#include <atomic>
#include <set>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace cmdctl {
namespace {

TEST(WorkerPoolTest, TasksRunOnThePoolsThreadsNotThePosters) {
  absl::Mutex mu;
  std::set<std::thread::id> ran_on;
  absl::Notification done;
  {
    WorkerPool pool(2);
    for (int i = 0; i < 10; ++i) {
      pool.Post([&mu, &ran_on] {
        absl::MutexLock lock(&mu);
        ran_on.insert(std::this_thread::get_id());
      });
    }
    pool.Post([&done] { done.Notify(); });
    EXPECT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(30)));
  }
  absl::MutexLock lock(&mu);
  EXPECT_FALSE(ran_on.empty());
  EXPECT_LE(ran_on.size(), 2u);
  EXPECT_EQ(ran_on.count(std::this_thread::get_id()), 0u);
}

TEST(WorkerPoolTest, DestructionRunsEveryTaskPostedBefore) {
  std::atomic<int> ran{0};
  absl::Notification release;
  {
    WorkerPool pool(1);
    // The only worker is busy until just before the destructor, so most of
    // the rest are usually still queued when it begins: a pool that dropped
    // queued tasks would fail here.
    pool.Post([&release] { release.WaitForNotification(); });
    for (int i = 0; i < 100; ++i) pool.Post([&ran] { ++ran; });
    release.Notify();
  }
  EXPECT_EQ(ran.load(), 100);
}

TEST(WorkerPoolTest, ManyPostersAtOnce) {
  std::atomic<int> ran{0};
  {
    WorkerPool pool(2);
    std::vector<std::thread> posters;
    for (int t = 0; t < 4; ++t) {
      posters.emplace_back([&pool, &ran] {
        for (int i = 0; i < 250; ++i) pool.Post([&ran] { ++ran; });
      });
    }
    for (auto& poster : posters) poster.join();
  }
  EXPECT_EQ(ran.load(), 1000);
}

}  // namespace
}  // namespace cmdctl

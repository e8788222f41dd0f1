#include "rpc/worker_pool.h"

#include <algorithm>
#include <utility>

namespace cmdctl {

WorkerPool::WorkerPool(int threads) {
  const int n = std::max(threads, 1);
  threads_.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) threads_.emplace_back([this] { Work(); });
}

WorkerPool::~WorkerPool() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    work_.SignalAll();
  }
  for (std::thread& thread : threads_) thread.join();
}

void WorkerPool::Post(std::function<void()> task) {
  absl::MutexLock lock(&mu_);
  tasks_.push_back(std::move(task));
  work_.Signal();
}

void WorkerPool::Work() {
  for (;;) {
    std::function<void()> task;
    {
      absl::MutexLock lock(&mu_);
      // A CondVar rather than an absl::Condition: TSan then sees every read
      // of the queue happen under the mutex (tests/fakes/
      // tsan_absl_annotations.cc cannot annotate conditions that Abseil
      // evaluates inside its own Unlock).
      while (!stopping_ && tasks_.empty()) work_.Wait(&mu_);
      if (tasks_.empty()) return;  // stopping, and everything has run
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    task();
  }
}

}  // namespace cmdctl

// A small fixed pool of threads that runs posted tasks, in the order posted
// (two workers may run two tasks at once). The service uses it to take the
// reading that follows an output wake off the host's event-loop thread
// (OutputPump): the host thread only posts, which takes a short mutex and
// never waits for a task.
//
// Why not gRPC's own machinery (a grpc::Alarm set to "now"): see
// docs/RPC.md, "Threading". In short: gRPC 1.51 runs alarm callbacks on its
// internal executor, which TSan cannot see into and which runs closures
// inline when its threads are off; and an Alarm cannot be set again while the
// callback of its last expiry may still be running, so it would take one
// allocation and gRPC-internal lifetime rules per wake. This pool is plain
// code under our own tests (ThreadSanitizer included).
//
// Thread-safe.
#ifndef CMDCTL_RPC_WORKER_POOL_H_
#define CMDCTL_RPC_WORKER_POOL_H_

#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace cmdctl {

// Something that runs tasks on threads of its own.
class TaskRunner {
 public:
  virtual ~TaskRunner() = default;
  // Queues `task` and returns without waiting for it. The task runs later,
  // on another thread, without any lock of the caller's held.
  virtual void Post(std::function<void()> task) = 0;
};

class WorkerPool final : public TaskRunner {
 public:
  // Starts `threads` workers (at least one). Idle workers wait on a
  // condition: no polling.
  explicit WorkerPool(int threads);
  // Runs every task posted before, then joins the workers. Nothing may
  // post once the destructor has begun; a task must not destroy its pool.
  ~WorkerPool() override;

  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  void Post(std::function<void()> task) override ABSL_LOCKS_EXCLUDED(mu_);

 private:
  void Work() ABSL_LOCKS_EXCLUDED(mu_);

  absl::Mutex mu_;
  absl::CondVar work_;  // a task was posted, or stopping_ was set
  std::deque<std::function<void()>> tasks_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace cmdctl

#endif  // CMDCTL_RPC_WORKER_POOL_H_

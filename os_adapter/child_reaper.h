// The subreaper of a process whose children are all started by this host
// (cmdctld): PR_SET_CHILD_SUBREAPER, so that orphaned descendants of jobs are
// reparented here instead of to init, and a reaping pass on every SIGCHLD
// (waitid(P_ALL), so nothing is left a zombie). The exits of the host's own
// children (the jobs' main processes) go to their owners.
//
// A child's exit must never be reaped before the host knows whose it is:
// Start holds a SpawnGuard from before posix_spawn until it has called
// Expect, and the reaping pass waits for it. An exit reaped between Expect
// and Claim is parked and handed over by Claim.
//
// Only one per process (SIGCHLD is process-wide). Threads: Expect, Claim and
// Forget from any thread; the reaping pass and every exit callback run on the
// event loop's thread.
#ifndef CMDCTL_OS_ADAPTER_CHILD_REAPER_H_
#define CMDCTL_OS_ADAPTER_CHILD_REAPER_H_

#include <sys/types.h>

#include <functional>
#include <memory>
#include <optional>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/unique_fd.h"
#include "domain/types.h"
#include "os_adapter/event_loop.h"

namespace cmdctl {

class ChildReaper {
 public:
  using OnExit = std::function<void(const ExitInfo&)>;

  // FAILED_PRECONDITION when another reaper exists in this process;
  // INTERNAL/RESOURCE_EXHAUSTED when the kernel refuses the eventfd, the
  // handler or the subreaper flag.
  static absl::StatusOr<std::unique_ptr<ChildReaper>> Create(EventLoop* loop);
  // Restores SIGCHLD's default and clears the subreaper flag.
  ~ChildReaper();
  ChildReaper(const ChildReaper&) = delete;
  ChildReaper& operator=(const ChildReaper&) = delete;

  // Held around posix_spawn until Expect(pid) (shared: spawns run in
  // parallel; the reaping pass takes it exclusively).
  class SpawnGuard {
   public:
    explicit SpawnGuard(ChildReaper* reaper) ABSL_NO_THREAD_SAFETY_ANALYSIS
        : reaper_(reaper) {
      if (reaper_ != nullptr) reaper_->spawn_mu_.ReaderLock();
    }
    ~SpawnGuard() ABSL_NO_THREAD_SAFETY_ANALYSIS {
      if (reaper_ != nullptr) reaper_->spawn_mu_.ReaderUnlock();
    }
    SpawnGuard(const SpawnGuard&) = delete;
    SpawnGuard& operator=(const SpawnGuard&) = delete;

   private:
    ChildReaper* const reaper_;
  };

  // `pid` is a child being started: its exit, if reaped now, is parked.
  void Expect(pid_t pid) ABSL_LOCKS_EXCLUDED(mu_);
  // The exit of `pid` (Expected before) goes to `on_exit`, on the loop
  // thread; posted at once if it was reaped already.
  void Claim(pid_t pid, OnExit on_exit) ABSL_LOCKS_EXCLUDED(mu_);
  // A start that failed: nobody claims `pid` (its exit is just reaped).
  void Forget(pid_t pid) ABSL_LOCKS_EXCLUDED(mu_);
  // Runs a reaping pass on the loop thread soon (e.g. after a job's tree
  // was killed, without waiting for SIGCHLD).
  void ReapSoon();
  // A reaping pass now. Loop thread only (a pidfd that became readable
  // calls it, in case a SIGCHLD was lost).
  void Reap() ABSL_LOCKS_EXCLUDED(mu_, spawn_mu_);

 private:
  ChildReaper(EventLoop* loop, UniqueFd sigchld)
      : loop_(loop), sigchld_(std::move(sigchld)) {}

  EventLoop* const loop_;
  const UniqueFd sigchld_;  // eventfd written by the SIGCHLD handler
  EventLoop::WatchId watch_id_ = 0;

  absl::Mutex spawn_mu_;
  absl::Mutex mu_;
  // Expected children: nullopt until reaped, then their exit (parked).
  absl::flat_hash_map<pid_t, std::optional<ExitInfo>> expected_
      ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<pid_t, OnExit> claimed_ ABSL_GUARDED_BY(mu_);
};

}  // namespace cmdctl

#endif  // CMDCTL_OS_ADAPTER_CHILD_REAPER_H_

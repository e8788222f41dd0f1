// The subreaper of a process whose children are all started by this host
// (cmdctld): PR_SET_CHILD_SUBREAPER, so that a process orphaned under it (a
// job whose monitor died, say) comes to it rather than to init, and a
// reaping pass on every SIGCHLD (waitid(P_ALL)), so nothing it ever started
// is left a zombie. Nobody waits for an exit status through it: the host
// learns of its monitors' ends from their pidfds, and the monitors record
// their jobs' exits.
//
// A child must not be reaped before the host has pinned it with a pidfd
// (the pid could then be reused): a spawn holds a SpawnGuard from before
// posix_spawn until pidfd_open, and the reaping pass waits for it.
//
// Only one per process (SIGCHLD is process-wide). Threads: SpawnGuard and
// ReapSoon from any thread; the reaping pass runs on the event loop's thread.
#ifndef CMDCTL_OS_ADAPTER_CHILD_REAPER_H_
#define CMDCTL_OS_ADAPTER_CHILD_REAPER_H_

#include <sys/types.h>

#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/unique_fd.h"
#include "os_adapter/event_loop.h"

namespace cmdctl {

class ChildReaper {
 public:
  // FAILED_PRECONDITION when another reaper exists in this process;
  // INTERNAL/RESOURCE_EXHAUSTED when the kernel refuses the eventfd, the
  // handler or the subreaper flag.
  static absl::StatusOr<std::unique_ptr<ChildReaper>> Create(EventLoop* loop);
  // Restores SIGCHLD's default and clears the subreaper flag.
  ~ChildReaper();
  ChildReaper(const ChildReaper&) = delete;
  ChildReaper& operator=(const ChildReaper&) = delete;

  // Held around posix_spawn until the child is pinned by a pidfd (shared:
  // spawns run in parallel; the reaping pass takes it exclusively).
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

  // Runs a reaping pass on the loop thread soon (e.g. after a job's tree
  // was killed, without waiting for SIGCHLD).
  void ReapSoon();
  // A reaping pass now. Loop thread only (a pidfd that became readable
  // calls it, in case a SIGCHLD was lost).
  void Reap() ABSL_LOCKS_EXCLUDED(spawn_mu_);

 private:
  ChildReaper(EventLoop* loop, UniqueFd sigchld)
      : loop_(loop), sigchld_(std::move(sigchld)) {}

  EventLoop* const loop_;
  const UniqueFd sigchld_;  // eventfd written by the SIGCHLD handler
  EventLoop::WatchId watch_id_ = 0;

  absl::Mutex spawn_mu_;
};

}  // namespace cmdctl

#endif  // CMDCTL_OS_ADAPTER_CHILD_REAPER_H_

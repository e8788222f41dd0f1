// One-shot output notifications over inotify: a job's two output files get
// an IN_MODIFY|IN_ONESHOT watch only while a reader waits (Arm), so a job
// nobody follows, or whose readers are behind, costs nothing per write.
//
// Threads: Arm and Close from any thread; the loop thread drains the events
// and runs each job's notify callback, without the watcher's lock held.
#ifndef CMDCTL_OS_ADAPTER_OUTPUT_WATCHER_H_
#define CMDCTL_OS_ADAPTER_OUTPUT_WATCHER_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/unique_fd.h"
#include "os_adapter/event_loop.h"

namespace cmdctl {

class OutputWatcher {
 public:
  // What one job's files are watched through. Made by NewTarget.
  class Target;

  // The inotify fd, drained on `loop` (which must outlive the watcher).
  static absl::StatusOr<std::unique_ptr<OutputWatcher>> Create(EventLoop* loop);
  ~OutputWatcher();
  OutputWatcher(const OutputWatcher&) = delete;
  OutputWatcher& operator=(const OutputWatcher&) = delete;

  // A target for the files `paths` (e.g. /proc/self/fd/N, which inotify
  // resolves to the open file itself); `notify` runs on the loop thread when
  // an armed watch fires.
  std::shared_ptr<Target> NewTarget(std::string stdout_path,
                                    std::string stderr_path,
                                    std::function<void()> notify);

  // Arms a one-shot watch on both files of `target` (a no-op once closed).
  // RESOURCE_EXHAUSTED when out of inotify watches, INTERNAL otherwise.
  absl::Status Arm(const std::shared_ptr<Target>& target)
      ABSL_LOCKS_EXCLUDED(mu_);
  // No watch from now on; one still armed is removed, and `notify` is not
  // called after Close returns on the loop thread.
  void Close(const std::shared_ptr<Target>& target) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  OutputWatcher(EventLoop* loop, UniqueFd inotify)
      : loop_(loop), inotify_(std::move(inotify)) {}
  void Drain() ABSL_LOCKS_EXCLUDED(mu_);

  EventLoop* const loop_;
  const UniqueFd inotify_;
  EventLoop::WatchId watch_id_ = 0;

  // Taken with no other host lock held.
  absl::Mutex mu_;
  absl::flat_hash_map<int, std::shared_ptr<Target>> by_wd_ ABSL_GUARDED_BY(mu_);
};

}  // namespace cmdctl

#endif  // CMDCTL_OS_ADAPTER_OUTPUT_WATCHER_H_

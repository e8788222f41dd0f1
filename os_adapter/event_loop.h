// One thread running epoll: readiness callbacks for registered fds, posted
// tasks, and one-shot timers (a heap over one timerfd).
//
// Threads: every method may be called from any thread. Callbacks, posted
// tasks and timers run on the loop thread, never with a loop lock held, so
// they may call back into the loop.
#ifndef CMDCTL_OS_ADAPTER_EVENT_LOOP_H_
#define CMDCTL_OS_ADAPTER_EVENT_LOOP_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <queue>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/unique_fd.h"
#include "domain/process_host.h"

namespace cmdctl {

class EventLoop {
 public:
  using WatchId = uint64_t;

  // Makes the epoll, wake and timer fds and starts the loop thread.
  // RESOURCE_EXHAUSTED or INTERNAL when the kernel refuses an fd.
  static absl::StatusOr<std::unique_ptr<EventLoop>> Create();

  // Stop()s.
  ~EventLoop();

  // Stops and joins the loop thread (from another thread); idempotent.
  // Posted tasks and timers not yet run are dropped, and nothing runs from
  // here on. AddFd/RemoveFd/Post stay harmless.
  void Stop() ABSL_LOCKS_EXCLUDED(mu_);
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Calls `on_ready` on the loop thread whenever `fd` is ready for `events`
  // (level-triggered epoll events, e.g. EPOLLIN or EPOLLPRI). The loop does
  // not own `fd`, which must stay open until RemoveFd. RESOURCE_EXHAUSTED
  // when the kernel is out of memory for epoll items, INTERNAL otherwise.
  absl::StatusOr<WatchId> AddFd(int fd, uint32_t events,
                                std::function<void()> on_ready)
      ABSL_LOCKS_EXCLUDED(mu_);

  // Stops watching. Called on the loop thread, `on_ready` is never called
  // again; from another thread, a call already under way may still finish.
  void RemoveFd(int fd, WatchId id) ABSL_LOCKS_EXCLUDED(mu_);

  // Runs `fn` once on the loop thread, soon.
  void Post(std::function<void()> fn) ABSL_LOCKS_EXCLUDED(mu_);

  // ProcessHost's timers: `fn` runs once on the loop thread after `delay`.
  TimerId RunAfter(absl::Duration delay, std::function<void()> fn)
      ABSL_LOCKS_EXCLUDED(mu_);
  void CancelTimer(TimerId id) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Timer {
    int64_t deadline_ns;
    TimerId id;
    bool operator>(const Timer& o) const {
      return deadline_ns != o.deadline_ns ? deadline_ns > o.deadline_ns
                                          : id > o.id;
    }
  };

  EventLoop(UniqueFd epoll, UniqueFd wake, UniqueFd timer)
      : epoll_(std::move(epoll)),
        wake_(std::move(wake)),
        timer_(std::move(timer)) {}

  void Loop();
  void Wake();
  void RunPosted() ABSL_LOCKS_EXCLUDED(mu_);
  void RunDueTimers() ABSL_LOCKS_EXCLUDED(mu_);
  void ArmTimerLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const UniqueFd epoll_;
  const UniqueFd wake_;   // eventfd: posted tasks and Stop
  const UniqueFd timer_;  // timerfd over timer_heap_'s earliest deadline

  absl::Mutex mu_;
  WatchId next_watch_id_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<WatchId, std::shared_ptr<std::function<void()>>> watches_
      ABSL_GUARDED_BY(mu_);
  std::vector<std::function<void()>> posted_ ABSL_GUARDED_BY(mu_);
  std::priority_queue<Timer, std::vector<Timer>, std::greater<Timer>>
      timer_heap_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<TimerId, std::function<void()>> timers_
      ABSL_GUARDED_BY(mu_);
  TimerId next_timer_id_ ABSL_GUARDED_BY(mu_) = 1;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;

  std::thread thread_;
};

}  // namespace cmdctl

#endif  // CMDCTL_OS_ADAPTER_EVENT_LOOP_H_

#include "os_adapter/event_loop.h"

#include <errno.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>

#include "common/errno_status.h"
#include "glog/logging.h"

namespace cmdctl {
namespace {

// Watch ids of the loop's own fds; registered fds count from here on.
constexpr EventLoop::WatchId kWakeId = 1;
constexpr EventLoop::WatchId kTimerId = 2;
constexpr EventLoop::WatchId kFirstWatchId = 16;

int64_t MonotonicNanos() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

absl::Status EpollAdd(int epoll, int fd, uint32_t events, uint64_t id) {
  struct epoll_event ev = {};
  ev.events = events;
  ev.data.u64 = id;
  if (epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &ev) != 0) {
    return ErrnoStatus(errno, "epoll_ctl", ErrnoCause::kMachinery);
  }
  return absl::OkStatus();
}

// Reads an eventfd or timerfd counter (nonblocking; nothing there is fine).
void Drain(int fd) {
  uint64_t count;
  while (read(fd, &count, sizeof(count)) < 0 && errno == EINTR) {
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<EventLoop>> EventLoop::Create() {
  UniqueFd epoll(epoll_create1(EPOLL_CLOEXEC));
  if (!epoll)
    return ErrnoStatus(errno, "epoll_create1", ErrnoCause::kMachinery);
  UniqueFd wake(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake) return ErrnoStatus(errno, "eventfd", ErrnoCause::kMachinery);
  UniqueFd timer(timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK));
  if (!timer) {
    return ErrnoStatus(errno, "timerfd_create", ErrnoCause::kMachinery);
  }
  if (absl::Status s = EpollAdd(epoll.get(), wake.get(), EPOLLIN, kWakeId);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = EpollAdd(epoll.get(), timer.get(), EPOLLIN, kTimerId);
      !s.ok()) {
    return s;
  }
  std::unique_ptr<EventLoop> loop(
      new EventLoop(std::move(epoll), std::move(wake), std::move(timer)));
  {
    absl::MutexLock l(&loop->mu_);
    loop->next_watch_id_ = kFirstWatchId;
  }
  loop->thread_ = std::thread([raw = loop.get()] { raw->Loop(); });
  return loop;
}

EventLoop::~EventLoop() { Stop(); }

void EventLoop::Stop() {
  {
    absl::MutexLock l(&mu_);
    stopping_ = true;
  }
  Wake();
  if (thread_.joinable()) thread_.join();
}

absl::StatusOr<EventLoop::WatchId> EventLoop::AddFd(
    int fd, uint32_t events, std::function<void()> on_ready) {
  WatchId id;
  {
    absl::MutexLock l(&mu_);
    id = next_watch_id_++;
    watches_[id] = std::make_shared<std::function<void()>>(std::move(on_ready));
  }
  // After the callback is in place: an event may come at once.
  absl::Status added = EpollAdd(epoll_.get(), fd, events, id);
  if (!added.ok()) {
    absl::MutexLock l(&mu_);
    watches_.erase(id);
    return added;
  }
  return id;
}

void EventLoop::RemoveFd(int fd, WatchId id) {
  // EBADF/ENOENT only if the caller's bookkeeping is wrong; nothing to undo.
  epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
  absl::MutexLock l(&mu_);
  watches_.erase(id);
}

void EventLoop::Wake() {
  const uint64_t one = 1;
  // Fails only when the counter is saturated: a wake-up is pending anyway.
  while (write(wake_.get(), &one, sizeof(one)) < 0 && errno == EINTR) {
  }
}

void EventLoop::Post(std::function<void()> fn) {
  {
    absl::MutexLock l(&mu_);
    posted_.push_back(std::move(fn));
  }
  Wake();
}

void EventLoop::RunPosted() {
  Drain(wake_.get());
  std::vector<std::function<void()>> fns;
  {
    absl::MutexLock l(&mu_);
    fns.swap(posted_);
  }
  for (auto& fn : fns) fn();
}

TimerId EventLoop::RunAfter(absl::Duration delay, std::function<void()> fn) {
  const int64_t delay_ns = delay <= absl::ZeroDuration()
                               ? 0
                               : (delay > absl::Hours(24 * 365 * 100)
                                      ? int64_t{1} << 62
                                      : absl::ToInt64Nanoseconds(delay));
  absl::MutexLock l(&mu_);
  const TimerId id = next_timer_id_++;
  timers_[id] = std::move(fn);
  timer_heap_.push(Timer{MonotonicNanos() + delay_ns, id});
  if (timer_heap_.top().id == id) ArmTimerLocked();
  return id;
}

void EventLoop::CancelTimer(TimerId id) {
  absl::MutexLock l(&mu_);
  timers_.erase(id);  // its heap entry is skipped when it comes up
}

void EventLoop::ArmTimerLocked() {
  while (!timer_heap_.empty() && !timers_.contains(timer_heap_.top().id)) {
    timer_heap_.pop();
  }
  struct itimerspec spec = {};
  if (!timer_heap_.empty()) {
    const int64_t at = std::max<int64_t>(timer_heap_.top().deadline_ns, 1);
    spec.it_value.tv_sec = at / 1000000000;
    spec.it_value.tv_nsec = at % 1000000000;
  }
  // Fails only for invalid arguments, which these are not.
  timerfd_settime(timer_.get(), TFD_TIMER_ABSTIME, &spec, nullptr);
}

void EventLoop::RunDueTimers() {
  Drain(timer_.get());
  std::vector<std::function<void()>> due;
  {
    absl::MutexLock l(&mu_);
    const int64_t now = MonotonicNanos();
    while (!timer_heap_.empty() && timer_heap_.top().deadline_ns <= now) {
      auto it = timers_.find(timer_heap_.top().id);
      timer_heap_.pop();
      if (it == timers_.end()) continue;
      due.push_back(std::move(it->second));
      timers_.erase(it);
    }
    ArmTimerLocked();
  }
  for (auto& fn : due) fn();
}

void EventLoop::Loop() {
  struct epoll_event events[64];
  for (;;) {
    const int n = epoll_wait(epoll_.get(), events, 64, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      // Only a broken epoll fd gets here: nothing can run any more.
      LOG(FATAL) << "epoll_wait: " << ErrnoText(errno);
    }
    for (int i = 0; i < n; ++i) {
      const WatchId id = events[i].data.u64;
      if (id == kWakeId) {
        RunPosted();
      } else if (id == kTimerId) {
        RunDueTimers();
      } else {
        std::shared_ptr<std::function<void()>> on_ready;
        {
          absl::MutexLock l(&mu_);
          auto it = watches_.find(id);
          if (it != watches_.end()) on_ready = it->second;
        }
        if (on_ready != nullptr) (*on_ready)();
      }
    }
    absl::MutexLock l(&mu_);
    if (stopping_) return;
  }
}

}  // namespace cmdctl

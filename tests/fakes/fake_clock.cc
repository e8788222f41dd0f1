#include "tests/fakes/fake_clock.h"

namespace cmdctl::test {

absl::Time FakeClock::Now() const {
  absl::MutexLock lock(&mu_);
  return now_;
}

TimerId FakeClock::RunAfter(absl::Duration delay, std::function<void()> fn) {
  absl::MutexLock lock(&mu_);
  if (delay < absl::ZeroDuration()) delay = absl::ZeroDuration();
  const TimerId id = next_id_++;
  timers_.emplace(std::make_pair(now_ + delay, id), std::move(fn));
  return id;
}

void FakeClock::CancelTimer(TimerId id) {
  absl::MutexLock lock(&mu_);
  ++cancel_calls_;
  for (auto it = timers_.begin(); it != timers_.end(); ++it) {
    if (it->first.second == id) {
      timers_.erase(it);
      return;
    }
  }
}

int FakeClock::AdvanceTime(absl::Duration d) {
  absl::Time target;
  {
    absl::MutexLock lock(&mu_);
    target = now_ + d;
  }
  int ran = 0;
  for (;;) {
    std::function<void()> fn;
    {
      absl::MutexLock lock(&mu_);
      auto it = timers_.begin();
      if (it == timers_.end() || it->first.first > target) {
        if (target > now_) now_ = target;
        return ran;
      }
      if (it->first.first > now_) now_ = it->first.first;
      fn = std::move(it->second);
      timers_.erase(it);
    }
    fn();
    ++ran;
  }
}

FakeClock::Snapshot FakeClock::snapshot() const {
  absl::MutexLock lock(&mu_);
  Snapshot s;
  s.pending_timers = timers_.size();
  if (!timers_.empty()) s.next_timer_due = timers_.begin()->first.first;
  s.cancel_calls = cancel_calls_;
  return s;
}

}  // namespace cmdctl::test

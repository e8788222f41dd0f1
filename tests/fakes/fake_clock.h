// A manual clock with one-shot timers, for unit tests: no wall clock is read
// and nothing runs by itself. The test moves time (AdvanceTime) and the due
// timers run on the calling thread, in due order, without the clock's lock
// held (so a timer may add or cancel timers).
//
// Thread-safe.
#ifndef CMDCTL_TESTS_FAKES_FAKE_CLOCK_H_
#define CMDCTL_TESTS_FAKES_FAKE_CLOCK_H_

#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "domain/process_host.h"

namespace cmdctl::test {

class FakeClock {
 public:
  // The clock starts at `start` (a fixed, arbitrary instant by default).
  explicit FakeClock(absl::Time start = absl::FromUnixSeconds(1700000000))
      : now_(start) {}
  FakeClock(const FakeClock&) = delete;
  FakeClock& operator=(const FakeClock&) = delete;

  absl::Time Now() const ABSL_LOCKS_EXCLUDED(mu_);

  // Registers `fn` to run once when the clock reaches now + delay (negative:
  // now). Never runs it on the calling thread: AdvanceTime/RunReady do.
  TimerId RunAfter(absl::Duration delay, std::function<void()> fn)
      ABSL_LOCKS_EXCLUDED(mu_);
  void CancelTimer(TimerId id) ABSL_LOCKS_EXCLUDED(mu_);

  // Moves the clock forward by `d` and runs, on this thread and in order of
  // due time (then of creation), every timer due by then, including ones
  // those timers add. Each runs with the clock at its due time. Returns how
  // many ran.
  int AdvanceTime(absl::Duration d) ABSL_LOCKS_EXCLUDED(mu_);
  // Runs every timer already due (zero-delay timers).
  int RunReady() { return AdvanceTime(absl::ZeroDuration()); }

  struct Snapshot {
    size_t pending_timers = 0;  // neither run nor cancelled
    std::optional<absl::Time> next_timer_due;
    int cancel_calls = 0;
  };
  Snapshot snapshot() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  mutable absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
  // Keyed by (due time, id): iteration order is firing order.
  std::map<std::pair<absl::Time, TimerId>, std::function<void()>> timers_
      ABSL_GUARDED_BY(mu_);
  TimerId next_id_ ABSL_GUARDED_BY(mu_) = 1;
  int cancel_calls_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace cmdctl::test

#endif  // CMDCTL_TESTS_FAKES_FAKE_CLOCK_H_

// An in-memory ProcessHost for unit tests (LevelDB's memenv/fault-injection
// Env, in spirit): no process is spawned and no wall clock is read.
//
// The test is the "host thread": it makes jobs produce output
// (AppendOutput), end (Exit) and moves a manual clock (AdvanceTime), and the
// fake calls the observers and timers on the calling thread, never while it
// holds its own lock, so callbacks may call back into the fake.
//
// Faults are ordinary switches, so a test reads as a story:
//
//   FakeProcessHost host;
//   host.SetProgramError("missing", absl::NotFoundError("no such program"));
//   // ... Run("missing") fails with NOT_FOUND and leaves no job.
//
//   host.set_on_terminate(FakeProcessHost::SignalResponse::kIgnore);
//   manager.Stop(...);                  // TERM is sent, the job keeps running
//   host.AdvanceTime(absl::Seconds(5)); // the grace timer fires: KILL
//   host.RunReady();                    // the queued exit is delivered
//
// Output notifications follow the seam's contract strictly: AppendOutput
// calls OnOutput only when WatchOutput armed it (and disarms it), so a test
// proves that a reader arms before it waits; watch_calls() and
// output_notifications() show what was armed and delivered.
//
// Thread-safe: every method may be called from any thread. Tests that drive
// one job from several threads must still respect the observer contract
// themselves (no AppendOutput for a job after its Exit); the fake reports
// such misuse by returning false.
#ifndef CMDCTL_TESTS_FAKES_FAKE_PROCESS_HOST_H_
#define CMDCTL_TESTS_FAKES_FAKE_PROCESS_HOST_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "domain/process_host.h"
#include "domain/types.h"
#include "gtest/gtest.h"

namespace cmdctl::testing {

class FakeProcessHost : public ProcessHost {
 public:
  // What a job does when it receives a signal.
  enum class SignalResponse {
    // Keeps running (a process that traps or ignores SIGTERM).
    kIgnore,
    // Ends; its exit is queued as a zero-delay timer, delivered by the next
    // RunReady()/AdvanceTime() (as a real host delivers it on its own thread
    // after the signal call has returned).
    kExitLater,
    // Ends at once: OnExit is called on the signalling thread before
    // Terminate/Kill returns (the exit racing the stop, won by the exit).
    kExitInline,
  };

  // The exit a signal produces: killed by SIGTERM (15) or SIGKILL (9).
  static constexpr int kSigTerm = 15;
  static constexpr int kSigKill = 9;

  // The clock starts at `start` (a fixed, arbitrary instant by default).
  explicit FakeProcessHost(absl::Time start = absl::FromUnixSeconds(1700000000))
      : now_(start) {}
  FakeProcessHost(const FakeProcessHost&) = delete;
  FakeProcessHost& operator=(const FakeProcessHost&) = delete;

  // ---------------------------------------------------------------------
  // Fault switches and behaviour.

  // Every Start fails with `status` (OK: Start works again).
  void set_start_error(absl::Status status) {
    absl::MutexLock lock(&mu_);
    start_error_ = std::move(status);
  }
  // Start of `program` (exactly as in ProcessSpec::program) fails with
  // `status`; e.g. ("missing", NotFoundError) or ("/etc/passwd",
  // FailedPreconditionError). OK removes the rule.
  void SetProgramError(const std::string& program, absl::Status status) {
    absl::MutexLock lock(&mu_);
    if (status.ok()) {
      program_errors_.erase(program);
    } else {
      program_errors_[program] = std::move(status);
    }
  }
  // Start calls observer->OnExit(exit) before it returns (a job so short it
  // has ended before Start reports it started). nullopt: off (the default).
  void set_exit_during_start(std::optional<ExitInfo> exit) {
    absl::MutexLock lock(&mu_);
    exit_during_start_ = exit;
  }
  // How jobs respond to Terminate (default kIgnore) and Kill (default
  // kExitLater). Terminate ends a job with Signaled(15), Kill with
  // Signaled(9).
  void set_on_terminate(SignalResponse response) {
    absl::MutexLock lock(&mu_);
    on_terminate_ = response;
  }
  void set_on_kill(SignalResponse response) {
    absl::MutexLock lock(&mu_);
    on_kill_ = response;
  }
  // Terminate / Kill fail with `status` (OK: they work again). The signal
  // is still counted.
  void set_terminate_error(absl::Status status) {
    absl::MutexLock lock(&mu_);
    terminate_error_ = std::move(status);
  }
  void set_kill_error(absl::Status status) {
    absl::MutexLock lock(&mu_);
    kill_error_ = std::move(status);
  }
  // ReadOutput fails with `status` for every job (OK: reads work again).
  void set_read_error(absl::Status status) {
    absl::MutexLock lock(&mu_);
    read_error_ = std::move(status);
  }
  // OutputSize fails with `status` for every job (OK: works again).
  void set_size_error(absl::Status status) {
    absl::MutexLock lock(&mu_);
    size_error_ = std::move(status);
  }
  // WatchOutput fails with `status` for every job, arming nothing (OK: works
  // again). The call is still counted.
  void set_watch_error(absl::Status status) {
    absl::MutexLock lock(&mu_);
    watch_error_ = std::move(status);
  }
  // ReadOutput returns at most `n` bytes per call, however many were asked
  // for (a short read, as pread may do). 0: no limit (the default).
  void set_max_read_bytes(size_t n) {
    absl::MutexLock lock(&mu_);
    max_read_bytes_ = n;
  }

  // Runs `fn` once, on the reading thread and without the fake's lock held,
  // just before the next ReadOutput of `stream` (any job) reads: a way to
  // make output or an exit land in the middle of a reader's Next().
  void RunOnceBeforeRead(OutputStream stream, std::function<void()> fn) {
    absl::MutexLock lock(&mu_);
    before_read_[Index(stream)].push_back(std::move(fn));
  }
  // Runs `fn` once, on the calling thread and without the fake's lock held,
  // just after the next OutputSize of `stream` (any job) has taken its size:
  // a way to make output land between a reader's size check and its wait.
  void RunOnceAfterSize(OutputStream stream, std::function<void()> fn) {
    absl::MutexLock lock(&mu_);
    after_size_[Index(stream)].push_back(std::move(fn));
  }

  // ---------------------------------------------------------------------
  // Driving jobs (the test plays the host's threads).

  // Appends `bytes` to the job's stream and, if a WatchOutput armed the
  // notification, disarms it and calls observer->OnOutput() on this thread
  // (as a one-shot inotify watch does). Returns false (and appends nothing)
  // for a job that has ended; ADD_FAILUREs for an unknown id.
  bool AppendOutput(const std::string& job_id, OutputStream stream,
                    const std::string& bytes) {
    std::shared_ptr<ProcessObserver> observer;
    {
      absl::MutexLock lock(&mu_);
      FakeJob* job = FindLocked(job_id);
      if (job == nullptr) {
        ADD_FAILURE() << "AppendOutput: unknown job " << job_id;
        return false;
      }
      if (job->ended) return false;
      job->output[Index(stream)] += bytes;
      if (!job->armed) return true;
      job->armed = false;
      ++job->notifications;
      observer = job->observer;
    }
    observer->OnOutput();
    return true;
  }

  // Calls observer->OnOutput() on this thread whether armed or not (the
  // contract allows spurious notifications). False for an ended job.
  bool NotifyOutputSpuriously(const std::string& job_id) {
    std::shared_ptr<ProcessObserver> observer;
    {
      absl::MutexLock lock(&mu_);
      FakeJob* job = FindLocked(job_id);
      if (job == nullptr || job->ended) return false;
      ++job->notifications;
      observer = job->observer;
    }
    observer->OnOutput();
    return true;
  }

  // Ends the job: calls observer->OnExit(exit, Now()) on this thread and
  // drops the observer. Returns false when the job had already ended (a
  // real host reports an end exactly once); ADD_FAILUREs for an unknown id.
  bool Exit(const std::string& job_id, const ExitInfo& exit) {
    std::shared_ptr<ProcessObserver> observer;
    absl::Time at;
    {
      absl::MutexLock lock(&mu_);
      FakeJob* job = FindLocked(job_id);
      if (job == nullptr) {
        ADD_FAILURE() << "Exit: unknown job " << job_id;
        return false;
      }
      if (job->ended) return false;
      job->ended = true;
      observer = std::move(job->observer);
      job->observer.reset();
      at = now_;
    }
    observer->OnExit(exit, at);
    return true;
  }

  // Moves the clock forward by `d` and runs, on this thread and in order of
  // due time (then of creation), every timer due by then, including ones
  // those timers add. Each runs with the clock at its due time, without the
  // fake's lock held. Returns how many ran.
  int AdvanceTime(absl::Duration d) {
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
  // Runs every timer already due (zero-delay timers, queued exits).
  int RunReady() { return AdvanceTime(absl::ZeroDuration()); }

  // ---------------------------------------------------------------------
  // Inspection.

  // Ids of the jobs started successfully, in order.
  std::vector<std::string> started_job_ids() const {
    absl::MutexLock lock(&mu_);
    return started_ids_;
  }
  // The spec of every Start call (successful or not), in order.
  std::vector<ProcessSpec> start_attempts() const {
    absl::MutexLock lock(&mu_);
    return attempts_;
  }
  // The spec a started job was given; nullopt for an unknown id.
  std::optional<ProcessSpec> spec(const std::string& job_id) const {
    absl::MutexLock lock(&mu_);
    const FakeJob* job = FindLocked(job_id);
    if (job == nullptr) return std::nullopt;
    return job->spec;
  }
  int pid(const std::string& job_id) const {
    absl::MutexLock lock(&mu_);
    const FakeJob* job = FindLocked(job_id);
    return job == nullptr ? 0 : job->pid;
  }
  // Calls of Terminate / Kill for the job (0 for an unknown id).
  int terminate_count(const std::string& job_id) const {
    absl::MutexLock lock(&mu_);
    const FakeJob* job = FindLocked(job_id);
    return job == nullptr ? 0 : job->terminate_count;
  }
  int kill_count(const std::string& job_id) const {
    absl::MutexLock lock(&mu_);
    const FakeJob* job = FindLocked(job_id);
    return job == nullptr ? 0 : job->kill_count;
  }
  bool ended(const std::string& job_id) const {
    absl::MutexLock lock(&mu_);
    const FakeJob* job = FindLocked(job_id);
    return job != nullptr && job->ended;
  }
  // True while the host still holds the job's observer (until OnExit).
  bool holds_observer(const std::string& job_id) const {
    absl::MutexLock lock(&mu_);
    const FakeJob* job = FindLocked(job_id);
    return job != nullptr && job->observer != nullptr;
  }
  // Timers registered and neither run nor cancelled (queued exits count).
  size_t pending_timers() const {
    absl::MutexLock lock(&mu_);
    return timers_.size();
  }
  // The due time of the earliest pending timer, if any.
  std::optional<absl::Time> next_timer_due() const {
    absl::MutexLock lock(&mu_);
    if (timers_.empty()) return std::nullopt;
    return timers_.begin()->first.first;
  }
  int cancel_timer_calls() const {
    absl::MutexLock lock(&mu_);
    return cancel_calls_;
  }
  int read_calls() const {
    absl::MutexLock lock(&mu_);
    return read_calls_;
  }
  // WatchOutput calls for the job (failed ones included; 0 for an unknown
  // id), whether a notification is armed now, and how many OnOutput calls
  // the fake has made for it.
  int watch_calls(const std::string& job_id) const {
    absl::MutexLock lock(&mu_);
    const FakeJob* job = FindLocked(job_id);
    return job == nullptr ? 0 : job->watch_calls;
  }
  bool armed(const std::string& job_id) const {
    absl::MutexLock lock(&mu_);
    const FakeJob* job = FindLocked(job_id);
    return job != nullptr && job->armed;
  }
  int output_notifications(const std::string& job_id) const {
    absl::MutexLock lock(&mu_);
    const FakeJob* job = FindLocked(job_id);
    return job == nullptr ? 0 : job->notifications;
  }

  // ---------------------------------------------------------------------
  // ProcessHost.

  absl::StatusOr<StartedProcess> Start(
      const ProcessSpec& spec,
      std::shared_ptr<ProcessObserver> observer) override {
    std::optional<ExitInfo> exit_now;
    StartedProcess started;
    {
      absl::MutexLock lock(&mu_);
      attempts_.push_back(spec);
      if (!start_error_.ok()) return start_error_;
      auto rule = program_errors_.find(spec.program);
      if (rule != program_errors_.end()) return rule->second;
      if (observer == nullptr) {
        return absl::InvalidArgumentError("Start: null observer");
      }
      if (jobs_.count(spec.job_id) != 0) {
        return absl::AlreadyExistsError(
            absl::StrCat("job ", spec.job_id, " already started"));
      }
      FakeJob& job = jobs_[spec.job_id];
      job.spec = spec;
      job.pid = next_pid_++;
      job.observer = std::move(observer);
      started_ids_.push_back(spec.job_id);
      started.pid = job.pid;
      exit_now = exit_during_start_;
    }
    if (exit_now.has_value()) Exit(spec.job_id, *exit_now);
    return started;
  }

  absl::Status Terminate(const std::string& job_id) override {
    return Signal(job_id, /*kill=*/false);
  }

  absl::Status Kill(const std::string& job_id) override {
    return Signal(job_id, /*kill=*/true);
  }

  absl::StatusOr<std::string> ReadOutput(const std::string& job_id,
                                         OutputStream stream, int64_t offset,
                                         size_t max_bytes) override {
    std::function<void()> before;
    {
      absl::MutexLock lock(&mu_);
      auto& hooks = before_read_[Index(stream)];
      if (!hooks.empty()) {
        before = std::move(hooks.front());
        hooks.erase(hooks.begin());
      }
    }
    if (before) before();
    absl::MutexLock lock(&mu_);
    ++read_calls_;
    if (!read_error_.ok()) return read_error_;
    const FakeJob* job = FindLocked(job_id);
    if (job == nullptr) return UnknownJob(job_id);
    if (offset < 0) return absl::InvalidArgumentError("negative offset");
    const std::string& data = job->output[Index(stream)];
    if (static_cast<size_t>(offset) >= data.size()) return std::string();
    size_t n = max_bytes;
    if (max_read_bytes_ != 0 && n > max_read_bytes_) n = max_read_bytes_;
    return data.substr(static_cast<size_t>(offset), n);
  }

  absl::StatusOr<int64_t> OutputSize(const std::string& job_id,
                                     OutputStream stream) override {
    std::function<void()> after;
    absl::StatusOr<int64_t> size;
    {
      absl::MutexLock lock(&mu_);
      if (!size_error_.ok()) return size_error_;
      const FakeJob* job = FindLocked(job_id);
      if (job == nullptr) return UnknownJob(job_id);
      size = static_cast<int64_t>(job->output[Index(stream)].size());
      auto& hooks = after_size_[Index(stream)];
      if (!hooks.empty()) {
        after = std::move(hooks.front());
        hooks.erase(hooks.begin());
      }
    }
    if (after) after();
    return size;
  }

  absl::Status WatchOutput(const std::string& job_id) override {
    absl::MutexLock lock(&mu_);
    FakeJob* job = FindLocked(job_id);
    if (job == nullptr) return UnknownJob(job_id);
    ++job->watch_calls;
    if (!watch_error_.ok()) return watch_error_;
    if (!job->ended) job->armed = true;
    return absl::OkStatus();
  }

  absl::Time Now() override {
    absl::MutexLock lock(&mu_);
    return now_;
  }

  // Never runs `fn` on the calling thread: it runs from AdvanceTime/RunReady.
  TimerId RunAfter(absl::Duration delay, std::function<void()> fn) override {
    absl::MutexLock lock(&mu_);
    return AddTimerLocked(delay, std::move(fn));
  }

  void CancelTimer(TimerId id) override {
    absl::MutexLock lock(&mu_);
    ++cancel_calls_;
    for (auto it = timers_.begin(); it != timers_.end(); ++it) {
      if (it->first.second == id) {
        timers_.erase(it);
        return;
      }
    }
  }

 private:
  struct FakeJob {
    ProcessSpec spec;
    int pid = 0;
    std::shared_ptr<ProcessObserver> observer;  // null once ended
    std::string output[2];
    bool ended = false;
    bool armed = false;  // a WatchOutput waits for the next append
    int watch_calls = 0;
    int notifications = 0;
    int terminate_count = 0;
    int kill_count = 0;
  };

  static int Index(OutputStream s) {
    return s == OutputStream::kStdout ? 0 : 1;
  }
  static absl::Status UnknownJob(const std::string& job_id) {
    return absl::NotFoundError(absl::StrCat("no such job: ", job_id));
  }

  FakeJob* FindLocked(const std::string& job_id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    auto it = jobs_.find(job_id);
    return it == jobs_.end() ? nullptr : &it->second;
  }
  const FakeJob* FindLocked(const std::string& job_id) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    auto it = jobs_.find(job_id);
    return it == jobs_.end() ? nullptr : &it->second;
  }

  TimerId AddTimerLocked(absl::Duration delay, std::function<void()> fn)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (delay < absl::ZeroDuration()) delay = absl::ZeroDuration();
    TimerId id = next_timer_id_++;
    timers_.emplace(std::make_pair(now_ + delay, id), std::move(fn));
    return id;
  }

  absl::Status Signal(const std::string& job_id, bool kill) {
    SignalResponse response;
    absl::Status error;
    {
      absl::MutexLock lock(&mu_);
      FakeJob* job = FindLocked(job_id);
      if (job == nullptr) return UnknownJob(job_id);
      if (kill) {
        ++job->kill_count;
        error = kill_error_;
      } else {
        ++job->terminate_count;
        error = terminate_error_;
      }
      if (!error.ok()) return error;
      if (job->ended) return absl::OkStatus();  // the tree is already gone
      response = kill ? on_kill_ : on_terminate_;
      if (response == SignalResponse::kExitLater) {
        const int signal = kill ? kSigKill : kSigTerm;
        AddTimerLocked(absl::ZeroDuration(), [this, job_id, signal] {
          Exit(job_id, ExitInfo::Signaled(signal));
        });
      }
    }
    if (response == SignalResponse::kExitInline) {
      Exit(job_id, ExitInfo::Signaled(kill ? kSigKill : kSigTerm));
    }
    return absl::OkStatus();
  }

  mutable absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
  // Keyed by (due time, id): iteration order is firing order.
  std::map<std::pair<absl::Time, TimerId>, std::function<void()>> timers_
      ABSL_GUARDED_BY(mu_);
  TimerId next_timer_id_ ABSL_GUARDED_BY(mu_) = 1;
  int cancel_calls_ ABSL_GUARDED_BY(mu_) = 0;
  int read_calls_ ABSL_GUARDED_BY(mu_) = 0;
  int next_pid_ ABSL_GUARDED_BY(mu_) = 1000;
  std::map<std::string, FakeJob> jobs_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> started_ids_ ABSL_GUARDED_BY(mu_);
  std::vector<ProcessSpec> attempts_ ABSL_GUARDED_BY(mu_);

  absl::Status start_error_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, absl::Status> program_errors_ ABSL_GUARDED_BY(mu_);
  std::optional<ExitInfo> exit_during_start_ ABSL_GUARDED_BY(mu_);
  SignalResponse on_terminate_ ABSL_GUARDED_BY(mu_) = SignalResponse::kIgnore;
  SignalResponse on_kill_ ABSL_GUARDED_BY(mu_) = SignalResponse::kExitLater;
  absl::Status terminate_error_ ABSL_GUARDED_BY(mu_);
  absl::Status kill_error_ ABSL_GUARDED_BY(mu_);
  absl::Status read_error_ ABSL_GUARDED_BY(mu_);
  absl::Status size_error_ ABSL_GUARDED_BY(mu_);
  absl::Status watch_error_ ABSL_GUARDED_BY(mu_);
  size_t max_read_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<std::function<void()>> before_read_[2] ABSL_GUARDED_BY(mu_);
  std::vector<std::function<void()>> after_size_[2] ABSL_GUARDED_BY(mu_);
};

}  // namespace cmdctl::testing

#endif  // CMDCTL_TESTS_FAKES_FAKE_PROCESS_HOST_H_

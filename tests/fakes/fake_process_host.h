// An in-memory ProcessHost for unit tests (LevelDB's memenv/fault-injection
// Env, in spirit): no process is spawned and no wall clock is read.
//
// The test is the "host thread": it makes jobs produce output
// (AppendOutput), end (Exit) and moves the manual clock (clock().AdvanceTime),
// and the fake calls the observers and timers on the calling thread, never
// while it holds its own lock, so callbacks may call back into the fake.
//
// Faults are ordinary switches, so a test reads as a story:
//
//   FakeProcessHost host;
//   host.SetProgramError("missing", absl::NotFoundError("no such program"));
//   // ... Run("missing") fails with NOT_FOUND and leaves no job.
//
//   host.set_on_terminate(FakeProcessHost::SignalResponse::kIgnore);
//   manager.Stop(...);                          // TERM is sent, it runs on
//   host.clock().AdvanceTime(absl::Seconds(5)); // the grace timer: KILL
//   host.clock().RunReady();                    // the queued exit arrives
//
// Restarts: Crash() drops every observer (the server died; its jobs run
// on, and ends that happen now are kept as the host's record of them);
// a new JobManager over the same fake then Recovers them through Attach.
// LoseEnd() makes a kept end unknowable (Attach reports it LOST).
//
// Output notifications follow the seam's contract strictly: AppendOutput
// calls OnOutput only when an OutputReader::Watch armed it (and disarms it),
// so a test proves that a reader arms before it waits; job(id).watch_calls
// and job(id).notifications show what was armed and delivered.
//
// Thread-safe: every method may be called from any thread. Tests that drive
// one job from several threads must still respect the observer contract
// themselves (no AppendOutput for a job after its Exit); the fake reports
// such misuse by returning false.
#ifndef CMDCTL_TESTS_FAKES_FAKE_PROCESS_HOST_H_
#define CMDCTL_TESTS_FAKES_FAKE_PROCESS_HOST_H_

#include <array>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "domain/process_host.h"
#include "domain/types.h"
#include "tests/fakes/fake_clock.h"

namespace cmdctl::test {

class FakeProcessHost : public ProcessHost {
 public:
  // What a job does when it receives a signal.
  enum class SignalResponse {
    // Keeps running (a process that traps or ignores SIGTERM).
    kIgnore,
    // Ends; its exit is queued as a zero-delay timer, delivered by the next
    // clock().RunReady()/AdvanceTime() (as a real host delivers it on its
    // own thread after the signal call has returned).
    kExitLater,
    // Ends at once: OnEnd is called on the signalling thread before
    // Terminate/Kill returns (the exit racing the stop, won by the exit).
    kExitInline,
  };

  // The exit a signal produces: killed by SIGTERM (15) or SIGKILL (9).
  static constexpr int kSigTerm = 15;
  static constexpr int kSigKill = 9;

  explicit FakeProcessHost(absl::Time start = absl::FromUnixSeconds(1700000000))
      : clock_(start) {}

  // The manual clock behind Now, RunAfter and CancelTimer.
  FakeClock& clock() { return clock_; }

  // ---------------------------------------------------------------------
  // Fault switches and behaviour. An OK status turns a switch off.

  // Every Start fails with `status`.
  void set_start_error(absl::Status status);
  // Start of `program` (exactly as in ProcessSpec::program) fails with
  // `status`; e.g. ("missing", NotFoundError).
  void SetProgramError(const std::string& program, absl::Status status);
  // Start calls observer->OnEnd(exit) before it returns (a job so short it
  // has ended before Start reports it started). nullopt: off (the default).
  void set_exit_during_start(std::optional<ExitInfo> exit);
  // How jobs respond to Terminate (default kIgnore) and Kill (default
  // kExitLater). Terminate ends a job with Signaled(15), Kill with
  // Signaled(9).
  void set_on_terminate(SignalResponse response);
  void set_on_kill(SignalResponse response);
  // Terminate / Kill fail with `status`. The signal is still counted.
  void set_terminate_error(absl::Status status);
  void set_kill_error(absl::Status status);
  // OpenOutput fails with `status` for every job.
  void set_open_error(absl::Status status);
  // OutputReader::Read / Window / Watch fail with `status` for every job
  // (a failed Watch is still counted and arms nothing).
  void set_read_error(absl::Status status);
  void set_window_error(absl::Status status);
  void set_watch_error(absl::Status status);
  // Read returns at most `n` bytes per call, however many were asked for (a
  // short read, as pread may do). 0: no limit (the default).
  void set_max_read_bytes(size_t n);
  // CheckLimits (and so Start with limits) fails with `status` for any
  // non-zero limit.
  void set_limits_error(absl::Status status);
  // Attach / RemoveOutput / Discard fail with `status`.
  void set_attach_error(absl::Status status);
  void set_remove_error(absl::Status status);

  // Runs `fn` once, on the reading thread and without the fake's lock held,
  // just before the next Read of `stream` (any job) reads: a way to make
  // output or an exit land in the middle of a reader's Next().
  void RunOnceBeforeRead(OutputStream stream, std::function<void()> fn);
  // Runs `fn` once, on the calling thread and without the fake's lock held,
  // just after the next Window of `stream` (any job) has been taken: a way to
  // make output land between a reader's size check and its wait.
  void RunOnceAfterWindow(OutputStream stream, std::function<void()> fn);

  // ---------------------------------------------------------------------
  // Driving jobs (the test plays the host's threads).

  // Appends `bytes` to the job's stream and, if a Watch armed the
  // notification, disarms it and calls observer->OnOutput() on this thread
  // (as a one-shot inotify watch does). Returns false (and appends nothing)
  // for a job that has ended; ADD_FAILUREs for an unknown id.
  bool AppendOutput(const std::string& job_id, OutputStream stream,
                    const std::string& bytes);
  // Calls observer->OnOutput() on this thread whether armed or not (the
  // contract allows spurious notifications). False for an ended job.
  bool NotifyOutputSpuriously(const std::string& job_id);
  // Ends the job: calls observer->OnEnd({exit, Now(), usage, oom_killed,
  // the output totals}) on this thread and drops the observer (without an
  // observer, after Crash, the end is kept for Attach). Returns false when
  // the job had already ended (a real host reports an end exactly once);
  // ADD_FAILUREs for an unknown id.
  bool Exit(const std::string& job_id, const ExitInfo& exit,
            const ResourceUsage& usage = {}, bool oom_killed = false);
  // The job's live usage (Stats) from now on.
  void SetUsage(const std::string& job_id, const ResourceUsage& usage);
  // Drops the first `n` bytes of the stream (as the output cap does when the
  // stream passes spec.max_output_bytes, which AppendOutput applies too).
  void DropFront(const std::string& job_id, OutputStream stream, int64_t n);
  // The owner truncated or replaced the stream's file: its reads and
  // windows fail with DATA_LOSS from now on.
  void Tamper(const std::string& job_id, OutputStream stream);

  // The server process died: every observer is dropped without a call.
  void Crash();
  // The host's record of the (kept) end of `job_id` is gone.
  void LoseEnd(const std::string& job_id);

  // ---------------------------------------------------------------------
  // Inspection.

  // One job as the fake sees it now (all zero/false for an unknown id).
  struct JobSnapshot {
    bool known = false;
    std::optional<ProcessSpec> spec;  // the spec it was started with
    int pid = 0;
    int terminate_count = 0;  // Terminate calls
    int kill_count = 0;       // Kill calls
    bool ended = false;
    bool holds_observer = false;  // until OnEnd
    int watch_calls = 0;          // Watch calls (failed ones included)
    bool armed = false;           // a notification is armed now
    int notifications = 0;        // OnOutput calls made
    int attach_count = 0;         // successful Attach calls
    bool released = false;        // Release was called
    bool discarded = false;       // Discard was called
    bool output_removed = false;  // RemoveOutput or Discard removed it
    int64_t dropped[2] = {0, 0};  // bytes dropped from each stream's front
  };
  JobSnapshot job(const std::string& job_id) const ABSL_LOCKS_EXCLUDED(mu_);

  struct Snapshot {
    std::vector<std::string> started_job_ids;  // successful Starts, in order
    std::vector<ProcessSpec> start_attempts;   // every Start call, in order
    int read_calls = 0;
  };
  Snapshot snapshot() const ABSL_LOCKS_EXCLUDED(mu_);

  // ---------------------------------------------------------------------
  // ProcessHost.

  absl::StatusOr<StartedProcess> Start(
      const ProcessSpec& spec,
      std::shared_ptr<ProcessObserver> observer) override;
  absl::StatusOr<std::optional<JobEnd>> Attach(
      const std::string& job_id, const std::string& host_state,
      std::shared_ptr<ProcessObserver> observer) override;
  std::vector<std::string> Leftovers() override;
  void Release(const std::string& job_id) override;
  absl::Status Discard(const std::string& job_id) override;
  absl::Status Terminate(const std::string& job_id) override;
  absl::Status Kill(const std::string& job_id) override;
  absl::StatusOr<LiveStats> Stats(const std::string& job_id) override;
  absl::StatusOr<std::unique_ptr<OutputReader>> OpenOutput(
      const OutputSource& source) override;
  absl::Status RemoveOutput(const std::string& job_id,
                            const std::string& host_state) override;
  absl::Status CheckLimits(const ResourceLimits& limits) override;

  // The host_state the fake gives `job_id`.
  static std::string HostStateOf(const std::string& job_id) {
    return "fake:" + job_id;
  }
  absl::Time Now() override { return clock_.Now(); }
  TimerId RunAfter(absl::Duration delay, std::function<void()> fn) override {
    return clock_.RunAfter(delay, std::move(fn));
  }
  void CancelTimer(TimerId id) override { clock_.CancelTimer(id); }

 private:
  class Reader;
  struct FakeJob {
    ProcessSpec spec;
    int pid = 0;
    std::shared_ptr<ProcessObserver> observer;  // null once ended
    std::string output[2];  // every byte written, from byte 0
    int64_t dropped[2] = {0, 0};
    bool tampered[2] = {false, false};
    ResourceUsage usage;
    std::optional<JobEnd> end;  // its end, once ended (unless lost)
    bool ended = false;
    int attach_count = 0;
    bool released = false;
    bool discarded = false;
    bool output_removed = false;
    bool armed = false;  // a Watch waits for the next append
    int watch_calls = 0;
    int notifications = 0;
    int terminate_count = 0;
    int kill_count = 0;
  };

  // The Reader's operations, by job id; `final` for an ended job's reader.
  absl::StatusOr<StreamWindow> WindowOf(
      const std::string& job_id, OutputStream stream,
      const std::optional<std::array<StreamTotals, 2>>& final);
  absl::StatusOr<ReadResult> ReadOf(
      const std::string& job_id, OutputStream stream, int64_t offset,
      absl::Span<char> buffer,
      const std::optional<std::array<StreamTotals, 2>>& final);
  std::array<StreamTotals, 2> TotalsLocked(const FakeJob& job) const;
  absl::Status WatchOf(const std::string& job_id);

  FakeJob* FindLocked(const std::string& job_id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status Signal(const std::string& job_id, bool kill);
  static std::function<void()> TakeHook(std::vector<std::function<void()>>& q);

  FakeClock clock_;
  mutable absl::Mutex mu_;
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
  absl::Status open_error_ ABSL_GUARDED_BY(mu_);
  absl::Status read_error_ ABSL_GUARDED_BY(mu_);
  absl::Status window_error_ ABSL_GUARDED_BY(mu_);
  absl::Status watch_error_ ABSL_GUARDED_BY(mu_);
  absl::Status limits_error_ ABSL_GUARDED_BY(mu_);
  absl::Status attach_error_ ABSL_GUARDED_BY(mu_);
  absl::Status remove_error_ ABSL_GUARDED_BY(mu_);
  size_t max_read_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<std::function<void()>> before_read_[2] ABSL_GUARDED_BY(mu_);
  std::vector<std::function<void()>> after_window_[2] ABSL_GUARDED_BY(mu_);
};

}  // namespace cmdctl::test

#endif  // CMDCTL_TESTS_FAKES_FAKE_PROCESS_HOST_H_

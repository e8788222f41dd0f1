// One job: its record, its state machine, and the change notifications that
// output readers wait on. Thread-safe.
#ifndef CMDCTL_DOMAIN_JOB_H_
#define CMDCTL_DOMAIN_JOB_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "domain/job_store.h"
#include "domain/process_host.h"
#include "domain/types.h"

namespace cmdctl {

// State machine (SPEC §3):
//
//   RUNNING --OnEnd, no stop requested, exited--> EXITED   (exit_code)
//   RUNNING --OnEnd, no stop requested, signal--> SIGNALED (signal)
//   RUNNING --OnEnd after RequestStop-----------> STOPPED  (as it ended)
//   RUNNING --OnEnd, end lost--------------------> LOST     (codes 0)
//
// A stop is requested by StopProcess or by the job's timeout (then
// timed_out). The OOM kill is a fact of the end (oom_killed), never guessed
// from the exit. The ended states are final: a second OnEnd is ignored,
// RequestStop on an ended job changes nothing. All waiters see one and the
// same final status.
//
// The job keeps its whole record (JobRecord): the status, the host's state
// and the deadlines that must survive a restart (timeout, pending KILL).
class Job final : public ProcessObserver {
 public:
  using WaitId = uint64_t;

  Job(std::string job_id, std::string owner, const ProcessSpec& spec,
      absl::Time started_at);
  // A job taken up from its record (after a restart).
  explicit Job(const JobRecord& record);
  Job(const Job&) = delete;
  Job& operator=(const Job&) = delete;

  const std::string& id() const { return job_id_; }
  const std::string& owner() const { return owner_; }

  // A consistent copy of the record.
  JobStatus Status() const ABSL_LOCKS_EXCLUDED(mu_);
  bool ended() const ABSL_LOCKS_EXCLUDED(mu_);

  // A consistent copy of the whole record.
  JobRecord Record() const ABSL_LOCKS_EXCLUDED(mu_);

  // Records what the host said once it has started the process.
  void SetStarted(const StartedProcess& started) ABSL_LOCKS_EXCLUDED(mu_);
  void SetPid(int pid) ABSL_LOCKS_EXCLUDED(mu_);
  // The job's timeout: it is stopped at started_at + timeout.
  void SetTimeout(absl::Duration timeout) ABSL_LOCKS_EXCLUDED(mu_);

  // Marks the job as stop-requested (by its timeout: also timed_out).
  // Returns true only for the first request on a running job (the caller
  // then sends TERM); false when the job has ended or a stop was already
  // requested.
  bool RequestStop(bool by_timeout = false) ABSL_LOCKS_EXCLUDED(mu_);
  // Notes when a stop under way KILLs the tree (kept in the record, so that
  // a restarted server keeps the appointment). Keeps the earlier of two.
  void SetKillAt(absl::Time at) ABSL_LOCKS_EXCLUDED(mu_);

  // Calls `done` with the final status once the job has ended: at once, on
  // this thread, when it already has; otherwise on the thread that delivers
  // OnEnd. Never called with mu_ held.
  void WhenEnded(std::function<void(const JobStatus&)> done)
      ABSL_LOCKS_EXCLUDED(mu_);

  // Output change tracking. version() grows by one on every OnOutput and on
  // OnEnd. A reader notes the version, reads until caught up, then calls
  // AwaitChange(noted_version, wake):
  //  - returns false (and never calls wake) if the version has already moved
  //    past `seen_version`: the reader must read again;
  //  - otherwise registers `wake`, to be called exactly once, without mu_
  //    held, on the next change, and stores its id in *id.
  // CancelAwait(id) returns true when it removed a pending wake (which will
  // then never be called), false when the wake has been or is being called.
  uint64_t version() const ABSL_LOCKS_EXCLUDED(mu_);
  // The version and ended() read together, atomically.
  std::pair<uint64_t, bool> VersionAndEnded() const ABSL_LOCKS_EXCLUDED(mu_);
  bool AwaitChange(uint64_t seen_version, std::function<void()> wake,
                   WaitId* id) ABSL_LOCKS_EXCLUDED(mu_);
  bool CancelAwait(WaitId id) ABSL_LOCKS_EXCLUDED(mu_);
  // The number of wakes registered now (for tests and metrics).
  size_t PendingWaits() const ABSL_LOCKS_EXCLUDED(mu_);

  // ProcessObserver.
  void OnOutput() override ABSL_LOCKS_EXCLUDED(mu_);
  void OnEnd(const JobEnd& end) override ABSL_LOCKS_EXCLUDED(mu_);

 private:
  // Removes and returns every registered wake.
  std::vector<std::function<void()>> TakeWakesLocked()
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string job_id_;
  const std::string owner_;

  mutable absl::Mutex mu_;
  JobRecord record_ ABSL_GUARDED_BY(mu_);
  uint64_t version_ ABSL_GUARDED_BY(mu_) = 0;
  WaitId next_wait_id_ ABSL_GUARDED_BY(mu_) = 1;
  absl::flat_hash_map<WaitId, std::function<void()>> wakes_
      ABSL_GUARDED_BY(mu_);
  std::vector<std::function<void(const JobStatus&)>> end_waiters_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace cmdctl

#endif  // CMDCTL_DOMAIN_JOB_H_

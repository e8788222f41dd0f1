// The job service the RPC layer calls: validation, authorization, limits
// and quotas, the registry of running jobs, the records (JobStore), the
// stop policy and timeouts, output cursors, restarts and retention, over a
// ProcessHost. Thread-safe; every method may be called from any thread.
//
// Where a job lives: a running job is in the registry (memory) and in the
// store (its record, committed before Run returns); once it has ended and
// its end is committed, it is only in the store, so memory and fds follow
// the running jobs, never the history (SPEC §9).
#ifndef CMDCTL_DOMAIN_JOB_MANAGER_H_
#define CMDCTL_DOMAIN_JOB_MANAGER_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "domain/authorization.h"
#include "domain/job_registry.h"
#include "domain/job_store.h"
#include "domain/output_cursor.h"
#include "domain/process_host.h"
#include "domain/run_request.h"
#include "domain/types.h"

namespace cmdctl {

// Stopping is data (reproc's habit): TERM to the tree, wait up to `grace`,
// then KILL the tree.
struct StopPolicy {
  static constexpr absl::Duration kDefaultGrace = absl::Seconds(5);
  absl::Duration grace = kDefaultGrace;
};

struct JobManagerOptions {
  // StopProcess without a grace period, and timeouts (--stop_grace).
  StopPolicy default_stop;
  // The most bytes one output chunk carries.
  size_t output_chunk_bytes = 32 * 1024;
  // Defaults and ceilings of limits (--default_memory, ...).
  LimitDefaults limit_defaults;
  // Per stream and job; 0: no cap (--max_output_bytes).
  int64_t max_output_bytes = int64_t{1} << 30;
  // Running jobs per identity; 0: no limit (--max_jobs_per_identity).
  size_t max_jobs_per_identity = 1000;
  // How long an ended job's record and output are kept; 0: for ever.
  absl::Duration retention = absl::Hours(168);
};

// One page of ListProcesses.
struct StatusPage {
  std::vector<JobStatus> jobs;  // newest first
  std::string next_page_token;  // empty: no more
};

class JobManager {
 public:
  // `new_job_id` returns a fresh UUIDv4 from a CSPRNG on every call. `host`
  // and `store` must outlive the manager.
  JobManager(ProcessHost* host, JobStore* store,
             std::function<std::string()> new_job_id,
             JobManagerOptions options = {});
  // Host callbacks still under way finish first; later ones do nothing.
  // Running jobs keep running (their records stay RUNNING).
  ~JobManager();
  JobManager(const JobManager&) = delete;
  JobManager& operator=(const JobManager&) = delete;

  // Start-up, before serving: takes up every job whose record says it runs
  // (ProcessHost::Attach): running ones are followed again (their timeouts
  // and pending KILLs rescheduled), ended ones get their end recorded (LOST
  // where the host cannot know it). Jobs the host has state for but no
  // record are discarded. Starts the retention timer. Errors of the store
  // (a database that cannot be read) are returned; a job that cannot be
  // taken up is logged by the caller from the returned count.
  struct Recovery {
    int running = 0;    // followed again
    int ended = 0;      // ended while no server ran (exact or LOST)
    int lost = 0;       // of those, ended LOST
    int discarded = 0;  // leftovers without a record
    int failed = 0;     // could not be taken up (Attach failed)
  };
  absl::StatusOr<Recovery> Recover();

  // Validates (ValidateRunRequest), authorizes (ResolveRunAs), applies the
  // limit defaults (ResolveLimits) and the per-identity quota, starts the
  // process, commits the record and registers the job. On any error no job
  // is registered or recorded and no process is left.
  absl::StatusOr<JobStatus> Run(const Caller& caller, const RunRequest& req);

  // NOT_FOUND for an unknown id or another owner's job (same message).
  absl::StatusOr<JobStatus> GetStatus(const std::string& owner,
                                      const std::string& job_id);

  // A page of `query.owner`'s jobs, newest first. page_size 0 means 100,
  // more than 1000 means 1000, a negative one is INVALID_ARGUMENT.
  absl::StatusOr<StatusPage> List(JobQuery query);

  // Stops the job: TERM to its tree now (first request only), KILL after
  // `grace` (default: options' default_stop.grace) unless it ended. `done` is
  // called exactly once with the final status once the job has ended (at
  // once, on this thread, for an ended job) or with NOT_FOUND /
  // INVALID_ARGUMENT (negative grace). Concurrent stops, and stops racing the
  // job's own exit, all receive the same final status. A later stop with a
  // shorter grace brings the KILL forward.
  void Stop(const std::string& owner, const std::string& job_id,
            std::optional<absl::Duration> grace,
            std::function<void(absl::StatusOr<JobStatus>)> done);

  // A cursor over the job's output as `request` says (ValidateOutputRequest;
  // OUT_OF_RANGE from OutputCursor::Open). NOT_FOUND as GetStatus.
  absl::StatusOr<std::unique_ptr<OutputCursor>> OpenOutput(
      const std::string& owner, const std::string& job_id,
      const OutputRequest& request);

  // Removes an ended job's record and output now. FAILED_PRECONDITION for a
  // running job; NOT_FOUND as GetStatus.
  absl::Status Remove(const std::string& owner, const std::string& job_id);

  // Removes the records and output of jobs that ended more than `retention`
  // ago, at most `batch` of them; returns how many. The manager calls it on
  // a host timer (after Recover); tests call it directly.
  absl::StatusOr<int> SweepRetention(int batch = 64);

  // Stops every running job with `grace` (--stop_jobs_on_exit); `done` is
  // called once all of them have ended.
  void StopAll(absl::Duration grace, std::function<void()> done);

 private:
  // What host callbacks hold instead of the manager: the destructor clears
  // `manager` and waits until no callback uses it (`active`: callbacks may
  // nest, a timer's KILL delivering the job's end, say).
  struct Lifeline {
    absl::Mutex mu;
    JobManager* manager ABSL_GUARDED_BY(mu) = nullptr;
    int active ABSL_GUARDED_BY(mu) = 0;
  };
  // Runs `fn` with the manager if it still lives.
  static void WithManager(const std::shared_ptr<Lifeline>& lifeline,
                          const std::function<void(JobManager&)>& fn);

  // A running job's status with its live usage and output totals.
  JobStatus LiveStatus(const Job& job);
  // The record of an ended job of `owner`; NOT_FOUND as GetStatus.
  absl::StatusOr<JobRecord> EndedRecord(const std::string& owner,
                                        const std::string& job_id);
  // After the job is registered: its end is recorded when it comes; its
  // timeout and any pending KILL are scheduled.
  void Follow(const std::shared_ptr<Job>& job);
  // The job has ended: commit its record, let the host drop its state,
  // take it out of the registry (retried while the store fails).
  void RecordEnd(const std::shared_ptr<Job>& job);
  // A started job whose record could not be committed: Discard it, tried
  // again on a host timer while the host fails.
  void DiscardUnrecorded(const std::string& job_id);
  // Sends TERM (first request) and schedules KILL after `grace`.
  void BeginStop(const std::shared_ptr<Job>& job, absl::Duration grace,
                 bool by_timeout);
  // Schedules the KILL of a job with a stop under way at `at`.
  void ScheduleKill(const std::shared_ptr<Job>& job, absl::Time at);
  void ScheduleRetention(absl::Duration delay);

  ProcessHost* const host_;
  JobStore* const store_;
  const std::function<std::string()> new_job_id_;
  const JobManagerOptions options_;
  const std::shared_ptr<Lifeline> lifeline_;
  JobRegistry registry_;
};

}  // namespace cmdctl

#endif  // CMDCTL_DOMAIN_JOB_MANAGER_H_

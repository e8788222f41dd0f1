// The job service the RPC layer calls: validation, authorization, the
// registry, the stop policy and output cursors, over a ProcessHost.
// Thread-safe; every method may be called from any thread.
#ifndef CMDCTL_DOMAIN_JOB_MANAGER_H_
#define CMDCTL_DOMAIN_JOB_MANAGER_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "domain/authorization.h"
#include "domain/job_registry.h"
#include "domain/output_cursor.h"
#include "domain/process_host.h"
#include "domain/run_request.h"
#include "domain/types.h"

namespace cmdctl {

// Stopping is data (reproc's habit): TERM to the tree, wait up to `grace`,
// then KILL the tree.
struct StopPolicy {
  absl::Duration grace = absl::Seconds(5);
};

struct JobManagerOptions {
  StopPolicy default_stop;
  // The most bytes one output chunk carries.
  size_t output_chunk_bytes = 32 * 1024;
};

class JobManager {
 public:
  // `new_job_id` returns a fresh UUIDv4 from a CSPRNG on every call.
  JobManager(ProcessHost* host, std::function<std::string()> new_job_id,
             JobManagerOptions options = {});

  // Validates (ValidateRunRequest), authorizes (ResolveRunAs), starts
  // the process and registers the job. On any error no job is registered and
  // no process is left.
  absl::StatusOr<JobStatus> Run(const Caller& caller, const RunRequest& req);

  // NOT_FOUND for an unknown id or another owner's job (same message).
  absl::StatusOr<JobStatus> GetStatus(const std::string& owner,
                                      const std::string& job_id);

  // `owner`'s jobs, oldest first.
  std::vector<JobStatus> List(const std::string& owner);

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

  // A cursor at byte 0 of both streams. NOT_FOUND as GetStatus.
  absl::StatusOr<std::unique_ptr<OutputCursor>> OpenOutput(
      const std::string& owner, const std::string& job_id, bool follow);

  // Stops every running job with `grace` (server shutdown); `done` is called
  // once all of them have ended.
  void StopAll(absl::Duration grace, std::function<void()> done);

 private:
  // Sends TERM (first request) and schedules KILL after `grace`.
  void BeginStop(const std::shared_ptr<Job>& job, absl::Duration grace);

  ProcessHost* const host_;
  const std::function<std::string()> new_job_id_;
  const JobManagerOptions options_;
  JobRegistry registry_;
};

}  // namespace cmdctl

#endif  // CMDCTL_DOMAIN_JOB_MANAGER_H_

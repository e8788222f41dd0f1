// The domain's one seam to the operating system (LevelDB's Env, in spirit).
//
// Thread safety: every ProcessHost method may be called from any thread,
// concurrently. ProcessObserver and timer callbacks are invoked on host-owned
// threads, never while the host holds a lock that a ProcessHost method takes,
// so a callback may call back into the host.
//
// Errors are absl::Status values with gRPC's codes; nothing here throws.
#ifndef CMDCTL_DOMAIN_PROCESS_HOST_H_
#define CMDCTL_DOMAIN_PROCESS_HOST_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "domain/types.h"

namespace cmdctl {

// What the host tells the domain about one started process. The domain's Job
// implements it.
class ProcessObserver {
 public:
  virtual ~ProcessObserver() = default;

  // More bytes may now be readable in either output stream. Called on a host
  // thread, never after OnExit has been called. The host owes this call only
  // after ProcessHost::WatchOutput armed it (once per arming; events may be
  // coalesced); it may also call it spuriously.
  virtual void OnOutput() = 0;

  // The job's main process has ended and no process of its tree remains, so
  // its output is final: every byte it wrote is readable. `exit` describes
  // the main process; `at` is when the end was observed. Called exactly once,
  // on a host thread.
  virtual void OnExit(const ExitInfo& exit, absl::Time at) = 0;
};

struct StartedProcess {
  int pid = 0;
};

using TimerId = uint64_t;

class ProcessHost {
 public:
  virtual ~ProcessHost() = default;

  // Starts spec.program as spec.run_as with its output captured from the
  // first byte, and returns once the program has been executed. The host
  // keeps `observer` until it has called observer->OnExit; OnExit may be
  // called before Start returns (a very short job).
  // Fails, leaving no process and no record behind, with:
  //   INVALID_ARGUMENT    unknown user, relative working_dir;
  //   NOT_FOUND           the program does not exist (in PATH);
  //   FAILED_PRECONDITION the program cannot be executed, or working_dir
  //                       cannot be entered;
  //   PERMISSION_DENIED   the host cannot act as run_as (e.g. not root);
  //   RESOURCE_EXHAUSTED  out of processes, fds or disk;
  //   INTERNAL            anything else.
  virtual absl::StatusOr<StartedProcess> Start(
      const ProcessSpec& spec, std::shared_ptr<ProcessObserver> observer) = 0;

  // Sends SIGTERM to every process of the job's tree. OK (a no-op) when the
  // tree is already gone; NOT_FOUND for a job id the host never started.
  virtual absl::Status Terminate(const std::string& job_id) = 0;

  // Sends SIGKILL to every process of the job's tree, including ones that
  // left its session or process group. Same results as Terminate.
  virtual absl::Status Kill(const std::string& job_id) = 0;

  // Reads up to `max_bytes` of a job's stream starting at byte `offset`,
  // without blocking. Returns the bytes there are now (empty: none beyond
  // `offset` yet). Reads never move another reader's position and never slow
  // the job. NOT_FOUND for an unknown job id; INTERNAL for an I/O error.
  virtual absl::StatusOr<std::string> ReadOutput(const std::string& job_id,
                                                 OutputStream stream,
                                                 int64_t offset,
                                                 size_t max_bytes) = 0;

  // The number of bytes stored so far in a job's stream. Errors as
  // ReadOutput.
  virtual absl::StatusOr<int64_t> OutputSize(const std::string& job_id,
                                             OutputStream stream) = 0;

  // Arms a one-shot output notification: after this call, the next time
  // either of the job's streams grows, the host calls observer->OnOutput()
  // (at least) once. Without an armed notification the host need not report
  // output at all, so that a job nobody follows costs nothing per write.
  // A caller that wants to wait arms first, then checks OutputSize (output
  // written before the arming is seen there), then waits for OnOutput.
  // OnOutput may also come spuriously. Cheap and idempotent (arming twice
  // before the output is one arming); OK and a no-op for an ended job (its
  // OnExit is always delivered, armed or not). NOT_FOUND for an unknown job
  // id; RESOURCE_EXHAUSTED when the host is out of notification resources.
  virtual absl::Status WatchOutput(const std::string& job_id) = 0;

  // The current time.
  virtual absl::Time Now() = 0;

  // Runs `fn` once on a host thread after `delay` (zero or negative: as soon
  // as possible, never on the calling thread). Returns an id for CancelTimer.
  virtual TimerId RunAfter(absl::Duration delay, std::function<void()> fn) = 0;

  // Cancels a timer that has not started running; a no-op otherwise. After it
  // returns the timer's fn is not started (it may still be running if it had
  // already started).
  virtual void CancelTimer(TimerId id) = 0;
};

}  // namespace cmdctl

#endif  // CMDCTL_DOMAIN_PROCESS_HOST_H_

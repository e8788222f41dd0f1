// The domain's one seam to the operating system (LevelDB's Env, in spirit).
//
// Thread safety: every ProcessHost method may be called from any thread,
// concurrently. ProcessObserver and timer callbacks are invoked on host-owned
// threads, never while the host holds a lock that a ProcessHost method takes,
// so a callback may call back into the host. An OutputReader is driven by one
// reader at a time (it is not thread-safe) and may outlive nothing: it is
// destroyed before the host.
//
// Errors are absl::Status values with gRPC's codes; nothing here throws.
// Requests reach the host validated by the domain (domain/run_request.h):
// the host does not check them again.
#ifndef CMDCTL_DOMAIN_PROCESS_HOST_H_
#define CMDCTL_DOMAIN_PROCESS_HOST_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "domain/types.h"

namespace cmdctl {

// How a job ended, as the host observed it: one report that carries more
// than the main process's exit.
struct JobEnd {
  static JobEnd Of(const ExitInfo& exit, absl::Time at) {
    JobEnd end;
    end.exit = exit;
    end.at = at;
    return end;
  }
  static JobEnd Lost(absl::Time at) {
    JobEnd end;
    end.lost = true;
    end.at = at;
    return end;
  }

  ExitInfo exit;            // how the job's main process ended, unless `lost`
  bool lost = false;        // it ended, but the host cannot know how
  absl::Time at;            // when the end was observed
  ResourceUsage usage;      // final (zero when lost)
  bool oom_killed = false;  // the kernel's OOM killer killed in its tree
  std::array<StreamTotals, 2> output;  // final, by StreamIndex
};

// What the host tells the domain about one started process. The domain's Job
// implements it.
class ProcessObserver {
 public:
  virtual ~ProcessObserver() = default;

  // More bytes may now be readable in either output stream. Called on a host
  // thread, never after OnEnd has been called. The host owes this call only
  // after an OutputReader::Watch armed it (once per arming; events may be
  // coalesced); it may also call it spuriously.
  virtual void OnOutput() = 0;

  // The job's main process has ended and no process of its tree remains, so
  // its output is final: every byte it wrote is readable. Called exactly
  // once, on a host thread.
  virtual void OnEnd(const JobEnd& end) = 0;
};

struct StartedProcess {
  int pid = 0;
  // What the host needs to find the job again (Attach, OpenOutput,
  // RemoveOutput), possibly in another instance of the host after a
  // restart. Opaque to the domain, which keeps it in the job's record.
  std::string host_state;
};

// A running job's figures now.
struct LiveStats {
  ResourceUsage usage;
  std::array<StreamTotals, 2> output;  // by StreamIndex
};

// Which job's output a reader wants.
struct OutputSource {
  std::string job_id;
  std::string host_state;  // StartedProcess::host_state
  // Unset: a job this host runs now (started or attached). Set: a job that
  // has ended, with its final totals (from its JobEnd): the host opens the
  // stored files afresh for this reader.
  std::optional<std::array<StreamTotals, 2>> ended;
};

// The part of one stream a reader can get now: bytes [start, end) counted
// from the job's first byte.
struct StreamWindow {
  int64_t start = 0;  // the first byte still stored
  int64_t end = 0;    // the number of bytes the job has written
};

// Where a read landed: `size` bytes starting at byte `offset` of the stream.
// `offset` is the requested one unless those bytes are no longer stored;
// then it is the first stored byte after it (the gap shows there).
struct ReadResult {
  int64_t offset = 0;
  size_t size = 0;
};

// One reader's handle on one job's stored output. It owns what reading needs
// (the job's files), so reads take no host-wide lock and look nothing up.
// Reads never move another reader's position and never slow the job.
//
// The stored files are the run-as user's own: if the user truncates or
// replaces one, Window and Read of that stream fail with DATA_LOSS (never
// another file's bytes, never a wait for bytes that will not come).
class OutputReader {
 public:
  virtual ~OutputReader() = default;
  OutputReader() = default;
  OutputReader(const OutputReader&) = delete;
  OutputReader& operator=(const OutputReader&) = delete;

  // The stream's window now. DATA_LOSS as above; INTERNAL or
  // RESOURCE_EXHAUSTED for an I/O error.
  virtual absl::StatusOr<StreamWindow> Window(OutputStream stream) = 0;

  // Copies up to buffer.size() bytes of `stream` starting at byte `offset`
  // (or at the window's start, when `offset` is before it) into `buffer`,
  // without blocking; size 0: nothing beyond `offset` yet. Every byte
  // returned was stored when it was read (a byte the cap drops during the
  // read is not returned). INVALID_ARGUMENT for a negative offset;
  // DATA_LOSS as above; INTERNAL or RESOURCE_EXHAUSTED for an I/O error.
  virtual absl::StatusOr<ReadResult> Read(OutputStream stream, int64_t offset,
                                          absl::Span<char> buffer) = 0;

  // Arms a one-shot output notification: after this call, the next time
  // either of the job's streams grows, the host calls the job's
  // observer->OnOutput() (at least) once. Without an armed notification the
  // host need not report output at all, so that a job nobody follows costs
  // nothing per write. A caller that wants to wait arms first, then checks
  // Window (output written before the arming is seen there), then waits for
  // OnOutput. OnOutput may also come spuriously. Cheap and idempotent
  // (arming twice before the output is one arming); OK and a no-op once the
  // job has ended (its OnEnd is always delivered, armed or not) and for the
  // reader of an ended job. RESOURCE_EXHAUSTED when the host is out of
  // notification resources; INTERNAL for another failure.
  virtual absl::Status Watch() = 0;
};

using TimerId = uint64_t;

class ProcessHost {
 public:
  virtual ~ProcessHost() = default;
  ProcessHost() = default;
  ProcessHost(const ProcessHost&) = delete;
  ProcessHost& operator=(const ProcessHost&) = delete;

  // Starts spec.program as spec.run_as with its output captured from the
  // first byte (the oldest bytes of a stream dropped past
  // spec.max_output_bytes), in a cgroup enforcing spec.limits, and returns
  // once the program has been executed. The host keeps `observer` until it
  // has called observer->OnEnd; OnEnd may be called before Start returns (a
  // very short job). The job runs on if the host (or its process) goes away.
  // Fails, leaving no process, file, cgroup or record behind, with:
  //   INVALID_ARGUMENT    unknown user; arguments and environment too large;
  //   NOT_FOUND           the program does not exist (in PATH);
  //   FAILED_PRECONDITION the program cannot be executed, working_dir
  //                       cannot be entered, the user's output directory
  //                       cannot be made (a symlink planted in its path), a
  //                       limit cannot be enforced here (CheckLimits);
  //   PERMISSION_DENIED   the host cannot act as run_as (e.g. not root);
  //   ALREADY_EXISTS      spec.job_id is already a job of this host;
  //   RESOURCE_EXHAUSTED  out of processes, fds, memory or disk;
  //   DEADLINE_EXCEEDED   the program was not executed in time (an exec
  //                       hanging on a dead network file system);
  //   INTERNAL            anything else.
  virtual absl::StatusOr<StartedProcess> Start(
      const ProcessSpec& spec, std::shared_ptr<ProcessObserver> observer) = 0;

  // Takes up a job that an earlier instance of the host started (after a
  // restart of the server), from the host_state its Start returned. Returns
  // nullopt when the job still runs: the host then treats it as one it
  // started (Terminate, Kill, Stats, OpenOutput, and observer->OnOutput and
  // OnEnd). Returns its end when it ended meanwhile: exact when the host
  // kept a record of that end, JobEnd::Lost otherwise (the host rebooted,
  // the record is missing). INVALID_ARGUMENT for a host_state this host
  // cannot read; ALREADY_EXISTS for a job it already has; RESOURCE_EXHAUSTED
  // or INTERNAL when the kernel refuses what following the job needs.
  virtual absl::StatusOr<std::optional<JobEnd>> Attach(
      const std::string& job_id, const std::string& host_state,
      std::shared_ptr<ProcessObserver> observer) = 0;

  // Job ids the host holds state for (jobs that run or whose end it has not
  // been told was recorded: see Release). After a restart the domain
  // Discards those it has no record of (a crash between Start and the
  // commit of the record).
  virtual std::vector<std::string> Leftovers() = 0;

  // The domain has recorded the end of `job_id`: the host drops what it kept
  // for it (nothing of the output). A no-op for an unknown id.
  virtual void Release(const std::string& job_id) = 0;

  // A job the domain has no record of (its record could not be committed):
  // kills its tree, removes its output and state; its observer, if any, gets
  // no OnEnd. OK for an unknown id; RESOURCE_EXHAUSTED or INTERNAL when the
  // tree cannot be signalled (the host retries the cleanup by itself).
  virtual absl::Status Discard(const std::string& job_id) = 0;

  // Sends SIGTERM to every process of the job's tree. OK (a no-op) when the
  // tree is already gone; NOT_FOUND for a job id the host does not run;
  // INTERNAL or RESOURCE_EXHAUSTED when the tree cannot be signalled.
  virtual absl::Status Terminate(const std::string& job_id) = 0;

  // Sends SIGKILL to every process of the job's tree, including ones that
  // left its session or process group. Same results as Terminate.
  virtual absl::Status Kill(const std::string& job_id) = 0;

  // A running job's usage and output totals now. NOT_FOUND for a job id the
  // host does not run; INTERNAL or RESOURCE_EXHAUSTED for an I/O error.
  virtual absl::StatusOr<LiveStats> Stats(const std::string& job_id) = 0;

  // A reader of a job's stored output. NOT_FOUND for a running job the host
  // does not run (it may have just ended: ask again with `ended`);
  // DATA_LOSS when an ended job's files are gone or were replaced;
  // RESOURCE_EXHAUSTED when out of fds or memory; INTERNAL otherwise.
  virtual absl::StatusOr<std::unique_ptr<OutputReader>> OpenOutput(
      const OutputSource& source) = 0;

  // Removes an ended job's output files and directory, never following a
  // link the user planted. OK when they are already gone; INVALID_ARGUMENT
  // for an unreadable host_state; RESOURCE_EXHAUSTED or INTERNAL otherwise.
  virtual absl::Status RemoveOutput(const std::string& job_id,
                                    const std::string& host_state) = 0;

  // OK when the host can enforce every non-zero limit of `limits`;
  // FAILED_PRECONDITION naming the first controller it lacks otherwise.
  virtual absl::Status CheckLimits(const ResourceLimits& limits) = 0;

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

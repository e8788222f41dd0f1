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

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "domain/types.h"

namespace cmdctl {

// How a job ended, as the host observed it: one report that can carry more
// than the main process's exit.
struct JobEnd {
  static JobEnd Of(const ExitInfo& exit, absl::Time at) {
    return JobEnd{exit, false, at};
  }
  static JobEnd Lost(absl::Time at) { return JobEnd{ExitInfo{}, true, at}; }

  ExitInfo exit;      // how the job's main process ended, unless `lost`
  bool lost = false;  // it ended, but the host cannot know how
  absl::Time at;      // when the end was observed
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
class OutputReader {
 public:
  virtual ~OutputReader() = default;
  OutputReader() = default;
  OutputReader(const OutputReader&) = delete;
  OutputReader& operator=(const OutputReader&) = delete;

  // The stream's window now. INTERNAL or RESOURCE_EXHAUSTED for an I/O
  // error.
  virtual absl::StatusOr<StreamWindow> Window(OutputStream stream) = 0;

  // Copies up to buffer.size() bytes of `stream` starting at byte `offset`
  // into `buffer`, without blocking; size 0: nothing beyond `offset` yet.
  // INVALID_ARGUMENT for a negative offset; INTERNAL or RESOURCE_EXHAUSTED
  // for an I/O error.
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
  // job has ended (its OnEnd is always delivered, armed or not).
  // RESOURCE_EXHAUSTED when the host is out of notification resources;
  // INTERNAL for another failure.
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
  // first byte, and returns once the program has been executed. The host
  // keeps `observer` until it has called observer->OnEnd; OnEnd may be
  // called before Start returns (a very short job).
  // Fails, leaving no process, file, cgroup or record behind, with:
  //   INVALID_ARGUMENT    unknown user; arguments and environment too large;
  //   NOT_FOUND           the program does not exist (in PATH);
  //   FAILED_PRECONDITION the program cannot be executed, working_dir
  //                       cannot be entered, the user's output directory
  //                       cannot be made (a symlink planted in its path);
  //   PERMISSION_DENIED   the host cannot act as run_as (e.g. not root);
  //   ALREADY_EXISTS      spec.job_id is already a job of this host;
  //   RESOURCE_EXHAUSTED  out of processes, fds, memory or disk;
  //   DEADLINE_EXCEEDED   the program was not executed in time (an exec
  //                       hanging on a dead network file system);
  //   INTERNAL            anything else.
  virtual absl::StatusOr<StartedProcess> Start(
      const ProcessSpec& spec, std::shared_ptr<ProcessObserver> observer) = 0;

  // Sends SIGTERM to every process of the job's tree. OK (a no-op) when the
  // tree is already gone; NOT_FOUND for a job id the host never started;
  // INTERNAL or RESOURCE_EXHAUSTED when the tree cannot be signalled.
  virtual absl::Status Terminate(const std::string& job_id) = 0;

  // Sends SIGKILL to every process of the job's tree, including ones that
  // left its session or process group. Same results as Terminate.
  virtual absl::Status Kill(const std::string& job_id) = 0;

  // A reader of the job's stored output. NOT_FOUND for a job id the host
  // never started; RESOURCE_EXHAUSTED when out of fds or memory.
  virtual absl::StatusOr<std::unique_ptr<OutputReader>> OpenOutput(
      const std::string& job_id) = 0;

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

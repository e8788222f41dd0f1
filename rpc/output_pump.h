// The decisions of one GetProcessOutput stream, without gRPC: when to read
// the next chunk, when to wait for the job, when and how the stream ends.
// OutputReactor adapts it to gRPC's ServerWriteReactor; unit tests drive it
// with a fake sink, so this logic also runs under ThreadSanitizer (which
// cannot see through Debian's uninstrumented gRPC).
//
// The rules it keeps:
//  - one write in flight: after SendChunk, nothing more is sent until
//    WriteDone;
//  - EndStream exactly once, never while a write is in flight (a cancel or a
//    shutdown that arrives meanwhile ends the stream at the WriteDone);
//  - a caught-up follower waits for the job's change notification (no
//    thread, no timer); the notification arrives on the host's event-loop
//    thread, which only posts a task to the TaskRunner: the reading resumes
//    on the runner's thread, so a burst of followers never delays the host's
//    exits and timers;
//  - the sink is never called after Detach (the reactor's OnDone), and a
//    late notification or task finds the pump detached and does nothing.
//
// Threads and locks: every method may be called from any thread. The state
// is guarded by the pump's own mutex (one per stream, never shared across
// streams), which is held while the cursor reads (a pread) but never across
// a call into the sink or the runner's task. While a wake is registered
// nobody reads under it, so the host thread that delivers the wake waits for
// no read.
//
// Lifetime: shared. The owner (the reactor) holds it; a wake and a posted
// task hold only a weak reference.
#ifndef CMDCTL_RPC_OUTPUT_PUMP_H_
#define CMDCTL_RPC_OUTPUT_PUMP_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "domain/output_cursor.h"
#include "rpc/worker_pool.h"

namespace cmdctl {

// Where a pump's stream goes (the gRPC reactor; a fake in tests). Called
// without the pump's mutex held.
class OutputSink {
 public:
  virtual ~OutputSink() = default;
  // Sends `chunk`. The pump sends nothing else until its WriteDone.
  virtual void SendChunk(OutputChunk chunk) = 0;
  // Ends the stream with `status` after `bytes_sent` bytes of data. Called
  // exactly once, never while a write is in flight; no SendChunk follows.
  virtual void EndStream(const absl::Status& status, uint64_t bytes_sent) = 0;
};

class OutputPump final : public std::enable_shared_from_this<OutputPump> {
 public:
  // `sink` and `runner` must stay valid until Detach has returned.
  static std::shared_ptr<OutputPump> Create(
      std::unique_ptr<OutputCursor> cursor, OutputSink* sink,
      TaskRunner* runner);

  OutputPump(const OutputPump&) = delete;
  OutputPump& operator=(const OutputPump&) = delete;

  // Begins: sends the first chunk, waits for output, or ends (a finished
  // snapshot, a read error, a shutdown that came first). Call once.
  void Start() ABSL_LOCKS_EXCLUDED(mu_);
  // The write in flight has completed; !ok: the stream is broken (the
  // client went away), and it ends CANCELLED. `sent_data`: the sent chunk's
  // data buffer, if the sink gives it back, for the next read to reuse
  // (OutputCursor::Recycle).
  void WriteDone(bool ok, std::string sent_data = {}) ABSL_LOCKS_EXCLUDED(mu_);
  // The client cancelled: ends CANCELLED "output stream cancelled" once no
  // write is in flight.
  void Cancel() ABSL_LOCKS_EXCLUDED(mu_);
  // Server shutdown: ends UNAVAILABLE "server shutting down" once no write
  // is in flight (this wins over a cancel that has not ended the stream
  // yet). Does not block.
  void Shutdown() ABSL_LOCKS_EXCLUDED(mu_);
  // The sink is going away (it has ended, or it never will be called
  // again): no later call reaches the sink or the runner; a registered wake
  // is cancelled and the cursor is closed, here, on the calling thread.
  void Detach() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  // What to do once the mutex is released.
  struct Step {
    enum class Kind { kNone, kSend, kEnd };
    Kind kind = Kind::kNone;
    OutputSink* sink = nullptr;
    OutputChunk chunk;        // kSend
    absl::Status status;      // kEnd
    uint64_t bytes_sent = 0;  // kEnd
  };

  OutputPump(std::unique_ptr<OutputCursor> cursor, OutputSink* sink,
             TaskRunner* runner);

  // Decides the next step. Reads (non-blocking pread) when it may.
  Step PumpLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Step EndLocked(absl::Status status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // What happened; each event updates the state, then the pump decides.
  enum class Event {
    kStart,
    kWriteDone,
    kWriteFailed,
    kCancel,
    kShutdown,
    kResume,  // on the runner's thread, after a wake
  };
  void Handle(Event event, std::string sent_data = {}) ABSL_LOCKS_EXCLUDED(mu_);
  // Runs `step` without the mutex. After an end the sink may be gone.
  static void Execute(Step step);
  // The job's notification, on the host's thread: posts kResume to the
  // runner.
  void OnWake() ABSL_LOCKS_EXCLUDED(mu_);

  absl::Mutex mu_;
  std::unique_ptr<OutputCursor> cursor_ ABSL_GUARDED_BY(mu_);
  OutputSink* sink_ ABSL_GUARDED_BY(mu_);    // null once detached
  TaskRunner* runner_ ABSL_GUARDED_BY(mu_);  // null once detached
  bool write_in_flight_ ABSL_GUARDED_BY(mu_) = false;
  // A wake is registered or its Resume is queued: nobody reads meanwhile.
  bool waiting_ ABSL_GUARDED_BY(mu_) = false;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  bool shutting_down_ ABSL_GUARDED_BY(mu_) = false;
  bool ended_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t bytes_sent_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace cmdctl

#endif  // CMDCTL_RPC_OUTPUT_PUMP_H_

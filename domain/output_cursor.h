// One reader's position in one job's output (both streams). Not thread-safe:
// one reader drives one cursor (a gRPC reactor, with one write in flight).
// Readers never affect each other or the job: each cursor has its own offsets
// and its own OutputReader (ProcessHost::OpenOutput).
//
// Offsets count from each stream's first byte, for the job's whole life
// (SPEC §6): every chunk carries the offset of its first byte, so a client
// resumes exactly where it was. The output cap drops the oldest bytes; a
// reader that is behind then continues at the first stored byte, and the
// chunk's offset shows the gap.
#ifndef CMDCTL_DOMAIN_OUTPUT_CURSOR_H_
#define CMDCTL_DOMAIN_OUTPUT_CURSOR_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "domain/job.h"
#include "domain/output_budget.h"
#include "domain/process_host.h"
#include "domain/types.h"

namespace cmdctl {

// Where a reader starts and whether it follows (SPEC §3
// ProcessOutputRequest).
struct OutputRequest {
  // true: read until the job has ended and every byte was delivered.
  // false (a snapshot): read what is stored when the cursor is opened, end.
  bool follow = true;
  int64_t stdout_offset = 0;
  int64_t stderr_offset = 0;
  // > 0: start each stream at the beginning of its last N lines instead.
  int64_t tail_lines = 0;
};

// INVALID_ARGUMENT for a negative offset or tail_lines, or offsets together
// with tail_lines.
absl::Status ValidateOutputRequest(const OutputRequest& request);

struct OutputChunk {
  OutputStream stream = OutputStream::kStdout;
  int64_t offset = 0;  // of data's first byte in its stream
  std::string data;    // never empty
};

class OutputCursor {
 public:
  // A cursor over `reader` (the job's output, from ProcessHost::OpenOutput)
  // at the request's offsets. OUT_OF_RANGE when an offset is past the end of
  // a stream of a job that has ended, or past the stored end for a
  // snapshot; a follower of a running job waits for such bytes. Errors of
  // OutputReader::Window and Read as they are. chunk_bytes: the most one
  // chunk carries. The request must be valid (ValidateOutputRequest).
  static absl::StatusOr<std::unique_ptr<OutputCursor>> Open(
      std::shared_ptr<Job> job, std::unique_ptr<OutputReader> reader,
      const OutputRequest& request, size_t chunk_bytes);
  ~OutputCursor();

  // Lets a reader that is behind read more at a time: once a read has
  // filled its whole buffer (more is likely there), the next reads take up
  // to `large_chunk_bytes` while the cursor holds a reservation of that many
  // bytes from `budget` (which must outlive the cursor). Without one, and
  // for a follower that keeps up, chunks stay at most chunk_bytes. The
  // reservation (and the large buffer) is given back when the cursor waits
  // for output (WaitForMore) and when it is destroyed. Call before the
  // first Next; `large_chunk_bytes` <= chunk_bytes: no effect.
  void EnableLargeReads(OutputBudget* budget, size_t large_chunk_bytes);

  // Hands back the data buffer of a chunk that has been sent, so the next
  // read reuses it (no allocation, and no zero-fill of the part it had).
  void Recycle(std::string buffer);
  // Bytes of buffer the cursor keeps between reads (tests): none while it
  // waits, so that idle followers cost no buffer.
  size_t KeptBufferBytes() const { return spare_.capacity(); }

  // Non-blocking. Returns:
  //  - a chunk: deliver it, then call Next again;
  //  - std::nullopt and AtEnd(): the stream is complete (the host's
  //    windows checked once more: an error there is returned instead);
  //  - std::nullopt and !AtEnd(): caught up with a running job; call
  //    WaitForMore.
  // The streams are read alternately, each in order.
  // An error from the host is returned as is (the stream should end with it).
  absl::StatusOr<std::optional<OutputChunk>> Next();
  bool AtEnd() const { return at_end_; }

  // After Next returned nullopt with !AtEnd(): arranges for `wake` to be
  // called once (on a host thread) when more output may have arrived or the
  // job ended. Returns false, without registering, when that has already
  // happened since the last Next (call Next again). No thread and no timer
  // wait on the reader's behalf. It arms the host's output notification
  // (OutputReader::Watch) for this wait only. If the host cannot arm it or
  // tell the output's size, it returns false and the next Next returns that
  // error.
  bool WaitForMore(std::function<void()> wake);

  // Cancels a registered wake. Returns true if it will never be called; false
  // if it has been or is being called. Safe to call when none is registered.
  bool CancelWait();

 private:
  OutputCursor(std::shared_ptr<Job> job, std::unique_ptr<OutputReader> reader,
               bool follow, size_t chunk_bytes);

  // Sets offset_[s] (and limit_[s]) from the request and the window.
  absl::Status Position(int s, const OutputRequest& request, bool ended);
  // The beginning of the last `lines` lines of stream `s`.
  absl::StatusOr<int64_t> TailStart(int s, StreamWindow window, int64_t lines);
  // One search over `window`; nullopt when the cap dropped bytes it read.
  absl::StatusOr<std::optional<int64_t>> TryTailStart(
      int s, const StreamWindow& window, int64_t lines);
  // Reads the next piece of stream `s`; nullopt: nothing new there.
  absl::StatusOr<std::optional<OutputChunk>> ReadStream(int s);
  // How much the next read may take: chunk_bytes_, or the large chunk while
  // the reader is behind and holds (or now gets) a reservation.
  size_t ReadSize(int s);
  // Gives back the reservation and drops the spare buffer.
  void ReleaseBuffers();

  std::shared_ptr<Job> job_;
  std::unique_ptr<OutputReader> reader_;
  bool follow_;
  size_t chunk_bytes_;
  OutputBudget* budget_ = nullptr;  // null: no large reads
  size_t large_bytes_ = 0;
  bool large_held_ = false;          // large_bytes_ reserved from budget_
  bool behind_[2] = {false, false};  // the last read filled its buffer
  std::string spare_;                // a sent chunk's buffer (Recycle)
  int64_t offset_[2] = {0, 0};
  int64_t limit_[2] = {0, 0};  // snapshot only: where each stream ends
  int next_stream_ = 0;        // which stream Next tries first
  uint64_t seen_version_ = 0;
  std::optional<Job::WaitId> wait_id_;
  absl::Status wait_error_;  // from WaitForMore, returned by the next Next
  bool at_end_ = false;
};

}  // namespace cmdctl

#endif  // CMDCTL_DOMAIN_OUTPUT_CURSOR_H_

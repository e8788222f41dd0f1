// One reader's position in one job's output (both streams). Not thread-safe:
// one reader drives one cursor (a gRPC reactor, with one write in flight).
// Readers never affect each other or the job: each cursor has its own offsets
// and its own OutputReader (ProcessHost::OpenOutput).
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
#include "domain/process_host.h"
#include "domain/types.h"

namespace cmdctl {

struct OutputChunk {
  OutputStream stream = OutputStream::kStdout;
  std::string data;  // never empty
};

class OutputCursor {
 public:
  // follow: read until the job has ended and every byte was delivered.
  // snapshot (follow == false): read what is stored when the cursor is made
  // (the windows' ends taken at construction) and end.
  // Errors: those of ProcessHost::OpenOutput and OutputReader::Window.
  // chunk_bytes: the most one chunk carries.
  static absl::StatusOr<std::unique_ptr<OutputCursor>> Open(
      std::shared_ptr<Job> job, ProcessHost* host, bool follow,
      size_t chunk_bytes);

  // Non-blocking. Returns:
  //  - a chunk: deliver it, then call Next again;
  //  - std::nullopt and AtEnd(): the stream is complete;
  //  - std::nullopt and !AtEnd(): caught up with a running job; call
  //    WaitForMore.
  // The streams are read alternately, each in order from byte 0.
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
               bool follow, size_t chunk_bytes, int64_t stdout_limit,
               int64_t stderr_limit);

  // Reads the next piece of stream `s`; empty: nothing new there.
  absl::StatusOr<std::string> ReadStream(int s);

  std::shared_ptr<Job> job_;
  std::unique_ptr<OutputReader> reader_;
  bool follow_;
  size_t chunk_bytes_;
  int64_t offset_[2] = {0, 0};
  int64_t limit_[2];     // snapshot only: bytes to deliver per stream
  int next_stream_ = 0;  // which stream Next tries first
  uint64_t seen_version_ = 0;
  std::optional<Job::WaitId> wait_id_;
  absl::Status wait_error_;  // from WaitForMore, returned by the next Next
  bool at_end_ = false;
};

}  // namespace cmdctl

#endif  // CMDCTL_DOMAIN_OUTPUT_CURSOR_H_

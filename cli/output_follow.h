// Reading a job's output across lost connections (SPEC §6, §7): each
// message says where its bytes belong (`offset`), so a reader that lost its
// connection asks again from exactly the bytes it has written, and none is
// lost or repeated.
#ifndef CMDCTL_CLI_OUTPUT_FOLLOW_H_
#define CMDCTL_CLI_OUTPUT_FOLLOW_H_

#include <array>
#include <cstdint>
#include <functional>
#include <string>

#include "absl/strings/string_view.h"
#include "cli/reconnect.h"
#include "cli/session.h"
#include "cmdctl/v1/cmdctl.pb.h"
#include "grpcpp/support/status.h"

namespace cmdctl::cli {

// Where a reader stands in each of a job's two streams: the offset of the
// next byte it expects. Pure: no I/O.
class OutputPosition {
 public:
  // From the first byte the server has (byte 0, or the first one the output
  // cap kept).
  static OutputPosition FromStart();
  // From the beginning of the last N lines: where that is becomes known
  // with each stream's first message.
  static OutputPosition Unknown();
  // From these offsets (`wait`, `get-output --tail=0`).
  static OutputPosition At(int64_t stdout_offset, int64_t stderr_offset);

  struct Accepted {
    absl::string_view data;  // the new bytes, to write (empty: a repeat)
    // Bytes missing before `data` (dropped by the output cap) that the
    // reader was waiting for; 0 at a stream's first message from the start.
    int64_t gap = 0;
  };
  // A message of `stream` at `offset`: its bytes not seen yet, and the
  // position moves past them.
  Accepted Accept(cmdctl::v1::OutputStream stream, int64_t offset,
                  absl::string_view data);

  bool known(cmdctl::v1::OutputStream stream) const;
  bool all_known() const { return streams_[0].known && streams_[1].known; }
  bool none_known() const { return !streams_[0].known && !streams_[1].known; }
  // The offset of the next expected byte (0 while not known).
  int64_t offset(cmdctl::v1::OutputStream stream) const;
  // Every stream not known yet now reads from its start (a tail that sent
  // nothing for it: it was empty).
  void UnknownFromStart();

 private:
  struct Stream {
    int64_t next = 0;
    bool known = false;
    // `next` is a place the reader stands (it has read up to there, or
    // asked to start there): bytes after it must not go missing silently.
    bool anchored = false;
  };
  static size_t Index(cmdctl::v1::OutputStream stream);
  std::array<Stream, 2> streams_;
};

struct FollowOptions {
  std::string job_id;
  bool follow = true;      // false: what is stored now
  int64_t tail_lines = 0;  // > 0 (with OutputPosition::Unknown): last N lines
  // Say once on stderr when bytes the reader waited for were dropped by the
  // output cap (get-output, run --wait; not wait, which shows nothing).
  bool report_gaps = true;
  ReconnectPolicy reconnect;
};

// Writes new bytes of `stream`; false stops reading (it has reported why).
using OutputWriter =
    std::function<bool(cmdctl::v1::OutputStream stream, absl::string_view)>;

struct FollowResult {
  // OK: the output ended (following: the job has ended and every byte was
  // sent). Otherwise the failure; UNAVAILABLE once reconnecting gave up.
  grpc::Status status;
  bool writer_stopped = false;  // `write` returned false
};

// Reads the job's output from `position` into `write`, resuming after a
// lost connection (reconnect.h) where `position` stands. Blocks.
FollowResult FollowOutput(Session& session, const FollowOptions& options,
                          OutputPosition& position, const OutputWriter& write);

// The line for a gap: "cmdctl: N bytes of the job's stdout were dropped by
// the server's output cap before cmdctl could read them; ...".
std::string GapMessage(cmdctl::v1::OutputStream stream, int64_t bytes);

}  // namespace cmdctl::cli

#endif  // CMDCTL_CLI_OUTPUT_FOLLOW_H_

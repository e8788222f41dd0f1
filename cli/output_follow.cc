#include "cli/output_follow.h"

#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "cli/calls.h"
#include "cli/reconnect.h"
#include "common/file_util.h"
#include "common/units.h"

namespace cmdctl::cli {
namespace {

namespace v1 = ::cmdctl::v1;

constexpr v1::OutputStream kStreams[] = {v1::OUTPUT_STREAM_STDOUT,
                                         v1::OUTPUT_STREAM_STDERR};

// A stream that stayed open this long had a server behind it: losing it
// starts a new reconnect budget even if no message came (a silent job).
constexpr absl::Duration kSteadyCall = absl::Seconds(5);

const char* StreamName(v1::OutputStream stream) {
  return stream == v1::OUTPUT_STREAM_STDERR ? "stderr" : "stdout";
}

// The request that continues from `position`. `discovery`: a tail was asked
// for and only some streams know where it began; a snapshot of the tail
// then finds the others' (the known ones resume from their offsets after).
v1::ProcessOutputRequest NextRequest(const FollowOptions& options,
                                     const OutputPosition& position,
                                     bool* discovery) {
  v1::ProcessOutputRequest request;
  request.set_job_id(options.job_id);
  *discovery = false;
  if (options.tail_lines > 0 && !position.all_known()) {
    *discovery = !position.none_known();
    request.set_tail_lines(options.tail_lines);
    request.set_snapshot(*discovery || !options.follow);
    return request;
  }
  request.set_stdout_offset(position.offset(v1::OUTPUT_STREAM_STDOUT));
  request.set_stderr_offset(position.offset(v1::OUTPUT_STREAM_STDERR));
  request.set_snapshot(!options.follow);
  return request;
}

}  // namespace

OutputPosition OutputPosition::FromStart() {
  OutputPosition position;
  for (Stream& s : position.streams_) s.known = true;
  return position;
}

OutputPosition OutputPosition::Unknown() { return OutputPosition(); }

OutputPosition OutputPosition::At(int64_t stdout_offset,
                                  int64_t stderr_offset) {
  OutputPosition position;
  position.streams_[0] = {stdout_offset, true, true};
  position.streams_[1] = {stderr_offset, true, true};
  return position;
}

size_t OutputPosition::Index(v1::OutputStream stream) {
  return stream == v1::OUTPUT_STREAM_STDERR ? 1 : 0;
}

OutputPosition::Accepted OutputPosition::Accept(v1::OutputStream stream,
                                                int64_t offset,
                                                absl::string_view data) {
  Stream& s = streams_[Index(stream)];
  Accepted accepted;
  if (!s.known || offset > s.next) {
    if (s.known && s.anchored) accepted.gap = offset - s.next;
    s.next = offset;
    s.known = true;
  }
  s.anchored = true;
  const int64_t end = offset + static_cast<int64_t>(data.size());
  if (end <= s.next) return accepted;  // sent before: written already
  accepted.data = data.substr(static_cast<size_t>(s.next - offset));
  s.next = end;
  return accepted;
}

bool OutputPosition::known(v1::OutputStream stream) const {
  return streams_[Index(stream)].known;
}

int64_t OutputPosition::offset(v1::OutputStream stream) const {
  return streams_[Index(stream)].next;
}

void OutputPosition::UnknownFromStart() {
  for (Stream& s : streams_) {
    if (!s.known) s = Stream{0, true, false};
  }
}

std::string GapMessage(v1::OutputStream stream, int64_t bytes) {
  return absl::StrCat(
      "cmdctl: ", bytes, " bytes", bytes >= 1024 ? " (" : "",
      bytes >= 1024 ? FormatByteSize(bytes) : "", bytes >= 1024 ? ")" : "",
      " of the job's ", StreamName(stream),
      " were dropped by the server's output cap (cmdctld "
      "--max_output_bytes) before cmdctl could read them; the output goes "
      "on after them");
}

FollowResult FollowOutput(Session& session, const FollowOptions& options,
                          OutputPosition& position, const OutputWriter& write) {
  Reconnect reconnect(session, options.reconnect);
  bool gap_reported = false;
  for (;;) {
    bool discovery = false;
    const v1::ProcessOutputRequest request =
        NextRequest(options, position, &discovery);
    // In a discovery snapshot, the streams that know their place skip
    // everything: they resume from their offsets next.
    const bool skip[] = {discovery && position.known(kStreams[0]),
                         discovery && position.known(kStreams[1])};
    bool stopped = false;
    const absl::Time started = absl::Now();
    grpc::Status status = StreamOutput(
        session, request, [&](const v1::ProcessOutputResponse& message) {
          reconnect.Progressed();
          const v1::OutputStream stream =
              message.stream() == v1::OUTPUT_STREAM_STDERR
                  ? v1::OUTPUT_STREAM_STDERR
                  : v1::OUTPUT_STREAM_STDOUT;
          if (skip[stream == v1::OUTPUT_STREAM_STDERR ? 1 : 0]) return true;
          OutputPosition::Accepted accepted =
              position.Accept(stream, message.offset(), message.data());
          if (accepted.gap > 0 && options.report_gaps && !gap_reported) {
            gap_reported = true;
            WriteAll(STDERR_FILENO, GapMessage(stream, accepted.gap) + "\n");
          }
          if (accepted.data.empty() || write(stream, accepted.data)) {
            return true;
          }
          stopped = true;
          return false;
        });
    if (stopped) return {status, /*writer_stopped=*/true};
    if (status.ok()) {
      if (!discovery) return {status};
      position.UnknownFromStart();
      continue;
    }
    if (absl::Now() - started >= kSteadyCall) reconnect.Progressed();
    if (!reconnect.ShouldRetry(status)) return {status};
  }
}

}  // namespace cmdctl::cli

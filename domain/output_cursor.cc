#include "domain/output_cursor.h"

#include <algorithm>
#include <utility>

namespace cmdctl {
namespace {

constexpr OutputStream kStreams[2] = {OutputStream::kStdout,
                                      OutputStream::kStderr};

}  // namespace

absl::StatusOr<std::unique_ptr<OutputCursor>> OutputCursor::Open(
    std::shared_ptr<Job> job, ProcessHost* host, bool follow,
    size_t chunk_bytes) {
  absl::StatusOr<std::unique_ptr<OutputReader>> reader =
      host->OpenOutput(job->id());
  if (!reader.ok()) return reader.status();
  int64_t limits[2] = {0, 0};
  if (!follow) {
    for (int s = 0; s < 2; ++s) {
      absl::StatusOr<StreamWindow> window = (*reader)->Window(kStreams[s]);
      if (!window.ok()) return window.status();
      limits[s] = window->end;
    }
  }
  return std::unique_ptr<OutputCursor>(
      new OutputCursor(std::move(job), *std::move(reader), follow,
                       std::max<size_t>(chunk_bytes, 1), limits[0], limits[1]));
}

OutputCursor::OutputCursor(std::shared_ptr<Job> job,
                           std::unique_ptr<OutputReader> reader, bool follow,
                           size_t chunk_bytes, int64_t stdout_limit,
                           int64_t stderr_limit)
    : job_(std::move(job)),
      reader_(std::move(reader)),
      follow_(follow),
      chunk_bytes_(chunk_bytes),
      limit_{stdout_limit, stderr_limit} {}

absl::StatusOr<std::optional<OutputChunk>> OutputCursor::Next() {
  if (at_end_) return std::nullopt;
  CancelWait();  // a wake still registered must not fire after this Next
  if (!wait_error_.ok()) {
    // WaitForMore could not arm or check: the stream ends with that error.
    absl::Status error = std::move(wait_error_);
    wait_error_ = absl::OkStatus();
    return error;
  }
  // Read the version before reading the data: output that lands after the
  // reads below moves the version past it, so WaitForMore cannot miss it.
  const auto [version, ended] = job_->VersionAndEnded();
  for (int i = 0; i < 2; ++i) {
    const int s = (next_stream_ + i) % 2;
    if (!follow_ && offset_[s] >= limit_[s]) continue;
    absl::StatusOr<std::string> data = ReadStream(s);
    if (!data.ok()) return data.status();
    if (data->empty()) {
      // A snapshot stream that shrank (the user truncated it) ends here.
      if (!follow_) limit_[s] = offset_[s];
      continue;
    }
    offset_[s] += static_cast<int64_t>(data->size());
    next_stream_ = 1 - s;  // alternate, so neither stream starves the other
    return OutputChunk{kStreams[s], *std::move(data)};
  }
  // Caught up. A snapshot ends; a follower ends only if the job had already
  // ended before the reads above, which then saw its final output.
  if (!follow_ || ended) {
    at_end_ = true;
    return std::nullopt;
  }
  seen_version_ = version;
  return std::nullopt;
}

absl::StatusOr<std::string> OutputCursor::ReadStream(int s) {
  // One read of up to a chunk; a snapshot never reads past its limit.
  size_t max = chunk_bytes_;
  if (!follow_) {
    max = std::min<size_t>(max, static_cast<size_t>(limit_[s] - offset_[s]));
  }
  std::string data(max, '\0');
  absl::StatusOr<ReadResult> read =
      reader_->Read(kStreams[s], offset_[s], absl::MakeSpan(data));
  if (!read.ok()) return read.status();
  data.resize(read->size);
  return data;
}

bool OutputCursor::WaitForMore(std::function<void()> wake) {
  // The host reports output only while a notification is armed
  // (OutputReader::Watch), so that a job nobody follows costs nothing
  // per write. Nothing written after Next's reads is missed, in this order:
  //  1. Arm. From here on, the next growth of either stream makes the host
  //     call OnOutput, which moves the job's version past seen_version_.
  //  2. Check the sizes. Output written before the arming (after Next's
  //     reads, while no notification was owed) shows here: read again.
  //  3. AwaitChange(seen_version_). Output written after step 1 has moved
  //     the version already (AwaitChange refuses: read again) or will move
  //     it later (the wake registered here runs).
  // The job's end moves the version too, and OnEnd needs no arming.
  const absl::Status armed = reader_->Watch();
  if (!armed.ok()) {
    wait_error_ = armed;
    return false;  // the next Next returns the error
  }
  for (int s = 0; s < 2; ++s) {
    absl::StatusOr<StreamWindow> window = reader_->Window(kStreams[s]);
    if (!window.ok()) {
      wait_error_ = window.status();
      return false;
    }
    if (window->end > offset_[s]) return false;  // written before the arming
  }
  Job::WaitId id = 0;
  if (!job_->AwaitChange(seen_version_, std::move(wake), &id)) return false;
  wait_id_ = id;
  return true;
}

bool OutputCursor::CancelWait() {
  if (!wait_id_) return true;
  const bool removed = job_->CancelAwait(*wait_id_);
  wait_id_.reset();
  return removed;
}

}  // namespace cmdctl

#include "domain/output_cursor.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace cmdctl {
namespace {

constexpr OutputStream kStreams[2] = {OutputStream::kStdout,
                                      OutputStream::kStderr};
constexpr const char* kOffsetNames[2] = {"stdout_offset", "stderr_offset"};

// How much of a stream the tail search reads at a time, backwards.
constexpr size_t kTailBlock = 64 * 1024;

}  // namespace

absl::Status ValidateOutputRequest(const OutputRequest& request) {
  const int64_t offsets[2] = {request.stdout_offset, request.stderr_offset};
  for (int s = 0; s < 2; ++s) {
    if (offsets[s] < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          kOffsetNames[s], " must not be negative, got ", offsets[s]));
    }
  }
  if (request.tail_lines < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "tail_lines must not be negative, got ", request.tail_lines));
  }
  if (request.tail_lines > 0 && (offsets[0] != 0 || offsets[1] != 0)) {
    return absl::InvalidArgumentError(
        "tail_lines cannot be combined with stdout_offset or stderr_offset");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<OutputCursor>> OutputCursor::Open(
    std::shared_ptr<Job> job, std::unique_ptr<OutputReader> reader,
    const OutputRequest& request, size_t chunk_bytes) {
  // Whether the job had ended before the windows are taken: then they are
  // final, and an offset past their end can never be reached.
  const bool ended = job->ended();
  std::unique_ptr<OutputCursor> cursor(
      new OutputCursor(std::move(job), std::move(reader), request.follow,
                       std::max<size_t>(chunk_bytes, 1)));
  for (int s = 0; s < 2; ++s) {
    if (absl::Status placed = cursor->Position(s, request, ended);
        !placed.ok()) {
      return placed;
    }
  }
  return cursor;
}

OutputCursor::OutputCursor(std::shared_ptr<Job> job,
                           std::unique_ptr<OutputReader> reader, bool follow,
                           size_t chunk_bytes)
    : job_(std::move(job)),
      reader_(std::move(reader)),
      follow_(follow),
      chunk_bytes_(chunk_bytes) {}

OutputCursor::~OutputCursor() { ReleaseBuffers(); }

void OutputCursor::EnableLargeReads(OutputBudget* budget,
                                    size_t large_chunk_bytes) {
  if (budget == nullptr || large_chunk_bytes <= chunk_bytes_) return;
  budget_ = budget;
  large_bytes_ = large_chunk_bytes;
}

void OutputCursor::Recycle(std::string buffer) {
  // A large buffer whose reservation has gone back is freed, not kept.
  if (!large_held_ && buffer.capacity() > chunk_bytes_) return;
  spare_ = std::move(buffer);
}

size_t OutputCursor::ReadSize(int s) {
  if (budget_ == nullptr || !behind_[s]) return chunk_bytes_;
  if (!large_held_) large_held_ = budget_->TryReserve(large_bytes_);
  return large_held_ ? large_bytes_ : chunk_bytes_;
}

void OutputCursor::ReleaseBuffers() {
  if (large_held_) {
    budget_->Release(large_bytes_);
    large_held_ = false;
  }
  std::string().swap(spare_);  // (assigning "" would keep the buffer)
}

absl::Status OutputCursor::Position(int s, const OutputRequest& request,
                                    bool ended) {
  absl::StatusOr<StreamWindow> window = reader_->Window(kStreams[s]);
  if (!window.ok()) return window.status();
  limit_[s] = window->end;
  if (request.tail_lines > 0) {
    absl::StatusOr<int64_t> start = TailStart(s, *window, request.tail_lines);
    if (!start.ok()) return start.status();
    offset_[s] = *start;
    return absl::OkStatus();
  }
  const int64_t wanted = s == 0 ? request.stdout_offset : request.stderr_offset;
  if (wanted > window->end && (ended || !follow_)) {
    return absl::OutOfRangeError(
        absl::StrCat(kOffsetNames[s], " ", wanted, " is past the end of the ",
                     s == 0 ? "stdout" : "stderr", " stream (", window->end,
                     " bytes", ended ? ", final)" : " stored now)"));
  }
  offset_[s] = wanted;  // before the window's start: Read starts there
  return absl::OkStatus();
}

absl::StatusOr<int64_t> OutputCursor::TailStart(int s, StreamWindow window,
                                                int64_t lines) {
  // Lines end after '\n'; a final piece without one counts as a line. So
  // the last N lines begin after the N-th '\n' counted backwards from the
  // end, not counting the stream's very last byte. Only the blocks that
  // hold those lines are read.
  for (int attempt = 0;; ++attempt) {
    absl::StatusOr<std::optional<int64_t>> found =
        TryTailStart(s, window, lines);
    if (!found.ok() || found->has_value()) {
      if (!found.ok()) return found.status();
      return **found;
    }
    // The cap dropped bytes we were reading: search the new window. The
    // stream grows by at least the cap between two such moves, so this
    // ends; after a few, the first stored byte is as good an answer.
    absl::StatusOr<StreamWindow> now = reader_->Window(kStreams[s]);
    if (!now.ok()) return now.status();
    if (attempt == 3) return now->start;
    window.start = now->start;
  }
}

absl::StatusOr<std::optional<int64_t>> OutputCursor::TryTailStart(
    int s, const StreamWindow& window, int64_t lines) {
  int64_t pos = window.end - 1;
  int64_t found = 0;
  std::string block;
  while (pos > window.start) {
    const int64_t from =
        std::max(window.start, pos - static_cast<int64_t>(kTailBlock));
    block.resize(static_cast<size_t>(pos - from));
    for (int64_t at = from; at < pos;) {
      const size_t done = static_cast<size_t>(at - from);
      absl::StatusOr<ReadResult> read =
          reader_->Read(kStreams[s], at, absl::MakeSpan(block).subspan(done));
      if (!read.ok()) return read.status();
      if (read->offset != at || read->size == 0) {
        return std::optional<int64_t>();  // dropped meanwhile: start over
      }
      at += static_cast<int64_t>(read->size);
    }
    for (int64_t i = pos - 1; i >= from; --i) {
      if (block[static_cast<size_t>(i - from)] == '\n' && ++found == lines) {
        return std::optional<int64_t>(i + 1);
      }
    }
    pos = from;
  }
  return std::optional<int64_t>(window.start);  // fewer lines: from the start
}

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
    absl::StatusOr<std::optional<OutputChunk>> chunk = ReadStream(s);
    if (!chunk.ok() || !chunk->has_value()) {
      if (!chunk.ok()) return chunk.status();
      continue;
    }
    next_stream_ = 1 - s;  // alternate, so neither stream starves the other
    return chunk;
  }
  // Caught up. A snapshot ends; a follower ends only if the job had already
  // ended before the reads above, which then saw its final output. Before
  // the stream says "complete", the stored output must still be whole: a
  // file its owner truncated ends the stream with the host's error
  // (DATA_LOSS), not with success.
  if (!follow_ || ended) {
    for (OutputStream stream : kStreams) {
      absl::StatusOr<StreamWindow> window = reader_->Window(stream);
      if (!window.ok()) return window.status();
    }
    at_end_ = true;
    return std::nullopt;
  }
  seen_version_ = version;
  return std::nullopt;
}

absl::StatusOr<std::optional<OutputChunk>> OutputCursor::ReadStream(int s) {
  // One read of up to a chunk (a large one while behind, see ReadSize); a
  // snapshot never reads past its limit.
  size_t max = ReadSize(s);
  if (!follow_) {
    max = std::min<size_t>(max, static_cast<size_t>(limit_[s] - offset_[s]));
  }
  OutputChunk chunk;
  chunk.stream = kStreams[s];
  // The last chunk's buffer, when it came back: only the bytes beyond its
  // old size are zero-filled (none after a full chunk), nothing allocated.
  chunk.data = std::move(spare_);
  spare_.clear();
  chunk.data.resize(max);
  absl::StatusOr<ReadResult> read =
      reader_->Read(kStreams[s], offset_[s], absl::MakeSpan(chunk.data));
  if (!read.ok()) return read.status();
  size_t size = read->size;
  // A read that filled the buffer was probably not all there is.
  behind_[s] = size == max;
  if (!follow_) {
    // The window's start may have jumped past the snapshot's end.
    size = read->offset >= limit_[s]
               ? 0
               : std::min<size_t>(
                     size, static_cast<size_t>(limit_[s] - read->offset));
  }
  if (size == 0) {
    spare_ = std::move(chunk.data);
    // A snapshot stream that has nothing more up to its limit ends here.
    if (!follow_) offset_[s] = limit_[s];
    return std::nullopt;
  }
  chunk.offset = read->offset;
  chunk.data.resize(size);
  offset_[s] = read->offset + static_cast<int64_t>(size);
  return std::optional<OutputChunk>(std::move(chunk));
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
  // Caught up: a waiting follower holds no buffer and no reservation, so
  // 1,000 idle followers cost no 32 MiB. (Before the wake is registered,
  // which may call back into the cursor at once on another thread.)
  ReleaseBuffers();
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

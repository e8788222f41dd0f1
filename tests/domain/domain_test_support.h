// Helpers shared by the domain tests: job ids and cursor drains.
#ifndef CMDCTL_TESTS_DOMAIN_DOMAIN_TEST_SUPPORT_H_
#define CMDCTL_TESTS_DOMAIN_DOMAIN_TEST_SUPPORT_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "domain/output_cursor.h"
#include "domain/process_host.h"
#include "domain/uuid.h"

namespace cmdctl::test {

// A deterministic stand-in for the CSPRNG: distinct valid UUIDv4s.
inline std::function<std::string()> SequentialIds() {
  auto counter = std::make_shared<std::atomic<uint32_t>>(0);
  return [counter] {
    const uint32_t n = ++*counter;
    std::array<uint8_t, 16> bytes{};
    bytes[12] = static_cast<uint8_t>(n >> 24);
    bytes[13] = static_cast<uint8_t>(n >> 16);
    bytes[14] = static_cast<uint8_t>(n >> 8);
    bytes[15] = static_cast<uint8_t>(n);
    return FormatUuidV4(bytes);
  };
}

// A cursor over a running job of `host` as `request` says (the way
// JobManager::OpenOutput makes one).
inline absl::StatusOr<std::unique_ptr<OutputCursor>> OpenCursor(
    std::shared_ptr<Job> job, ProcessHost* host, const OutputRequest& request,
    size_t chunk_bytes) {
  absl::StatusOr<std::unique_ptr<OutputReader>> reader =
      host->OpenOutput(OutputSource{job->id(), "", std::nullopt});
  if (!reader.ok()) return reader.status();
  return OutputCursor::Open(std::move(job), *std::move(reader), request,
                            chunk_bytes);
}
inline absl::StatusOr<std::unique_ptr<OutputCursor>> OpenCursor(
    std::shared_ptr<Job> job, ProcessHost* host, bool follow,
    size_t chunk_bytes) {
  OutputRequest request;
  request.follow = follow;
  return OpenCursor(std::move(job), host, request, chunk_bytes);
}

// What a reader received.
struct Received {
  std::string out;  // stdout bytes, in order
  std::string err;  // stderr bytes, in order
  std::vector<OutputChunk> chunks;
  bool at_end = false;
  absl::Status status;  // the first error Next returned, if any
};

// Reads what is there now without waiting: until Next returns nullopt (then
// at_end tells whether the stream is complete) or an error.
inline Received DrainNow(OutputCursor& cursor, Received r = {}) {
  for (;;) {
    absl::StatusOr<std::optional<OutputChunk>> next = cursor.Next();
    if (!next.ok()) {
      r.status = next.status();
      return r;
    }
    if (!next->has_value()) {
      r.at_end = cursor.AtEnd();
      return r;
    }
    OutputChunk& chunk = **next;
    (chunk.stream == OutputStream::kStdout ? r.out : r.err) += chunk.data;
    r.chunks.push_back(std::move(chunk));
  }
}

// Reads to the end, blocking this thread between wakes (for reader threads in
// concurrency tests; the wake comes from whichever thread produces output).
inline Received DrainToEnd(OutputCursor& cursor) {
  Received r;
  for (;;) {
    r = DrainNow(cursor, std::move(r));
    if (!r.status.ok() || r.at_end) return r;
    absl::Notification woken;
    if (cursor.WaitForMore([&woken] { woken.Notify(); })) {
      woken.WaitForNotification();
    }
  }
}

}  // namespace cmdctl::test

#endif  // CMDCTL_TESTS_DOMAIN_DOMAIN_TEST_SUPPORT_H_

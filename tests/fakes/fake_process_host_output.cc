// FakeProcessHost: output readers, windows and reads, and removal of
// output (the rest is fake_process_host.cc).
#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "tests/fakes/fake_process_host.h"

namespace cmdctl::test {
namespace {

int Index(OutputStream s) { return s == OutputStream::kStdout ? 0 : 1; }

absl::Status UnknownJob(const std::string& job_id) {
  return absl::NotFoundError(absl::StrCat("no such job: ", job_id));
}

}  // namespace

// A reader of one fake job: every call goes back to the fake by id. The
// reader of an ended job has the final totals it was opened with.
class FakeProcessHost::Reader final : public OutputReader {
 public:
  Reader(FakeProcessHost* host, std::string job_id,
         std::optional<std::array<StreamTotals, 2>> final)
      : host_(host), job_id_(std::move(job_id)), final_(final) {}
  absl::StatusOr<StreamWindow> Window(OutputStream stream) override {
    return host_->WindowOf(job_id_, stream, final_);
  }
  absl::StatusOr<ReadResult> Read(OutputStream stream, int64_t offset,
                                  absl::Span<char> buffer) override {
    return host_->ReadOf(job_id_, stream, offset, buffer, final_);
  }
  absl::Status Watch() override {
    return final_ ? absl::OkStatus() : host_->WatchOf(job_id_);
  }

 private:
  FakeProcessHost* const host_;
  const std::string job_id_;
  const std::optional<std::array<StreamTotals, 2>> final_;
};

absl::StatusOr<std::unique_ptr<OutputReader>> FakeProcessHost::OpenOutput(
    const OutputSource& source) {
  absl::MutexLock lock(&mu_);
  if (!open_error_.ok()) return open_error_;
  const FakeJob* job = FindLocked(source.job_id);
  if (source.ended) {
    if (job == nullptr || job->output_removed) {
      return absl::DataLossError("the job's output files are gone");
    }
  } else if (job == nullptr || job->released || job->discarded) {
    return UnknownJob(source.job_id);
  }
  return std::unique_ptr<OutputReader>(
      new Reader(this, source.job_id, source.ended));
}

absl::Status FakeProcessHost::RemoveOutput(const std::string& job_id,
                                           const std::string& host_state) {
  absl::MutexLock lock(&mu_);
  if (!remove_error_.ok()) return remove_error_;
  if (host_state != HostStateOf(job_id)) {
    return absl::InvalidArgumentError("RemoveOutput: not this host's state");
  }
  if (FakeJob* job = FindLocked(job_id)) job->output_removed = true;
  return absl::OkStatus();
}

absl::StatusOr<StreamWindow> FakeProcessHost::WindowOf(
    const std::string& job_id, OutputStream stream,
    const std::optional<std::array<StreamTotals, 2>>& final) {
  std::function<void()> after;
  StreamWindow window;
  {
    absl::MutexLock lock(&mu_);
    if (!window_error_.ok()) return window_error_;
    const FakeJob* job = FindLocked(job_id);
    if (job == nullptr) return UnknownJob(job_id);
    const int s = Index(stream);
    if (job->tampered[s]) return absl::DataLossError("output file replaced");
    if (final) {
      window = StreamWindow{(*final)[s].discarded, (*final)[s].written};
    } else {
      window.start = job->dropped[s];
      window.end = static_cast<int64_t>(job->output[s].size());
    }
    after = TakeHook(after_window_[s]);
  }
  if (after) after();
  return window;
}

absl::StatusOr<ReadResult> FakeProcessHost::ReadOf(
    const std::string& job_id, OutputStream stream, int64_t offset,
    absl::Span<char> buffer,
    const std::optional<std::array<StreamTotals, 2>>& final) {
  std::function<void()> before;
  {
    absl::MutexLock lock(&mu_);
    before = TakeHook(before_read_[Index(stream)]);
  }
  if (before) before();
  absl::MutexLock lock(&mu_);
  ++read_calls_;
  if (!read_error_.ok()) return read_error_;
  const FakeJob* job = FindLocked(job_id);
  if (job == nullptr) return UnknownJob(job_id);
  if (offset < 0) return absl::InvalidArgumentError("negative offset");
  const int s = Index(stream);
  if (job->tampered[s]) return absl::DataLossError("output file replaced");
  const std::string& data = job->output[s];
  int64_t end = static_cast<int64_t>(data.size());
  if (final) end = std::min(end, (*final)[s].written);
  ReadResult result{std::max(offset, job->dropped[s]), 0};
  if (result.offset >= end) return result;
  size_t n = std::min(buffer.size(), static_cast<size_t>(end - result.offset));
  if (max_read_bytes_ != 0) n = std::min(n, max_read_bytes_);
  memcpy(buffer.data(), data.data() + result.offset, n);
  result.size = n;
  return result;
}

absl::Status FakeProcessHost::WatchOf(const std::string& job_id) {
  absl::MutexLock lock(&mu_);
  FakeJob* job = FindLocked(job_id);
  if (job == nullptr) return UnknownJob(job_id);
  ++job->watch_calls;
  if (!watch_error_.ok()) return watch_error_;
  if (!job->ended) job->armed = true;
  return absl::OkStatus();
}

}  // namespace cmdctl::test

#include "tests/fakes/fake_process_host.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace cmdctl::test {
namespace {

int Index(OutputStream s) { return s == OutputStream::kStdout ? 0 : 1; }

absl::Status UnknownJob(const std::string& job_id) {
  return absl::NotFoundError(absl::StrCat("no such job: ", job_id));
}

}  // namespace

// A reader of one fake job: every call goes back to the fake by id.
class FakeProcessHost::Reader final : public OutputReader {
 public:
  Reader(FakeProcessHost* host, std::string job_id)
      : host_(host), job_id_(std::move(job_id)) {}
  absl::StatusOr<StreamWindow> Window(OutputStream stream) override {
    return host_->WindowOf(job_id_, stream);
  }
  absl::StatusOr<ReadResult> Read(OutputStream stream, int64_t offset,
                                  absl::Span<char> buffer) override {
    return host_->ReadOf(job_id_, stream, offset, buffer);
  }
  absl::Status Watch() override { return host_->WatchOf(job_id_); }

 private:
  FakeProcessHost* const host_;
  const std::string job_id_;
};

// --- switches ---------------------------------------------------------------

void FakeProcessHost::set_start_error(absl::Status status) {
  absl::MutexLock lock(&mu_);
  start_error_ = std::move(status);
}
void FakeProcessHost::SetProgramError(const std::string& program,
                                      absl::Status status) {
  absl::MutexLock lock(&mu_);
  if (status.ok()) {
    program_errors_.erase(program);
  } else {
    program_errors_[program] = std::move(status);
  }
}
void FakeProcessHost::set_exit_during_start(std::optional<ExitInfo> exit) {
  absl::MutexLock lock(&mu_);
  exit_during_start_ = exit;
}
void FakeProcessHost::set_on_terminate(SignalResponse response) {
  absl::MutexLock lock(&mu_);
  on_terminate_ = response;
}
void FakeProcessHost::set_on_kill(SignalResponse response) {
  absl::MutexLock lock(&mu_);
  on_kill_ = response;
}
void FakeProcessHost::set_terminate_error(absl::Status status) {
  absl::MutexLock lock(&mu_);
  terminate_error_ = std::move(status);
}
void FakeProcessHost::set_kill_error(absl::Status status) {
  absl::MutexLock lock(&mu_);
  kill_error_ = std::move(status);
}
void FakeProcessHost::set_open_error(absl::Status status) {
  absl::MutexLock lock(&mu_);
  open_error_ = std::move(status);
}
void FakeProcessHost::set_read_error(absl::Status status) {
  absl::MutexLock lock(&mu_);
  read_error_ = std::move(status);
}
void FakeProcessHost::set_window_error(absl::Status status) {
  absl::MutexLock lock(&mu_);
  window_error_ = std::move(status);
}
void FakeProcessHost::set_watch_error(absl::Status status) {
  absl::MutexLock lock(&mu_);
  watch_error_ = std::move(status);
}
void FakeProcessHost::set_max_read_bytes(size_t n) {
  absl::MutexLock lock(&mu_);
  max_read_bytes_ = n;
}
void FakeProcessHost::RunOnceBeforeRead(OutputStream stream,
                                        std::function<void()> fn) {
  absl::MutexLock lock(&mu_);
  before_read_[Index(stream)].push_back(std::move(fn));
}
void FakeProcessHost::RunOnceAfterWindow(OutputStream stream,
                                         std::function<void()> fn) {
  absl::MutexLock lock(&mu_);
  after_window_[Index(stream)].push_back(std::move(fn));
}

// --- driving jobs
// -------------------------------------------------------------

bool FakeProcessHost::AppendOutput(const std::string& job_id,
                                   OutputStream stream,
                                   const std::string& bytes) {
  std::shared_ptr<ProcessObserver> observer;
  {
    absl::MutexLock lock(&mu_);
    FakeJob* job = FindLocked(job_id);
    if (job == nullptr) {
      ADD_FAILURE() << "AppendOutput: unknown job " << job_id;
      return false;
    }
    if (job->ended) return false;
    job->output[Index(stream)] += bytes;
    if (!job->armed) return true;
    job->armed = false;
    ++job->notifications;
    observer = job->observer;
  }
  observer->OnOutput();
  return true;
}

bool FakeProcessHost::NotifyOutputSpuriously(const std::string& job_id) {
  std::shared_ptr<ProcessObserver> observer;
  {
    absl::MutexLock lock(&mu_);
    FakeJob* job = FindLocked(job_id);
    if (job == nullptr || job->ended) return false;
    ++job->notifications;
    observer = job->observer;
  }
  observer->OnOutput();
  return true;
}

bool FakeProcessHost::Exit(const std::string& job_id, const ExitInfo& exit) {
  std::shared_ptr<ProcessObserver> observer;
  {
    absl::MutexLock lock(&mu_);
    FakeJob* job = FindLocked(job_id);
    if (job == nullptr) {
      ADD_FAILURE() << "Exit: unknown job " << job_id;
      return false;
    }
    if (job->ended) return false;
    job->ended = true;
    job->armed = false;
    observer = std::move(job->observer);
    job->observer.reset();
  }
  observer->OnEnd(JobEnd::Of(exit, clock_.Now()));
  return true;
}

// --- inspection
// ---------------------------------------------------------------

FakeProcessHost::JobSnapshot FakeProcessHost::job(
    const std::string& job_id) const {
  absl::MutexLock lock(&mu_);
  JobSnapshot s;
  auto it = jobs_.find(job_id);
  if (it == jobs_.end()) return s;
  const FakeJob& job = it->second;
  s.known = true;
  s.spec = job.spec;
  s.pid = job.pid;
  s.terminate_count = job.terminate_count;
  s.kill_count = job.kill_count;
  s.ended = job.ended;
  s.holds_observer = job.observer != nullptr;
  s.watch_calls = job.watch_calls;
  s.armed = job.armed;
  s.notifications = job.notifications;
  return s;
}

FakeProcessHost::Snapshot FakeProcessHost::snapshot() const {
  absl::MutexLock lock(&mu_);
  return Snapshot{started_ids_, attempts_, read_calls_};
}

// --- ProcessHost
// --------------------------------------------------------------

absl::StatusOr<StartedProcess> FakeProcessHost::Start(
    const ProcessSpec& spec, std::shared_ptr<ProcessObserver> observer) {
  std::optional<ExitInfo> exit_now;
  StartedProcess started;
  {
    absl::MutexLock lock(&mu_);
    attempts_.push_back(spec);
    if (!start_error_.ok()) return start_error_;
    auto rule = program_errors_.find(spec.program);
    if (rule != program_errors_.end()) return rule->second;
    if (observer == nullptr) {
      return absl::InvalidArgumentError("Start: null observer");
    }
    if (jobs_.count(spec.job_id) != 0) {
      return absl::AlreadyExistsError(
          absl::StrCat("job ", spec.job_id, " already started"));
    }
    FakeJob& job = jobs_[spec.job_id];
    job.spec = spec;
    job.pid = next_pid_++;
    job.observer = std::move(observer);
    started_ids_.push_back(spec.job_id);
    started.pid = job.pid;
    exit_now = exit_during_start_;
  }
  if (exit_now.has_value()) Exit(spec.job_id, *exit_now);
  return started;
}

absl::Status FakeProcessHost::Terminate(const std::string& job_id) {
  return Signal(job_id, /*kill=*/false);
}

absl::Status FakeProcessHost::Kill(const std::string& job_id) {
  return Signal(job_id, /*kill=*/true);
}

absl::StatusOr<std::unique_ptr<OutputReader>> FakeProcessHost::OpenOutput(
    const std::string& job_id) {
  absl::MutexLock lock(&mu_);
  if (!open_error_.ok()) return open_error_;
  if (FindLocked(job_id) == nullptr) return UnknownJob(job_id);
  return std::unique_ptr<OutputReader>(new Reader(this, job_id));
}

absl::StatusOr<StreamWindow> FakeProcessHost::WindowOf(
    const std::string& job_id, OutputStream stream) {
  std::function<void()> after;
  StreamWindow window;
  {
    absl::MutexLock lock(&mu_);
    if (!window_error_.ok()) return window_error_;
    const FakeJob* job = FindLocked(job_id);
    if (job == nullptr) return UnknownJob(job_id);
    window.end = static_cast<int64_t>(job->output[Index(stream)].size());
    after = TakeHook(after_window_[Index(stream)]);
  }
  if (after) after();
  return window;
}

absl::StatusOr<ReadResult> FakeProcessHost::ReadOf(const std::string& job_id,
                                                   OutputStream stream,
                                                   int64_t offset,
                                                   absl::Span<char> buffer) {
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
  const std::string& data = job->output[Index(stream)];
  ReadResult result{offset, 0};
  if (static_cast<size_t>(offset) >= data.size()) return result;
  size_t n = std::min(buffer.size(), data.size() - offset);
  if (max_read_bytes_ != 0) n = std::min(n, max_read_bytes_);
  memcpy(buffer.data(), data.data() + offset, n);
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

// --- helpers
// ------------------------------------------------------------------

FakeProcessHost::FakeJob* FakeProcessHost::FindLocked(
    const std::string& job_id) {
  auto it = jobs_.find(job_id);
  return it == jobs_.end() ? nullptr : &it->second;
}

std::function<void()> FakeProcessHost::TakeHook(
    std::vector<std::function<void()>>& q) {
  if (q.empty()) return nullptr;
  std::function<void()> fn = std::move(q.front());
  q.erase(q.begin());
  return fn;
}

absl::Status FakeProcessHost::Signal(const std::string& job_id, bool kill) {
  SignalResponse response;
  {
    absl::MutexLock lock(&mu_);
    FakeJob* job = FindLocked(job_id);
    if (job == nullptr) return UnknownJob(job_id);
    absl::Status error;
    if (kill) {
      ++job->kill_count;
      error = kill_error_;
    } else {
      ++job->terminate_count;
      error = terminate_error_;
    }
    if (!error.ok()) return error;
    if (job->ended) return absl::OkStatus();  // the tree is already gone
    response = kill ? on_kill_ : on_terminate_;
  }
  const int signal = kill ? kSigKill : kSigTerm;
  if (response == SignalResponse::kExitLater) {
    clock_.RunAfter(absl::ZeroDuration(), [this, job_id, signal] {
      Exit(job_id, ExitInfo::Signaled(signal));
    });
  } else if (response == SignalResponse::kExitInline) {
    Exit(job_id, ExitInfo::Signaled(signal));
  }
  return absl::OkStatus();
}

}  // namespace cmdctl::test

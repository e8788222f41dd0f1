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
void FakeProcessHost::set_limits_error(absl::Status status) {
  absl::MutexLock lock(&mu_);
  limits_error_ = std::move(status);
}
void FakeProcessHost::set_attach_error(absl::Status status) {
  absl::MutexLock lock(&mu_);
  attach_error_ = std::move(status);
}
void FakeProcessHost::set_remove_error(absl::Status status) {
  absl::MutexLock lock(&mu_);
  remove_error_ = std::move(status);
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
    const int s = Index(stream);
    job->output[s] += bytes;
    const int64_t cap = job->spec.max_output_bytes;
    const int64_t size = static_cast<int64_t>(job->output[s].size());
    if (cap > 0 && size - job->dropped[s] > cap) job->dropped[s] = size - cap;
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

bool FakeProcessHost::Exit(const std::string& job_id, const ExitInfo& exit,
                           const ResourceUsage& usage, bool oom_killed) {
  std::shared_ptr<ProcessObserver> observer;
  JobEnd end = JobEnd::Of(exit, clock_.Now());
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
    job->usage = usage;
    end.usage = usage;
    end.oom_killed = oom_killed;
    end.output = TotalsLocked(*job);
    job->end = end;
    observer = std::move(job->observer);
    job->observer.reset();
  }
  if (observer != nullptr) observer->OnEnd(end);
  return true;
}

void FakeProcessHost::SetUsage(const std::string& job_id,
                               const ResourceUsage& usage) {
  absl::MutexLock lock(&mu_);
  if (FakeJob* job = FindLocked(job_id)) job->usage = usage;
}

void FakeProcessHost::DropFront(const std::string& job_id, OutputStream stream,
                                int64_t n) {
  absl::MutexLock lock(&mu_);
  FakeJob* job = FindLocked(job_id);
  if (job == nullptr) return;
  const int s = Index(stream);
  job->dropped[s] = std::min<int64_t>(
      job->dropped[s] + n, static_cast<int64_t>(job->output[s].size()));
}

void FakeProcessHost::Tamper(const std::string& job_id, OutputStream stream) {
  absl::MutexLock lock(&mu_);
  if (FakeJob* job = FindLocked(job_id)) job->tampered[Index(stream)] = true;
}

void FakeProcessHost::Crash() {
  std::vector<std::shared_ptr<ProcessObserver>> dropped;  // freed unlocked
  absl::MutexLock lock(&mu_);
  for (auto& [id, job] : jobs_) {
    dropped.push_back(std::move(job.observer));
    job.observer.reset();
    job.armed = false;
  }
}

void FakeProcessHost::LoseEnd(const std::string& job_id) {
  absl::MutexLock lock(&mu_);
  if (FakeJob* job = FindLocked(job_id)) job->end.reset();
}

std::array<StreamTotals, 2> FakeProcessHost::TotalsLocked(
    const FakeJob& job) const {
  std::array<StreamTotals, 2> totals;
  for (int s = 0; s < 2; ++s) {
    totals[s].written = static_cast<int64_t>(job.output[s].size());
    totals[s].discarded = job.dropped[s];
  }
  return totals;
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
  s.attach_count = job.attach_count;
  s.released = job.released;
  s.discarded = job.discarded;
  s.output_removed = job.output_removed;
  s.dropped[0] = job.dropped[0];
  s.dropped[1] = job.dropped[1];
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
    if (!limits_error_.ok() && spec.limits != ResourceLimits{}) {
      return limits_error_;
    }
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
    started.host_state = HostStateOf(spec.job_id);
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

absl::StatusOr<std::optional<JobEnd>> FakeProcessHost::Attach(
    const std::string& job_id, const std::string& host_state,
    std::shared_ptr<ProcessObserver> observer) {
  absl::MutexLock lock(&mu_);
  if (!attach_error_.ok()) return attach_error_;
  if (host_state != HostStateOf(job_id)) {
    return absl::InvalidArgumentError("Attach: not this host's state");
  }
  FakeJob* job = FindLocked(job_id);
  if (job == nullptr) {  // the host knows nothing of it
    return std::optional<JobEnd>(JobEnd::Lost(clock_.Now()));
  }
  if (job->discarded) {
    return std::optional<JobEnd>(JobEnd::Lost(clock_.Now()));
  }
  if (!job->ended) {
    if (job->observer != nullptr) {
      return absl::AlreadyExistsError("Attach: job already followed");
    }
    job->observer = std::move(observer);
    ++job->attach_count;
    return std::optional<JobEnd>();
  }
  ++job->attach_count;
  if (job->end.has_value()) return std::optional<JobEnd>(*job->end);
  JobEnd lost = JobEnd::Lost(clock_.Now());
  lost.output = TotalsLocked(*job);
  return std::optional<JobEnd>(lost);
}

std::vector<std::string> FakeProcessHost::Leftovers() {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> ids;
  for (const auto& [id, job] : jobs_) {
    if (!job.released && !job.discarded) ids.push_back(id);
  }
  return ids;
}

void FakeProcessHost::Release(const std::string& job_id) {
  absl::MutexLock lock(&mu_);
  if (FakeJob* job = FindLocked(job_id)) job->released = true;
}

absl::Status FakeProcessHost::Discard(const std::string& job_id) {
  std::shared_ptr<ProcessObserver> dropped;  // freed unlocked, never called
  absl::MutexLock lock(&mu_);
  if (!remove_error_.ok()) return remove_error_;
  FakeJob* job = FindLocked(job_id);
  if (job == nullptr) return absl::OkStatus();
  dropped = std::move(job->observer);
  job->observer.reset();
  job->ended = true;
  job->armed = false;
  job->discarded = true;
  job->released = true;
  job->output_removed = true;
  return absl::OkStatus();
}

absl::StatusOr<LiveStats> FakeProcessHost::Stats(const std::string& job_id) {
  absl::MutexLock lock(&mu_);
  const FakeJob* job = FindLocked(job_id);
  if (job == nullptr || job->released || job->observer == nullptr) {
    return UnknownJob(job_id);
  }
  return LiveStats{job->usage, TotalsLocked(*job)};
}

absl::Status FakeProcessHost::CheckLimits(const ResourceLimits& limits) {
  absl::MutexLock lock(&mu_);
  if (limits == ResourceLimits{}) return absl::OkStatus();
  return limits_error_;
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

#include "domain/job.h"

#include <algorithm>
#include <utility>

namespace cmdctl {

Job::Job(std::string job_id, std::string owner, const ProcessSpec& spec,
         absl::Time started_at)
    : job_id_(std::move(job_id)), owner_(std::move(owner)) {
  JobStatus& s = record_.status;
  s.job_id = job_id_;
  s.owner = owner_;
  s.run_as = spec.run_as;
  s.command = spec.program;
  s.args = spec.args;
  s.state = JobState::kRunning;
  s.started_at = started_at;
  s.limits = spec.limits;
}

Job::Job(const JobRecord& record)
    : job_id_(record.status.job_id),
      owner_(record.status.owner),
      record_(record) {}

JobStatus Job::Status() const {
  absl::MutexLock lock(&mu_);
  return record_.status;
}

JobRecord Job::Record() const {
  absl::MutexLock lock(&mu_);
  return record_;
}

bool Job::ended() const {
  absl::MutexLock lock(&mu_);
  return record_.status.state != JobState::kRunning;
}

void Job::SetStarted(const StartedProcess& started) {
  absl::MutexLock lock(&mu_);
  record_.status.pid = started.pid;
  record_.host_state = started.host_state;
}

void Job::SetPid(int pid) {
  absl::MutexLock lock(&mu_);
  record_.status.pid = pid;
}

void Job::SetTimeout(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  record_.status.timeout = timeout;
  record_.timeout_at = timeout > absl::ZeroDuration()
                           ? record_.status.started_at + timeout
                           : absl::InfiniteFuture();
}

bool Job::RequestStop(bool by_timeout) {
  absl::MutexLock lock(&mu_);
  JobStatus& s = record_.status;
  if (s.state != JobState::kRunning || s.stop_requested) return false;
  s.stop_requested = true;
  s.timed_out = by_timeout;
  return true;
}

void Job::SetKillAt(absl::Time at) {
  absl::MutexLock lock(&mu_);
  record_.kill_at = std::min(record_.kill_at, at);
}

void Job::WhenEnded(std::function<void(const JobStatus&)> done) {
  JobStatus final_status;
  {
    absl::MutexLock lock(&mu_);
    if (record_.status.state == JobState::kRunning) {
      end_waiters_.push_back(std::move(done));
      return;
    }
    final_status = record_.status;
  }
  done(final_status);
}

uint64_t Job::version() const {
  absl::MutexLock lock(&mu_);
  return version_;
}

std::pair<uint64_t, bool> Job::VersionAndEnded() const {
  absl::MutexLock lock(&mu_);
  return {version_, record_.status.state != JobState::kRunning};
}

bool Job::AwaitChange(uint64_t seen_version, std::function<void()> wake,
                      WaitId* id) {
  absl::MutexLock lock(&mu_);
  if (version_ != seen_version) return false;
  const WaitId wait_id = next_wait_id_++;
  wakes_.emplace(wait_id, std::move(wake));
  *id = wait_id;
  return true;
}

bool Job::CancelAwait(WaitId id) {
  absl::MutexLock lock(&mu_);
  return wakes_.erase(id) > 0;
}

size_t Job::PendingWaits() const {
  absl::MutexLock lock(&mu_);
  return wakes_.size();
}

std::vector<std::function<void()>> Job::TakeWakesLocked() {
  std::vector<std::function<void()>> wakes;
  wakes.reserve(wakes_.size());
  for (auto& [id, wake] : wakes_) wakes.push_back(std::move(wake));
  wakes_.clear();
  return wakes;
}

void Job::OnOutput() {
  std::vector<std::function<void()>> wakes;
  {
    absl::MutexLock lock(&mu_);
    ++version_;
    wakes = TakeWakesLocked();
  }
  for (auto& wake : wakes) wake();
}

void Job::OnEnd(const JobEnd& end) {
  const ExitInfo& exit = end.exit;
  std::vector<std::function<void()>> wakes;
  std::vector<std::function<void(const JobStatus&)>> end_waiters;
  JobStatus final_status;
  {
    absl::MutexLock lock(&mu_);
    JobStatus& s = record_.status;
    if (s.state != JobState::kRunning) return;  // final states stay
    if (end.lost) {
      s.state = JobState::kLost;
    } else if (s.stop_requested) {
      s.state = JobState::kStopped;
    } else {
      s.state = exit.signaled ? JobState::kSignaled : JobState::kExited;
    }
    s.exit_code = end.lost || exit.signaled ? 0 : exit.exit_code;
    s.signal = !end.lost && exit.signaled ? exit.signal : 0;
    s.ended_at = end.at;
    s.usage = end.usage;
    s.oom_killed = !end.lost && end.oom_killed;
    s.output = end.output;  // for a lost end: what the host could still see
    record_.kill_at = absl::InfiniteFuture();
    ++version_;
    wakes = TakeWakesLocked();
    end_waiters.swap(end_waiters_);
    final_status = s;
  }
  for (auto& wake : wakes) wake();
  for (auto& done : end_waiters) done(final_status);
}

}  // namespace cmdctl

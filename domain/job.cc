#include "domain/job.h"

#include <utility>

namespace cmdctl {

Job::Job(std::string job_id, std::string owner, const ProcessSpec& spec,
         absl::Time started_at)
    : job_id_(std::move(job_id)), owner_(std::move(owner)) {
  status_.job_id = job_id_;
  status_.owner = owner_;
  status_.run_as = spec.run_as;
  status_.command = spec.program;
  status_.args = spec.args;
  status_.state = JobState::kRunning;
  status_.started_at = started_at;
}

JobStatus Job::Status() const {
  absl::MutexLock lock(&mu_);
  return status_;
}

bool Job::ended() const {
  absl::MutexLock lock(&mu_);
  return status_.state != JobState::kRunning;
}

void Job::SetPid(int pid) {
  absl::MutexLock lock(&mu_);
  status_.pid = pid;
}

bool Job::RequestStop() {
  absl::MutexLock lock(&mu_);
  if (status_.state != JobState::kRunning || status_.stop_requested) {
    return false;
  }
  status_.stop_requested = true;
  return true;
}

void Job::WhenEnded(std::function<void(const JobStatus&)> done) {
  JobStatus final_status;
  {
    absl::MutexLock lock(&mu_);
    if (status_.state == JobState::kRunning) {
      end_waiters_.push_back(std::move(done));
      return;
    }
    final_status = status_;
  }
  done(final_status);
}

uint64_t Job::version() const {
  absl::MutexLock lock(&mu_);
  return version_;
}

std::pair<uint64_t, bool> Job::VersionAndEnded() const {
  absl::MutexLock lock(&mu_);
  return {version_, status_.state != JobState::kRunning};
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
    if (status_.state != JobState::kRunning) return;  // final states stay
    if (end.lost) {
      status_.state = JobState::kLost;
    } else if (status_.stop_requested) {
      status_.state = JobState::kStopped;
    } else {
      status_.state = exit.signaled ? JobState::kSignaled : JobState::kExited;
    }
    status_.exit_code = end.lost || exit.signaled ? 0 : exit.exit_code;
    status_.signal = !end.lost && exit.signaled ? exit.signal : 0;
    status_.ended_at = end.at;
    ++version_;
    wakes = TakeWakesLocked();
    end_waiters.swap(end_waiters_);
    final_status = status_;
  }
  for (auto& wake : wakes) wake();
  for (auto& done : end_waiters) done(final_status);
}

}  // namespace cmdctl

#include "domain/job_registry.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace cmdctl {

absl::Status JobRegistry::Reserve(const std::string& job_id,
                                  const std::string& owner,
                                  size_t max_per_owner) {
  absl::MutexLock lock(&mu_);
  if (by_id_.contains(job_id)) {
    return absl::AlreadyExistsError(
        absl::StrCat("job id ", job_id, " is already taken"));
  }
  size_t& count = per_owner_[owner];
  if (max_per_owner > 0 && count >= max_per_owner) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "too many running jobs: ", count, " of at most ", max_per_owner,
        " per identity (--max_jobs_per_identity); stop or wait for some"));
  }
  ++count;
  by_id_.emplace(job_id, Entry{owner, nullptr});
  return absl::OkStatus();
}

void JobRegistry::Unreserve(const std::string& job_id) {
  absl::MutexLock lock(&mu_);
  auto it = by_id_.find(job_id);
  if (it == by_id_.end() || it->second.job != nullptr) return;
  if (--per_owner_[it->second.owner] == 0) per_owner_.erase(it->second.owner);
  by_id_.erase(it);
}

absl::Status JobRegistry::Add(std::shared_ptr<Job> job) {
  absl::MutexLock lock(&mu_);
  auto [it, inserted] =
      by_id_.try_emplace(job->id(), Entry{job->owner(), nullptr});
  if (it->second.job != nullptr) {
    return absl::AlreadyExistsError(
        absl::StrCat("job id ", job->id(), " is already taken"));
  }
  if (inserted) ++per_owner_[job->owner()];  // not claimed before (restore)
  it->second.job = std::move(job);
  return absl::OkStatus();
}

void JobRegistry::Remove(const std::string& job_id) {
  absl::MutexLock lock(&mu_);
  auto it = by_id_.find(job_id);
  if (it == by_id_.end() || it->second.job == nullptr) return;
  if (--per_owner_[it->second.owner] == 0) per_owner_.erase(it->second.owner);
  by_id_.erase(it);
}

absl::StatusOr<std::shared_ptr<Job>> JobRegistry::Find(
    const std::string& owner, const std::string& job_id) const {
  absl::MutexLock lock(&mu_);
  auto it = by_id_.find(job_id);
  // Another owner's job is indistinguishable from one that never existed.
  if (it == by_id_.end() || it->second.job == nullptr ||
      it->second.owner != owner) {
    return absl::NotFoundError(absl::StrCat("job ", job_id, " not found"));
  }
  return it->second.job;
}

std::shared_ptr<Job> JobRegistry::FindAny(const std::string& job_id) const {
  absl::MutexLock lock(&mu_);
  auto it = by_id_.find(job_id);
  return it == by_id_.end() ? nullptr : it->second.job;
}

size_t JobRegistry::Count(const std::string& owner) const {
  absl::MutexLock lock(&mu_);
  auto it = per_owner_.find(owner);
  return it == per_owner_.end() ? 0 : it->second;
}

std::vector<std::shared_ptr<Job>> JobRegistry::All() const {
  absl::MutexLock lock(&mu_);
  std::vector<std::shared_ptr<Job>> all;
  all.reserve(by_id_.size());
  for (const auto& [id, entry] : by_id_) {
    if (entry.job != nullptr) all.push_back(entry.job);
  }
  return all;
}

}  // namespace cmdctl

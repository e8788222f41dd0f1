#include "domain/job_registry.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace cmdctl {

absl::Status JobRegistry::Reserve(const std::string& job_id) {
  absl::MutexLock lock(&mu_);
  if (!by_id_.emplace(job_id, nullptr).second) {
    return absl::AlreadyExistsError(
        absl::StrCat("job id ", job_id, " is already taken"));
  }
  return absl::OkStatus();
}

void JobRegistry::Unreserve(const std::string& job_id) {
  absl::MutexLock lock(&mu_);
  auto it = by_id_.find(job_id);
  if (it != by_id_.end() && it->second == nullptr) by_id_.erase(it);
}

absl::Status JobRegistry::Add(std::shared_ptr<Job> job) {
  absl::MutexLock lock(&mu_);
  std::shared_ptr<Job>& slot = by_id_[job->id()];
  if (slot != nullptr) {
    return absl::AlreadyExistsError(
        absl::StrCat("job id ", job->id(), " is already taken"));
  }
  by_owner_[job->owner()].push_back(job);
  slot = std::move(job);
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<Job>> JobRegistry::Find(
    const std::string& owner, const std::string& job_id) const {
  absl::MutexLock lock(&mu_);
  auto it = by_id_.find(job_id);
  // Another owner's job is indistinguishable from one that never existed.
  if (it == by_id_.end() || it->second == nullptr ||
      it->second->owner() != owner) {
    return absl::NotFoundError(absl::StrCat("job ", job_id, " not found"));
  }
  return it->second;
}

std::vector<std::shared_ptr<Job>> JobRegistry::ListByOwner(
    const std::string& owner) const {
  absl::MutexLock lock(&mu_);
  auto it = by_owner_.find(owner);
  if (it == by_owner_.end()) return {};
  return it->second;
}

std::vector<std::shared_ptr<Job>> JobRegistry::All() const {
  absl::MutexLock lock(&mu_);
  std::vector<std::shared_ptr<Job>> all;
  all.reserve(by_id_.size());
  for (const auto& [id, job] : by_id_) {
    if (job != nullptr) all.push_back(job);
  }
  return all;
}

}  // namespace cmdctl

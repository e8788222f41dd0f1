#include "tests/fakes/fake_job_store.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "job_store/list_order.h"

namespace cmdctl::test {
namespace {

using ::cmdctl::store::ListKey;

// Keeps what the database keeps: nanoseconds (list_order.h).
absl::Time Stored(absl::Time t) {
  return store::NanosToTime(store::TimeToNanos(t));
}
absl::Duration Stored(absl::Duration d) {
  return store::NanosToDuration(store::DurationToNanos(d));
}

JobRecord Stored(JobRecord record) {
  JobStatus& s = record.status;
  s.started_at = Stored(s.started_at);
  s.ended_at = Stored(s.ended_at);
  s.timeout = Stored(s.timeout);
  s.usage.cpu_user = Stored(s.usage.cpu_user);
  s.usage.cpu_system = Stored(s.usage.cpu_system);
  record.timeout_at = Stored(record.timeout_at);
  record.kill_at = Stored(record.kill_at);
  return record;
}

ListKey KeyOf(const JobRecord& record) {
  return ListKey{store::TimeToNanos(record.status.started_at),
                 record.status.job_id};
}

absl::Status NotFound(const std::string& job_id) {
  return absl::NotFoundError(absl::StrCat("no record of job ", job_id));
}

}  // namespace

void FakeJobStore::Set(Method method, absl::Status status) {
  absl::MutexLock lock(&mu_);
  errors_[method] = std::move(status);
}

absl::Status FakeJobStore::Enter(Method method) {
  ++calls_[method];
  return errors_[method];
}

FakeJobStore::CallCounts FakeJobStore::calls() const {
  absl::MutexLock lock(&mu_);
  return CallCounts{calls_[kInsert],      calls_[kUpdate], calls_[kGet],
                    calls_[kLoadRunning], calls_[kList],   calls_[kEndedBefore],
                    calls_[kDelete]};
}

std::map<std::string, JobRecord> FakeJobStore::records() const {
  absl::MutexLock lock(&mu_);
  return records_;
}

absl::Status FakeJobStore::Insert(const JobRecord& record) {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = Enter(kInsert); !s.ok()) return s;
  const bool inserted =
      records_.emplace(record.status.job_id, Stored(record)).second;
  if (!inserted) {
    return absl::AlreadyExistsError(
        absl::StrCat("job ", record.status.job_id, " already has a record"));
  }
  return absl::OkStatus();
}

void FakeJobStore::set_before_update(
    std::function<void(const JobRecord&)> hook) {
  absl::MutexLock lock(&mu_);
  before_update_ = std::move(hook);
}

absl::Status FakeJobStore::Update(const JobRecord& record) {
  std::function<void(const JobRecord&)> hook;
  {
    absl::MutexLock lock(&mu_);
    hook = before_update_;
  }
  if (hook) hook(record);
  absl::MutexLock lock(&mu_);
  if (absl::Status s = Enter(kUpdate); !s.ok()) return s;
  auto it = records_.find(record.status.job_id);
  if (it == records_.end()) return NotFound(record.status.job_id);
  it->second = Stored(record);
  return absl::OkStatus();
}

absl::StatusOr<JobRecord> FakeJobStore::Get(const std::string& job_id) {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = Enter(kGet); !s.ok()) return s;
  auto it = records_.find(job_id);
  if (it == records_.end()) return NotFound(job_id);
  return it->second;
}

absl::StatusOr<std::vector<JobRecord>> FakeJobStore::LoadRunning() {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = Enter(kLoadRunning); !s.ok()) return s;
  std::vector<JobRecord> running;
  for (const auto& [id, record] : records_) {
    if (record.status.state == JobState::kRunning) running.push_back(record);
  }
  return running;
}

absl::StatusOr<JobPage> FakeJobStore::List(const JobQuery& query) {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = Enter(kList); !s.ok()) return s;
  absl::StatusOr<int> page_size = store::ResolvePageSize(query.page_size);
  if (!page_size.ok()) return page_size.status();
  std::optional<ListKey> after;
  if (!query.page_token.empty()) {
    absl::StatusOr<ListKey> key = store::DecodePageToken(query.page_token);
    if (!key.ok()) return key.status();
    after = *std::move(key);
  }
  std::vector<const JobRecord*> matching;
  for (const auto& [id, record] : records_) {
    const JobStatus& s = record.status;
    if (s.owner != query.owner ||
        (query.state.has_value() && s.state != *query.state) ||
        !absl::StartsWith(s.job_id, query.job_id_prefix) ||
        (after.has_value() && !store::ListedBefore(*after, KeyOf(record)))) {
      continue;
    }
    matching.push_back(&record);
  }
  std::sort(matching.begin(), matching.end(),
            [](const JobRecord* a, const JobRecord* b) {
              return store::ListedBefore(KeyOf(*a), KeyOf(*b));
            });
  JobPage page;
  for (const JobRecord* record : matching) {
    if (static_cast<int>(page.records.size()) == *page_size) {
      page.next_page_token = store::EncodePageToken(KeyOf(page.records.back()));
      break;
    }
    page.records.push_back(*record);
  }
  return page;
}

absl::StatusOr<std::vector<JobRecord>> FakeJobStore::EndedBefore(
    absl::Time cutoff, int limit) {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = Enter(kEndedBefore); !s.ok()) return s;
  if (limit <= 0) return std::vector<JobRecord>();
  std::vector<JobRecord> ended;
  for (const auto& [id, record] : records_) {
    if (record.status.state != JobState::kRunning &&
        store::TimeToNanos(record.status.ended_at) <
            store::TimeToNanos(cutoff)) {
      ended.push_back(record);
    }
  }
  // Oldest end first; ties by id (the map's order, kept by stable_sort).
  std::stable_sort(ended.begin(), ended.end(),
                   [](const JobRecord& a, const JobRecord& b) {
                     return a.status.ended_at < b.status.ended_at;
                   });
  if (static_cast<int>(ended.size()) > limit) ended.resize(limit);
  return ended;
}

absl::Status FakeJobStore::Delete(const std::string& job_id) {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = Enter(kDelete); !s.ok()) return s;
  if (records_.erase(job_id) == 0) return NotFound(job_id);
  return absl::OkStatus();
}

}  // namespace cmdctl::test

#include "domain/job_manager.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace cmdctl {
namespace {

constexpr int kDefaultPageSize = 100;
constexpr int kMaxPageSize = 1000;

// One message for an id that never existed and another owner's job.
absl::Status NotFound(const std::string& job_id) {
  return absl::NotFoundError(absl::StrCat("job ", job_id, " not found"));
}

}  // namespace

JobManager::JobManager(ProcessHost* host, JobStore* store,
                       std::function<std::string()> new_job_id,
                       JobManagerOptions options)
    : host_(host),
      store_(store),
      new_job_id_(std::move(new_job_id)),
      options_(options),
      lifeline_(std::make_shared<Lifeline>()) {
  absl::MutexLock lock(&lifeline_->mu);
  lifeline_->manager = this;
}

JobManager::~JobManager() {
  absl::MutexLock lock(&lifeline_->mu);
  lifeline_->manager = nullptr;
  Lifeline* l = lifeline_.get();
  auto idle = [l]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(l->mu) {
    return l->active == 0;
  };
  lifeline_->mu.Await(absl::Condition(&idle));  // callbacks under way end
}

void JobManager::WithManager(const std::shared_ptr<Lifeline>& lifeline,
                             const std::function<void(JobManager&)>& fn) {
  JobManager* manager;
  {
    absl::MutexLock lock(&lifeline->mu);
    manager = lifeline->manager;
    if (manager == nullptr) return;
    ++lifeline->active;
  }
  fn(*manager);
  absl::MutexLock lock(&lifeline->mu);
  --lifeline->active;
}

absl::StatusOr<JobStatus> JobManager::Run(const Caller& caller,
                                          const RunRequest& req) {
  if (absl::Status valid = ValidateRunRequest(req); !valid.ok()) return valid;
  absl::StatusOr<std::string> run_as = ResolveRunAs(caller, req.run_as);
  if (!run_as.ok()) return run_as.status();
  absl::StatusOr<ResourceLimits> limits =
      ResolveLimits(req.limits, options_.limit_defaults);
  if (!limits.ok()) return limits.status();
  if (absl::Status enforceable = host_->CheckLimits(*limits);
      !enforceable.ok()) {
    return enforceable;
  }

  ProcessSpec spec;
  spec.job_id = new_job_id_();
  spec.program = req.command;
  spec.args = req.args;
  spec.run_as = *std::move(run_as);
  spec.working_dir = req.working_dir;
  spec.env.assign(req.env.begin(), req.env.end());
  spec.limits = *limits;
  spec.max_output_bytes = options_.max_output_bytes;

  if (absl::Status claimed = registry_.Reserve(spec.job_id, caller.identity,
                                               options_.max_jobs_per_identity);
      !claimed.ok()) {
    if (claimed.code() == absl::StatusCode::kResourceExhausted) return claimed;
    return absl::InternalError(
        absl::StrCat("could not allocate a job id: ", claimed.message()));
  }
  auto job =
      std::make_shared<Job>(spec.job_id, caller.identity, spec, host_->Now());
  job->SetTimeout(req.timeout);
  absl::StatusOr<StartedProcess> started = host_->Start(spec, job);
  if (!started.ok()) {
    registry_.Unreserve(spec.job_id);
    return started.status();
  }
  job->SetStarted(*started);
  // Committed before RunProcess returns (SPEC §9). A job that cannot be
  // recorded must not run: nobody could ever see or stop it.
  if (absl::Status recorded = store_->Insert(job->Record()); !recorded.ok()) {
    DiscardUnrecorded(spec.job_id);
    registry_.Unreserve(spec.job_id);
    return absl::Status(recorded.code(),
                        absl::StrCat("cannot record the job (it was not "
                                     "started): ",
                                     recorded.message()));
  }
  (void)registry_.Add(job);  // cannot fail: the id was claimed above
  Follow(job);
  return job->Status();
}

JobStatus JobManager::LiveStatus(const Job& job) {
  JobStatus status = job.Status();
  if (status.state != JobState::kRunning) return status;
  absl::StatusOr<LiveStats> stats = host_->Stats(job.id());
  if (!stats.ok()) return job.Status();  // it may have just ended
  status.usage = stats->usage;
  status.output = stats->output;
  return status;
}

absl::StatusOr<JobRecord> JobManager::EndedRecord(const std::string& owner,
                                                  const std::string& job_id) {
  absl::StatusOr<JobRecord> record = store_->Get(job_id);
  if (!record.ok()) {
    if (record.status().code() == absl::StatusCode::kNotFound) {
      return NotFound(job_id);
    }
    return record.status();
  }
  if (record->status.owner != owner) return NotFound(job_id);
  return record;
}

absl::StatusOr<JobStatus> JobManager::GetStatus(const std::string& owner,
                                                const std::string& job_id) {
  absl::StatusOr<std::shared_ptr<Job>> job = registry_.Find(owner, job_id);
  if (job.ok()) return LiveStatus(**job);
  absl::StatusOr<JobRecord> record = EndedRecord(owner, job_id);
  if (!record.ok()) return record.status();
  return record->status;
}

absl::StatusOr<StatusPage> JobManager::List(JobQuery query) {
  if (query.page_size < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("page_size must not be negative, got ", query.page_size));
  }
  if (query.page_size == 0) query.page_size = kDefaultPageSize;
  query.page_size = std::min(query.page_size, kMaxPageSize);
  absl::StatusOr<JobPage> page = store_->List(query);
  if (!page.ok()) return page.status();
  StatusPage out;
  out.next_page_token = std::move(page->next_page_token);
  out.jobs.reserve(page->records.size());
  for (JobRecord& record : page->records) {
    std::shared_ptr<Job> job = registry_.FindAny(record.status.job_id);
    out.jobs.push_back(job != nullptr ? LiveStatus(*job)
                                      : std::move(record.status));
  }
  return out;
}

absl::StatusOr<std::unique_ptr<OutputCursor>> JobManager::OpenOutput(
    const std::string& owner, const std::string& job_id,
    const OutputRequest& request) {
  if (absl::Status valid = ValidateOutputRequest(request); !valid.ok()) {
    return valid;
  }
  std::shared_ptr<Job> job;
  if (absl::StatusOr<std::shared_ptr<Job>> running =
          registry_.Find(owner, job_id);
      running.ok()) {
    job = *std::move(running);
  } else {
    absl::StatusOr<JobRecord> record = EndedRecord(owner, job_id);
    if (!record.ok()) return record.status();
    job = std::make_shared<Job>(*record);
  }
  OutputSource source;
  source.job_id = job_id;
  JobRecord record = job->Record();
  source.host_state = record.host_state;
  if (record.status.state != JobState::kRunning) {
    source.ended = record.status.output;
  }
  absl::StatusOr<std::unique_ptr<OutputReader>> reader =
      host_->OpenOutput(source);
  if (!reader.ok() && reader.status().code() == absl::StatusCode::kNotFound &&
      !source.ended) {
    // It ended between the two looks: its end is in the job now.
    record = job->Record();
    if (record.status.state == JobState::kRunning) return reader.status();
    source.ended = record.status.output;
    reader = host_->OpenOutput(source);
  }
  if (!reader.ok()) return reader.status();
  return OutputCursor::Open(std::move(job), *std::move(reader), request,
                            options_.output_chunk_bytes);
}

absl::Status JobManager::Remove(const std::string& owner,
                                const std::string& job_id) {
  if (registry_.Find(owner, job_id).ok()) {
    // Running, or its end is not recorded yet (a moment, unless the store
    // fails).
    return absl::FailedPreconditionError(absl::StrCat(
        "job ", job_id, " is still running: stop it first, then remove it"));
  }
  absl::StatusOr<JobRecord> record = EndedRecord(owner, job_id);
  if (!record.ok()) return record.status();
  // The files first: a record without files reads as DATA_LOSS, while files
  // without a record would never be removed.
  if (absl::Status removed = host_->RemoveOutput(job_id, record->host_state);
      !removed.ok()) {
    return removed;
  }
  absl::Status deleted = store_->Delete(job_id);
  if (deleted.code() == absl::StatusCode::kNotFound) return NotFound(job_id);
  return deleted;
}

}  // namespace cmdctl

// The job records that outlive the server (SPEC §9): the domain's second
// seam, beside ProcessHost. The production store is SQLite (job_store/);
// unit tests use an in-memory fake with fault switches.
//
// Thread safety: every method may be called from any thread, concurrently.
// Each mutating call is one transaction, durable (up to the store's
// durability setting) when it returns OK.
//
// Errors are absl::Status values with gRPC's codes:
//   NOT_FOUND           no record with that id (Update, Get, Delete);
//   ALREADY_EXISTS      Insert of an id that has a record;
//   INVALID_ARGUMENT    a malformed page token or query;
//   RESOURCE_EXHAUSTED  the disk is full or the database out of memory;
//   INTERNAL            anything else (an I/O error, a damaged database).
#ifndef CMDCTL_DOMAIN_JOB_STORE_H_
#define CMDCTL_DOMAIN_JOB_STORE_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "domain/types.h"

namespace cmdctl {

// What is kept of one job: its status as last committed, and what the
// domain and the host need to take the job up again after a restart.
struct JobRecord {
  JobStatus status;
  // The host's own description of the job (ProcessHost::Start returned it):
  // opaque to the domain and to the store, which keep it verbatim.
  std::string host_state;
  // When the job's timeout stops it (InfiniteFuture: no timeout).
  absl::Time timeout_at = absl::InfiniteFuture();
  // When a stop under way KILLs the tree (InfiniteFuture: no stop under way).
  absl::Time kill_at = absl::InfiniteFuture();
};

// One page of ListProcesses.
struct JobQuery {
  std::string owner;              // only this identity's jobs
  std::optional<JobState> state;  // nullopt: every state
  std::string job_id_prefix;      // only ids starting with this
  int page_size = 100;            // 1..1000
  std::string page_token;         // empty: the first page
};

struct JobPage {
  std::vector<JobRecord> records;  // newest first (started_at, then job_id)
  std::string next_page_token;     // empty: no more
};

class JobStore {
 public:
  virtual ~JobStore() = default;
  JobStore() = default;
  JobStore(const JobStore&) = delete;
  JobStore& operator=(const JobStore&) = delete;

  // Adds the record of a new job. ALREADY_EXISTS for a taken id.
  virtual absl::Status Insert(const JobRecord& record) = 0;

  // Replaces the record of the job record.status.job_id (its state, end,
  // usage, stop, ...). NOT_FOUND when there is none.
  virtual absl::Status Update(const JobRecord& record) = 0;

  // The record of `job_id`, whoever owns it (the caller checks the owner).
  virtual absl::StatusOr<JobRecord> Get(const std::string& job_id) = 0;

  // Every record whose state is RUNNING (start-up recovery), in no order.
  virtual absl::StatusOr<std::vector<JobRecord>> LoadRunning() = 0;

  // A page of one owner's records, newest first: by started_at descending,
  // ties by job_id descending. A page token comes from a previous page of
  // the same query; pages stay consistent while records are added (new
  // ones are newer than every token) or removed.
  virtual absl::StatusOr<JobPage> List(const JobQuery& query) = 0;

  // Up to `limit` records of jobs that ended before `cutoff`, oldest end
  // first (retention).
  virtual absl::StatusOr<std::vector<JobRecord>> EndedBefore(absl::Time cutoff,
                                                             int limit) = 0;

  // Removes the record. NOT_FOUND when there is none.
  virtual absl::Status Delete(const std::string& job_id) = 0;
};

}  // namespace cmdctl

#endif  // CMDCTL_DOMAIN_JOB_STORE_H_

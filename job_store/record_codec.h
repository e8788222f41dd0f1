// A JobRecord as one row of the jobs table: the columns the queries use
// (job_id, owner, state, started_at, ended_at) and a serialized StoredJob
// (job_record.proto) for the rest.
#ifndef CMDCTL_JOB_STORE_RECORD_CODEC_H_
#define CMDCTL_JOB_STORE_RECORD_CODEC_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "domain/job_store.h"
#include "domain/types.h"

namespace cmdctl::store {

struct JobRow {
  std::string job_id;
  std::string owner;
  int64_t state = 0;  // StateCode
  int64_t started_at_ns = 0;
  int64_t ended_at_ns = 0;
  std::string body;  // a serialized cmdctl.store.StoredJob
};

// JobState as stored. These numbers never change: the database's partial
// indexes (sqlite_job_store.cc) name kRunningCode.
inline constexpr int64_t kRunningCode = 1;
int64_t StateCode(JobState state);
std::optional<JobState> StateFromCode(int64_t code);

JobRow EncodeRow(const JobRecord& record);

// INTERNAL, naming the job, for a row EncodeRow did not make (an unknown
// state code, a body that does not parse).
absl::StatusOr<JobRecord> DecodeRow(const JobRow& row);

}  // namespace cmdctl::store

#endif  // CMDCTL_JOB_STORE_RECORD_CODEC_H_

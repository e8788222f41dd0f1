// Shared by the JobStore tests: a temporary directory, records with every
// field set, and a field-by-field comparison that names what differs.
#ifndef CMDCTL_TESTS_JOB_STORE_STORE_TEST_SUPPORT_H_
#define CMDCTL_TESTS_JOB_STORE_STORE_TEST_SUPPORT_H_

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "domain/job_store.h"
#include "gtest/gtest.h"

namespace cmdctl::test {

// A fresh directory under $TMPDIR (or /tmp), removed with its content.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A record in which every field of JobRecord and JobStatus differs from its
// default and from the record of another `seed`: odd bytes in every string
// (newlines, control characters, 0xff, no NUL), times to the nanosecond.
JobRecord FullRecord(const std::string& job_id, const std::string& owner,
                     absl::Time started_at, int seed = 1);

// A running job's record with only what List and EndedBefore look at.
JobRecord SmallRecord(const std::string& job_id, const std::string& owner,
                      absl::Time started_at,
                      JobState state = JobState::kRunning,
                      absl::Time ended_at = absl::InfinitePast());

// Success when `actual` equals `expected` in every field; else names the
// fields that differ.
::testing::AssertionResult SameRecord(const JobRecord& expected,
                                      const JobRecord& actual);

// The job ids of `records`, in order.
std::vector<std::string> IdsOf(const std::vector<JobRecord>& records);

// The whole content of a file (empty when it cannot be read).
std::string FileBytes(const std::string& path);

}  // namespace cmdctl::test

#endif  // CMDCTL_TESTS_JOB_STORE_STORE_TEST_SUPPORT_H_

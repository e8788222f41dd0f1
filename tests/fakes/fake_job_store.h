// An in-memory JobStore (domain/job_store.h) for unit tests, with the SQLite
// store's semantics: the same List order and page tokens
// (job_store/list_order.h), times kept to the nanosecond as the database
// keeps them. tests/job_store/job_store_contract_test.cc holds both to one
// contract.
//
// Faults are plain switches, so a test reads as a story:
//
//   FakeJobStore store;
//   store.set_insert_error(absl::ResourceExhaustedError("disk full"));
//   // ... RunProcess fails cleanly: no process, no record.
//   EXPECT_TRUE(store.records().empty());
//
// A method whose switch is on fails with that status and changes nothing.
// Every call is counted (failed ones too).
//
// Thread-safe: every method may be called from any thread.
#ifndef CMDCTL_TESTS_FAKES_FAKE_JOB_STORE_H_
#define CMDCTL_TESTS_FAKES_FAKE_JOB_STORE_H_

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "domain/job_store.h"

namespace cmdctl::test {

class FakeJobStore : public JobStore {
 public:
  FakeJobStore() = default;

  // ---------------------------------------------------------------------
  // Fault switches: every later call of the method fails with `status`
  // until it is switched off with an OK status.
  void set_insert_error(absl::Status status) { Set(kInsert, status); }
  void set_update_error(absl::Status status) { Set(kUpdate, status); }
  void set_get_error(absl::Status status) { Set(kGet, status); }
  void set_load_running_error(absl::Status status) {
    Set(kLoadRunning, status);
  }
  void set_list_error(absl::Status status) { Set(kList, status); }
  void set_ended_before_error(absl::Status status) {
    Set(kEndedBefore, status);
  }
  void set_delete_error(absl::Status status) { Set(kDelete, status); }

  // Called at the start of every Update, before the store takes the
  // record, without any lock held: what else happens meanwhile (a race).
  void set_before_update(std::function<void(const JobRecord&)> hook)
      ABSL_LOCKS_EXCLUDED(mu_);

  // ---------------------------------------------------------------------
  // Inspection.

  // How many times each method was called, failed calls included.
  struct CallCounts {
    int insert = 0;
    int update = 0;
    int get = 0;
    int load_running = 0;
    int list = 0;
    int ended_before = 0;
    int remove = 0;  // Delete
  };
  CallCounts calls() const ABSL_LOCKS_EXCLUDED(mu_);

  // A copy of every record stored, by job id.
  std::map<std::string, JobRecord> records() const ABSL_LOCKS_EXCLUDED(mu_);

  // ---------------------------------------------------------------------
  // JobStore.
  absl::Status Insert(const JobRecord& record) override
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status Update(const JobRecord& record) override
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::StatusOr<JobRecord> Get(const std::string& job_id) override
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::StatusOr<std::vector<JobRecord>> LoadRunning() override
      ABSL_LOCKS_EXCLUDED(mu_);
  // page_size and page_token as SqliteJobStore takes them: 0 means 100,
  // more than 1000 means 1000, negative or a malformed token is
  // INVALID_ARGUMENT.
  absl::StatusOr<JobPage> List(const JobQuery& query) override
      ABSL_LOCKS_EXCLUDED(mu_);
  // A limit of 0 or less gives no records.
  absl::StatusOr<std::vector<JobRecord>> EndedBefore(absl::Time cutoff,
                                                     int limit) override
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status Delete(const std::string& job_id) override
      ABSL_LOCKS_EXCLUDED(mu_);

 private:
  enum Method {
    kInsert,
    kUpdate,
    kGet,
    kLoadRunning,
    kList,
    kEndedBefore,
    kDelete,
    kMethods
  };

  void Set(Method method, absl::Status status) ABSL_LOCKS_EXCLUDED(mu_);
  // Counts a call of `method`; its switch's status.
  absl::Status Enter(Method method) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  std::map<std::string, JobRecord> records_ ABSL_GUARDED_BY(mu_);
  absl::Status errors_[kMethods] ABSL_GUARDED_BY(mu_);
  int calls_[kMethods] ABSL_GUARDED_BY(mu_) = {};
  std::function<void(const JobRecord&)> before_update_ ABSL_GUARDED_BY(mu_);
};

}  // namespace cmdctl::test

#endif  // CMDCTL_TESTS_FAKES_FAKE_JOB_STORE_H_

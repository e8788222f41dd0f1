// SqliteJobStore: the production JobStore (domain/job_store.h), one SQLite
// database file (SPEC §9: <state_dir>/cmdctl.db).
//
// Durability: WAL with synchronous=NORMAL. A record is committed (in the WAL,
// in the page cache) before Insert/Update/Delete returns: a server killed at
// any moment (SIGKILL, crash) loses nothing it was told was stored. The WAL
// is fsynced at checkpoints only, so a power cut or kernel crash may lose
// the last commits before it; the database still opens, consistent.
//
// Thread safety: every method may be called from any thread, concurrently.
// One connection serves them all, one call at a time (a mutex); records are
// encoded and decoded outside it. Each mutating call is one transaction.
//
// Errors (domain/job_store.h; sqlite_util.h has the whole mapping): a full
// disk or SQLite out of memory is RESOURCE_EXHAUSTED, a damaged database
// INTERNAL naming the file, another process holding the database past the
// busy timeout (5 s) UNAVAILABLE.
#ifndef CMDCTL_JOB_STORE_SQLITE_JOB_STORE_H_
#define CMDCTL_JOB_STORE_SQLITE_JOB_STORE_H_

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "domain/job_store.h"
#include "job_store/record_codec.h"
#include "job_store/sqlite_util.h"

namespace cmdctl::store {

class SqliteJobStore final : public JobStore {
 public:
  // Opens the database at `path`, creating it (mode 0600) when missing.
  // Refuses, leaving the file as it is, a damaged database (INTERNAL, with
  // what SQLite found), another application's database or one of a newer
  // schema version (FAILED_PRECONDITION). Checks the whole file (PRAGMA
  // quick_check): with 10,000 records an open takes about 10 ms of CPU,
  // with 100,000 about 90 ms (docs/ARCHITECTURE.md, "Job records").
  static absl::StatusOr<std::unique_ptr<SqliteJobStore>> Open(
      const std::string& path);

  ~SqliteJobStore() override;

  absl::Status Insert(const JobRecord& record) override;
  absl::Status Update(const JobRecord& record) override;
  absl::StatusOr<JobRecord> Get(const std::string& job_id) override;
  absl::StatusOr<std::vector<JobRecord>> LoadRunning() override;
  absl::StatusOr<JobPage> List(const JobQuery& query) override;
  absl::StatusOr<std::vector<JobRecord>> EndedBefore(absl::Time cutoff,
                                                     int limit) override;
  absl::Status Delete(const std::string& job_id) override;

  const std::string& path() const { return path_; }

 private:
  // List's statements: one per shape of query (which of its optional
  // conditions it has, and which index serves it).
  static constexpr int kListShapes = 32;

  SqliteJobStore(std::string path, SqliteDb db);

  absl::Status PrepareStatements() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<Statement*> ListStatement(int shape)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Steps a bound statement that writes one row; the number of rows it
  // changed, or its error (mapped with `what`). Resets it.
  absl::StatusOr<int> Write(Statement& st, const std::string& what)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Write for a statement that changes the row of `job_id`: NOT_FOUND when
  // it changed none.
  absl::Status WriteExisting(Statement& st, const std::string& what,
                             const std::string& job_id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Steps a bound statement that selects job rows, up to its end. Resets it.
  absl::StatusOr<std::vector<JobRow>> ReadRows(Statement& st,
                                               const std::string& what)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status Error(int rc, const std::string& what)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string path_;
  absl::Mutex mu_;
  // Members are destroyed in reverse order: every statement is finalized
  // before the connection closes.
  SqliteDb db_ ABSL_GUARDED_BY(mu_);
  Statement insert_ ABSL_GUARDED_BY(mu_);
  Statement update_ ABSL_GUARDED_BY(mu_);
  Statement get_ ABSL_GUARDED_BY(mu_);
  Statement load_running_ ABSL_GUARDED_BY(mu_);
  Statement ended_before_ ABSL_GUARDED_BY(mu_);
  Statement delete_ ABSL_GUARDED_BY(mu_);
  // Prepared on first use.
  std::array<Statement, kListShapes> list_ ABSL_GUARDED_BY(mu_);
};

}  // namespace cmdctl::store

#endif  // CMDCTL_JOB_STORE_SQLITE_JOB_STORE_H_

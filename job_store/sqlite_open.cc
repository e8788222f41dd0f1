#include "job_store/sqlite_open.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "common/errno_status.h"
#include "common/unique_fd.h"
#include "job_store/record_codec.h"

namespace cmdctl::store {
namespace {

// The schema, version 1.
//
// Columns or a blob? The table has a column for each value a query filters
// or orders by (job_id, owner, state, started_at, ended_at) and keeps the
// rest of the record in `body`, a serialized cmdctl.store.StoredJob
// (job_record.proto), rather than a column per field:
//   - the record grows (limits, usage, output totals came in one issue, the
//     host's restart state in the next): a new field is a new proto field
//     number, with no ALTER TABLE, no migration and no user_version bump, and
//     a row written before it reads as the field's default;
//   - args (a list of arbitrary bytes) and the opaque host_state need an
//     encoding anyway; protobuf's is exact, versioned and already a
//     dependency, where a hand-made one would be new code to trust;
//   - every write binds six values instead of thirty.
// What is lost: `sqlite3 cmdctl.db` shows the body as bytes (the columns
// stay readable; `protoc --decode=cmdctl.store.StoredJob` reads a body).
// Nothing queries inside the body: a field that a query needs becomes a
// column (and a schema version) of its own.
//
// Times are int64 nanoseconds since the epoch (list_order.h), so ordering
// is integer ordering; InfinitePast (a running job's ended_at) is INT64_MIN.
// state codes are record_codec.h's; 1 (kRunningCode) is RUNNING, named in
// the partial indexes and in the queries that use them.
//
// Indexes, each for one query of sqlite_job_store.cc:
//   jobs_by_owner        List: owner = ? ORDER BY started_at DESC, job_id
//                        DESC, resuming after a page token's (started_at,
//                        job_id) as a range on the same index;
//   jobs_by_owner_state  List with a state filter;
//   jobs_running         LoadRunning (partial: only running jobs);
//   jobs_ended           EndedBefore (partial: only ended jobs, so the
//                        running ones' INT64_MIN ended_at is not scanned).
// The primary key serves Get, Update, Delete and List's id-prefix range.
constexpr char kSchemaV1[] = R"sql(
CREATE TABLE jobs (
  job_id     TEXT    NOT NULL PRIMARY KEY,
  owner      TEXT    NOT NULL,
  state      INTEGER NOT NULL,
  started_at INTEGER NOT NULL,
  ended_at   INTEGER NOT NULL,
  body       BLOB    NOT NULL
) STRICT;
CREATE INDEX jobs_by_owner ON jobs (owner, started_at, job_id);
CREATE INDEX jobs_by_owner_state ON jobs (owner, state, started_at, job_id);
CREATE INDEX jobs_running ON jobs (job_id) WHERE state = 1;
CREATE INDEX jobs_ended ON jobs (ended_at, job_id) WHERE state <> 1;
)sql";
static_assert(kRunningCode == 1, "kSchemaV1 names RUNNING as 1");

// The start-up check. quick_check reads every page and b-tree of the file
// (it finds what a torn or overwritten page leaves) but does not check that
// each index holds exactly its table's rows, which integrity_check adds at
// O(N log N): with 10,000 records 17 ms against 61 ms, with 100,000 records
// 0.24 s against 1.35 s (bench/store_bench.cc, BM_Check), and the second
// would break the 1 s restart budget. A mismatched index comes from a
// SQLite bug, not from a crash or a bad disk; `PRAGMA integrity_check` is
// the operator's tool for it.
constexpr char kStartupCheck[] = "PRAGMA quick_check(5)";

// WAL with synchronous=NORMAL: a commit is in the WAL file (the page cache)
// when it returns, so a killed or crashed server loses nothing it reported;
// the WAL is fsynced at checkpoints, so a power cut or kernel crash may lose
// the last commits since the latest checkpoint, and the database still opens
// consistent (SQLite's WAL recovery drops a torn tail). FULL would fsync
// every commit: every RunProcess would wait for the disk.
// journal_size_limit truncates the WAL after a checkpoint to 4 MiB.
constexpr char kConnectionSettings[] =
    "PRAGMA synchronous = NORMAL; PRAGMA journal_size_limit = 4194304;";

// Creates `path` with mode 0600 when it does not exist (SQLite would create
// it 0644 and give the -wal and -shm files the same mode). FAILED_PRECONDITION
// when it is a symbolic link or not a regular file (SQLite's
// SQLITE_OPEN_NOFOLLOW refuses a link too; this says why).
absl::Status CreateIfMissing(const std::string& path) {
  UniqueFd fd;
  do {
    fd.reset(::open(path.c_str(),
                    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                    0600));
  } while (!fd && errno == EINTR);
  if (fd) return absl::OkStatus();
  if (errno != EEXIST) {
    return ErrnoStatus(errno, absl::StrCat("create job database ", path),
                       ErrnoCause::kMachinery);
  }
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    return ErrnoStatus(errno, absl::StrCat("stat job database ", path),
                       ErrnoCause::kMachinery);
  }
  if (!S_ISREG(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat("job database ", path, " is ",
                     S_ISLNK(st.st_mode) ? "a symbolic link (not followed)"
                                         : "not a regular file"));
  }
  return absl::OkStatus();
}

// The first column of every row `sql` returns, as text.
absl::StatusOr<std::vector<std::string>> QueryColumn(sqlite3* db,
                                                     const char* sql,
                                                     absl::string_view what) {
  absl::StatusOr<Statement> st = Statement::Prepare(db, sql, what);
  if (!st.ok()) return st.status();
  std::vector<std::string> rows;
  int rc;
  while ((rc = st->Step()) == SQLITE_ROW) rows.push_back(st->ColumnBytes(0));
  if (rc != SQLITE_DONE) return SqliteStatus(db, rc, what);
  return rows;
}

absl::StatusOr<int64_t> QueryInt(sqlite3* db, const char* sql,
                                 absl::string_view what) {
  absl::StatusOr<Statement> st = Statement::Prepare(db, sql, what);
  if (!st.ok()) return st.status();
  const int rc = st->Step();
  if (rc != SQLITE_ROW) return SqliteStatus(db, rc, what);
  return st->ColumnInt64(0);
}

// kStartupCheck: OK, or INTERNAL naming the file and SQLite's findings.
absl::Status CheckIntact(sqlite3* db, const std::string& path) {
  constexpr char kLeftAlone[] =
      "; the file is left as it is: restore it from a backup or move it away";
  const std::string what =
      absl::StrCat("check job database ", path, " (", kStartupCheck, ")");
  absl::StatusOr<std::vector<std::string>> findings =
      QueryColumn(db, kStartupCheck, what);
  if (!findings.ok()) {
    // A file too damaged to check (a bad header: "not a database").
    if (!IsCorruption(sqlite3_extended_errcode(db))) return findings.status();
    return absl::InternalError(
        absl::StrCat(findings.status().message(), kLeftAlone));
  }
  if (findings->size() == 1 && (*findings)[0] == "ok") return absl::OkStatus();
  // One line for the log, however many findings.
  const std::string found =
      absl::StrReplaceAll(absl::StrJoin(*findings, "; "), {{"\n", "; "}});
  return absl::InternalError(absl::StrCat(
      what, ": the database is damaged: ", found,
      " (PRAGMA integrity_check gives the full report)", kLeftAlone));
}

// Refuses a database that is not ours or is newer than this code. Sets
// `empty` when the file holds no schema yet.
absl::Status CheckIdentity(sqlite3* db, const std::string& path, bool& empty) {
  const std::string what = absl::StrCat("read job database ", path);
  absl::StatusOr<int64_t> app = QueryInt(db, "PRAGMA application_id", what);
  absl::StatusOr<int64_t> version = QueryInt(db, "PRAGMA user_version", what);
  absl::StatusOr<int64_t> objects =
      QueryInt(db, "SELECT count(*) FROM sqlite_schema", what);
  for (const auto* s : {&app, &version, &objects}) {
    if (!s->ok()) return s->status();
  }
  empty = *objects == 0 && *version == 0 && *app == 0;
  if (empty) return absl::OkStatus();
  if (*app != kApplicationId || *version == 0) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "%s is not a cmdctl job database (application_id %#x, user_version "
        "%d, %d schema objects); it is left as it is",
        path, *app, *version, *objects));
  }
  if (*version > kSchemaVersion) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "job database %s has schema version %d, newer than this cmdctld "
        "knows (%d): it was written by a newer cmdctld; run that one, or "
        "move the file away to start afresh",
        path, *version, kSchemaVersion));
  }
  return absl::OkStatus();
}

absl::Status SetJournalWal(sqlite3* db, const std::string& path) {
  const std::string what = absl::StrCat("set WAL mode on ", path);
  absl::StatusOr<std::vector<std::string>> mode =
      QueryColumn(db, "PRAGMA journal_mode = WAL", what);
  if (!mode.ok()) return mode.status();
  if (mode->size() != 1 || (*mode)[0] != "wal") {
    return absl::FailedPreconditionError(
        absl::StrCat(what, ": SQLite kept journal mode \"",
                     absl::StrJoin(*mode, ","), "\""));
  }
  return absl::OkStatus();
}

// Creates the schema in one transaction, unless another process did first.
absl::Status CreateSchema(sqlite3* db, const std::string& path) {
  const std::string what = absl::StrCat("create the schema of ", path);
  if (absl::Status s = Exec(db, "BEGIN IMMEDIATE", what); !s.ok()) return s;
  absl::Status s = [&]() -> absl::Status {
    bool empty = false;
    if (absl::Status s = CheckIdentity(db, path, empty); !s.ok()) return s;
    if (!empty) return absl::OkStatus();  // created meanwhile
    const std::string pragmas =
        absl::StrFormat("PRAGMA application_id = %d; PRAGMA user_version = %d;",
                        kApplicationId, kSchemaVersion);
    if (absl::Status s = Exec(db, kSchemaV1, what); !s.ok()) return s;
    return Exec(db, pragmas.c_str(), what);
  }();
  // Never leave the connection inside the transaction.
  if (s.ok()) s = Exec(db, "COMMIT", what);
  if (!s.ok()) sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
  return s;
}

}  // namespace

absl::StatusOr<SqliteDb> OpenDatabase(const std::string& path) {
  if (absl::Status s = CreateIfMissing(path); !s.ok()) return s;
  sqlite3* raw = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW |
                          SQLITE_OPEN_EXRESCODE | SQLITE_OPEN_NOMUTEX,
                      nullptr);
  SqliteDb db(raw);  // closed on every return but the last
  if (rc != SQLITE_OK) {
    return SqliteStatus(db.get(), rc, absl::StrCat("open job database ", path));
  }
  sqlite3_busy_timeout(db.get(), kBusyTimeoutMs);
  // Read-only until the file is known to be intact and ours.
  if (absl::Status s = CheckIntact(db.get(), path); !s.ok()) return s;
  bool empty = false;
  if (absl::Status s = CheckIdentity(db.get(), path, empty); !s.ok()) return s;
  if (absl::Status s = SetJournalWal(db.get(), path); !s.ok()) return s;
  if (absl::Status s =
          Exec(db.get(), kConnectionSettings, absl::StrCat("configure ", path));
      !s.ok()) {
    return s;
  }
  if (empty) {
    if (absl::Status s = CreateSchema(db.get(), path); !s.ok()) return s;
  }
  return db;
}

}  // namespace cmdctl::store

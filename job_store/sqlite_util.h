// Small owners of SQLite objects and the one SQLite -> absl::Status mapping
// (job_store/ only). sqlite3.h stays out of this header.
#ifndef CMDCTL_JOB_STORE_SQLITE_UTIL_H_
#define CMDCTL_JOB_STORE_SQLITE_UTIL_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

struct sqlite3;
struct sqlite3_stmt;

namespace cmdctl::store {

// The status for SQLite result code `rc` (an extended code) from an
// operation on `db` (may be null), as "<what>: <SQLite's message> (SQLite
// code N[, errno text])". Codes (domain/job_store.h):
//   SQLITE_FULL, SQLITE_NOMEM, SQLITE_IOERR_NOMEM, and I/O or open errors
//   whose errno means "out of something" (ENOSPC, EDQUOT, EMFILE, ...)
//     -> RESOURCE_EXHAUSTED;
//   SQLITE_BUSY, SQLITE_LOCKED (another process holds the database past the
//     busy timeout) -> UNAVAILABLE;
//   SQLITE_CONSTRAINT_PRIMARYKEY, SQLITE_CONSTRAINT_UNIQUE -> ALREADY_EXISTS
//     (what the statement would create is there);
//   SQLITE_CORRUPT, SQLITE_NOTADB -> INTERNAL, the message saying the
//     database is damaged;
//   anything else -> INTERNAL.
absl::Status SqliteStatus(sqlite3* db, int rc, absl::string_view what);

// True for SQLITE_CORRUPT and SQLITE_NOTADB (any extended code of them).
bool IsCorruption(int rc);

// Closes the connection (sqlite3_close_v2) when destroyed.
struct SqliteCloser {
  void operator()(sqlite3* db) const;
};
using SqliteDb = std::unique_ptr<sqlite3, SqliteCloser>;

// Runs `sql` (one or more statements, no rows wanted) on `db`.
absl::Status Exec(sqlite3* db, const char* sql, absl::string_view what);

// A prepared statement, finalized when destroyed (so destroy every
// Statement of a connection before the connection). Move-only; not
// thread-safe (its owner serializes use).
class Statement {
 public:
  Statement() = default;
  ~Statement();
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Prepares `sql` for repeated use (SQLITE_PREPARE_PERSISTENT). An error
  // is SqliteStatus's for `what`.
  static absl::StatusOr<Statement> Prepare(sqlite3* db, absl::string_view sql,
                                           absl::string_view what);

  bool prepared() const { return stmt_ != nullptr; }

  // Bind the named parameter (":name"); a name the statement does not use
  // is ignored. Text and blobs are copied.
  void BindText(const char* name, absl::string_view value);
  void BindBlob(const char* name, absl::string_view value);
  void BindInt64(const char* name, int64_t value);

  // sqlite3_step: SQLITE_ROW, SQLITE_DONE or an (extended) error code.
  int Step();
  int64_t ColumnInt64(int column);
  // A TEXT or BLOB column's bytes, verbatim.
  std::string ColumnBytes(int column);

  // Ends the current use: resets the statement and clears its bindings.
  void Reset();

 private:
  explicit Statement(sqlite3_stmt* stmt) : stmt_(stmt) {}
  int ParameterIndex(const char* name);

  sqlite3_stmt* stmt_ = nullptr;
};

}  // namespace cmdctl::store

#endif  // CMDCTL_JOB_STORE_SQLITE_UTIL_H_

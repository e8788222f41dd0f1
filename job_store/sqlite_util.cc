#include "job_store/sqlite_util.h"

#include <sqlite3.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/errno_status.h"

namespace cmdctl::store {
namespace {

// The errno behind an I/O, open or full-disk error, or 0.
int SystemErrno(sqlite3* db, int rc) {
  if (rc == SQLITE_CANTOPEN_SYMLINK) return 0;  // no system call failed
  switch (rc & 0xff) {
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_FULL:
      return db != nullptr ? sqlite3_system_errno(db) : 0;
    default:
      return 0;
  }
}

absl::StatusCode CodeFor(int rc, int err) {
  if (rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE) {
    return absl::StatusCode::kAlreadyExists;
  }
  switch (rc & 0xff) {
    case SQLITE_FULL:
    case SQLITE_NOMEM:
      return absl::StatusCode::kResourceExhausted;
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
      return rc == SQLITE_IOERR_NOMEM || (err != 0 && IsResourceErrno(err))
                 ? absl::StatusCode::kResourceExhausted
                 : absl::StatusCode::kInternal;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return absl::StatusCode::kUnavailable;
    default:
      return absl::StatusCode::kInternal;
  }
}

// A null pointer would bind SQL NULL instead of an empty value.
const char* NonNull(absl::string_view value) {
  return value.data() != nullptr ? value.data() : "";
}

}  // namespace

bool IsCorruption(int rc) {
  return (rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB;
}

absl::Status SqliteStatus(sqlite3* db, int rc, absl::string_view what) {
  const int err = SystemErrno(db, rc);
  // sqlite3_errmsg describes the connection's latest error, which is `rc`
  // when the caller asks at once; without a connection, the code's text.
  const char* text = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  std::string message = absl::StrCat(
      what, ": ", IsCorruption(rc) ? "the database is damaged: " : "", text,
      " (SQLite code ", rc);
  if (err != 0) absl::StrAppend(&message, ", ", ErrnoText(err));
  message += ")";
  return absl::Status(CodeFor(rc, err), message);
}

void SqliteCloser::operator()(sqlite3* db) const { sqlite3_close_v2(db); }

absl::Status Exec(sqlite3* db, const char* sql, absl::string_view what) {
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
  return rc == SQLITE_OK ? absl::OkStatus() : SqliteStatus(db, rc, what);
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

Statement::Statement(Statement&& other) noexcept
    : stmt_(std::exchange(other.stmt_, nullptr)) {}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(stmt_);
    stmt_ = std::exchange(other.stmt_, nullptr);
  }
  return *this;
}

absl::StatusOr<Statement> Statement::Prepare(sqlite3* db, absl::string_view sql,
                                             absl::string_view what) {
  sqlite3_stmt* stmt = nullptr;
  const int rc =
      sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()),
                         SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return SqliteStatus(db, rc, what);
  }
  return Statement(stmt);
}

int Statement::ParameterIndex(const char* name) {
  return sqlite3_bind_parameter_index(stmt_, name);
}

// Binding only fails for an index out of range (ruled out: ParameterIndex
// found it) or SQLITE_TOOBIG / SQLITE_NOMEM, which Step then reports too:
// a failed bind leaves the parameter NULL and every column is NOT NULL.
void Statement::BindText(const char* name, absl::string_view value) {
  if (const int i = ParameterIndex(name); i > 0) {
    sqlite3_bind_text(stmt_, i, NonNull(value), static_cast<int>(value.size()),
                      SQLITE_TRANSIENT);
  }
}

void Statement::BindBlob(const char* name, absl::string_view value) {
  if (const int i = ParameterIndex(name); i > 0) {
    sqlite3_bind_blob(stmt_, i, NonNull(value), static_cast<int>(value.size()),
                      SQLITE_TRANSIENT);
  }
}

void Statement::BindInt64(const char* name, int64_t value) {
  if (const int i = ParameterIndex(name); i > 0) {
    sqlite3_bind_int64(stmt_, i, value);
  }
}

int Statement::Step() { return sqlite3_step(stmt_); }

int64_t Statement::ColumnInt64(int column) {
  return sqlite3_column_int64(stmt_, column);
}

std::string Statement::ColumnBytes(int column) {
  // sqlite3_column_blob returns a TEXT value's bytes unconverted too.
  const void* data = sqlite3_column_blob(stmt_, column);
  const int size = sqlite3_column_bytes(stmt_, column);
  return data == nullptr ? std::string()
                         : std::string(static_cast<const char*>(data),
                                       static_cast<size_t>(size));
}

void Statement::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

}  // namespace cmdctl::store

// Opening the job database: creation, the start-up check, the schema version
// and the connection's settings (job_store/ only; SqliteJobStore::Open).
#ifndef CMDCTL_JOB_STORE_SQLITE_OPEN_H_
#define CMDCTL_JOB_STORE_SQLITE_OPEN_H_

#include <string>

#include "absl/status/statusor.h"
#include "job_store/sqlite_util.h"

namespace cmdctl::store {

// The schema this code reads and writes (PRAGMA user_version). A database
// of a newer version is refused; an older one would be migrated here.
inline constexpr int kSchemaVersion = 1;
// PRAGMA application_id of a cmdctl job database ("cmdj").
inline constexpr int kApplicationId = 0x636d646a;

// How long a statement waits for a lock another process holds.
inline constexpr int kBusyTimeoutMs = 5000;

// Opens the database at `path` read-write, creating the file (mode 0600)
// when it is missing, and never following a symbolic link. Then:
//   - checks it (PRAGMA quick_check): a damaged file is INTERNAL, naming the
//     file and what SQLite found, and is left as it is (never recreated);
//   - FAILED_PRECONDITION for a file of another application, or of a newer
//     schema version than kSchemaVersion;
//   - sets WAL, synchronous=NORMAL and the busy timeout, and creates the
//     schema in a new (empty) database.
// Other errors as SqliteStatus maps them.
absl::StatusOr<SqliteDb> OpenDatabase(const std::string& path);

}  // namespace cmdctl::store

#endif  // CMDCTL_JOB_STORE_SQLITE_OPEN_H_

// The one SQLite -> absl::Status mapping (job_store/sqlite_util.h).
#include "job_store/sqlite_util.h"

#include <sqlite3.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cmdctl::store {
namespace {

using ::testing::HasSubstr;

TEST(SqliteStatusTest, CodesFollowTheStoreContract) {
  const std::pair<int, absl::StatusCode> cases[] = {
      {SQLITE_FULL, absl::StatusCode::kResourceExhausted},
      {SQLITE_NOMEM, absl::StatusCode::kResourceExhausted},
      {SQLITE_IOERR_NOMEM, absl::StatusCode::kResourceExhausted},
      {SQLITE_CONSTRAINT_PRIMARYKEY, absl::StatusCode::kAlreadyExists},
      {SQLITE_CONSTRAINT_UNIQUE, absl::StatusCode::kAlreadyExists},
      {SQLITE_CONSTRAINT_NOTNULL, absl::StatusCode::kInternal},
      {SQLITE_BUSY, absl::StatusCode::kUnavailable},
      {SQLITE_BUSY_SNAPSHOT, absl::StatusCode::kUnavailable},
      {SQLITE_LOCKED, absl::StatusCode::kUnavailable},
      {SQLITE_CORRUPT, absl::StatusCode::kInternal},
      {SQLITE_NOTADB, absl::StatusCode::kInternal},
      {SQLITE_IOERR_WRITE, absl::StatusCode::kInternal},
      {SQLITE_READONLY, absl::StatusCode::kInternal},
      {SQLITE_ERROR, absl::StatusCode::kInternal},
  };
  for (const auto& [rc, code] : cases) {
    EXPECT_EQ(SqliteStatus(nullptr, rc, "x").code(), code) << "code " << rc;
  }
}

TEST(SqliteStatusTest, MessageSaysWhatFailedAndWhetherTheDatabaseIsDamaged) {
  const absl::Status corrupt =
      SqliteStatus(nullptr, SQLITE_CORRUPT_INDEX, "read job \"a\" from /db");
  EXPECT_THAT(std::string(corrupt.message()),
              HasSubstr("read job \"a\" from /db: the database is damaged: "));
  EXPECT_THAT(std::string(corrupt.message()),
              HasSubstr(absl::StrCat("SQLite code ", SQLITE_CORRUPT_INDEX)));
  EXPECT_TRUE(IsCorruption(SQLITE_CORRUPT_INDEX));
  EXPECT_TRUE(IsCorruption(SQLITE_NOTADB));
  EXPECT_FALSE(IsCorruption(SQLITE_FULL));
  EXPECT_THAT(std::string(SqliteStatus(nullptr, SQLITE_FULL, "w").message()),
              HasSubstr("w: database or disk is full"));
}

}  // namespace
}  // namespace cmdctl::store

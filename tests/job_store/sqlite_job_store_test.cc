// What only the SQLite store adds to the contract: the file, its mode,
// durability across reopening, and refusing files it must not touch.
#include "job_store/sqlite_job_store.h"

#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/job_store/store_test_support.h"
#include "tests/support/status_assert.h"

namespace cmdctl::test {
namespace {

using ::cmdctl::store::SqliteJobStore;
using ::testing::AllOf;
using ::testing::HasSubstr;

const absl::Time kT0 = absl::FromUnixNanos(1700000000123456789);

// Runs `sql` on the database at `path` with a connection of its own.
void RawExec(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(
      sqlite3_open_v2(path.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr),
      SQLITE_OK);
  char* error = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
  EXPECT_EQ(rc, SQLITE_OK) << sql << ": " << (error ? error : "");
  sqlite3_free(error);
  sqlite3_close(db);
}

mode_t ModeOf(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

class SqliteJobStoreTest : public ::testing::Test {
 protected:
  std::unique_ptr<SqliteJobStore> OpenOrDie() {
    absl::StatusOr<std::unique_ptr<SqliteJobStore>> store =
        SqliteJobStore::Open(path_);
    EXPECT_OK(store);
    return store.ok() ? *std::move(store) : nullptr;
  }

  // A closed database holding `n` full records, ids job-0000 ...
  void MakeDatabase(int n) {
    std::unique_ptr<SqliteJobStore> store = OpenOrDie();
    ASSERT_NE(store, nullptr);
    for (int i = 0; i < n; ++i) {
      ASSERT_OK(store->Insert(FullRecord(absl::StrFormat("job-%04d", i),
                                         "alice", kT0 + absl::Seconds(i), i)));
    }
  }

  // Open fails with `code` and a message naming the file and containing
  // `text`, and the file's bytes are as they were.
  void ExpectRefused(absl::StatusCode code, const std::string& text) {
    const std::string before = FileBytes(path_);
    ASSERT_FALSE(before.empty());
    for (int attempt = 0; attempt < 2; ++attempt) {
      absl::StatusOr<std::unique_ptr<SqliteJobStore>> store =
          SqliteJobStore::Open(path_);
      EXPECT_EQ(store.status().code(), code) << store.status();
      EXPECT_THAT(std::string(store.status().message()),
                  AllOf(HasSubstr(path_), HasSubstr(text)));
    }
    EXPECT_TRUE(FileBytes(path_) == before) << "the file was changed";
  }

  TempDir dir_;
  const std::string path_ = dir_.path() + "/cmdctl.db";
};

TEST_F(SqliteJobStoreTest, CreatesTheDatabaseWithMode0600) {
  ::umask(022);
  std::unique_ptr<SqliteJobStore> store = OpenOrDie();
  ASSERT_NE(store, nullptr);
  ASSERT_OK(store->Insert(SmallRecord("a", "alice", kT0)));
  EXPECT_EQ(ModeOf(path_), 0600u);
  // SQLite gives its WAL and shared-memory files the database's mode.
  EXPECT_EQ(ModeOf(path_ + "-wal"), 0600u);
  EXPECT_EQ(ModeOf(path_ + "-shm"), 0600u);
  EXPECT_EQ(store->path(), path_);
}

TEST_F(SqliteJobStoreTest, EveryChangeSurvivesReopening) {
  {
    std::unique_ptr<SqliteJobStore> store = OpenOrDie();
    ASSERT_NE(store, nullptr);
    ASSERT_OK(store->Insert(FullRecord("kept", "alice", kT0, 1)));
    ASSERT_OK(store->Insert(FullRecord("updated", "alice", kT0, 2)));
    ASSERT_OK(store->Insert(FullRecord("deleted", "alice", kT0, 3)));
    ASSERT_OK(store->Update(FullRecord("updated", "bob", kT0, 4)));
    ASSERT_OK(store->Delete("deleted"));
  }
  std::unique_ptr<SqliteJobStore> store = OpenOrDie();
  ASSERT_NE(store, nullptr);
  absl::StatusOr<JobRecord> kept = store->Get("kept");
  ASSERT_OK(kept);
  EXPECT_TRUE(SameRecord(FullRecord("kept", "alice", kT0, 1), *kept));
  absl::StatusOr<JobRecord> updated = store->Get("updated");
  ASSERT_OK(updated);
  EXPECT_TRUE(SameRecord(FullRecord("updated", "bob", kT0, 4), *updated));
  EXPECT_EQ(store->Get("deleted").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(SqliteJobStoreTest, AnEmptyFileBecomesADatabase) {
  std::ofstream(path_).close();  // as a start killed before the schema
  std::unique_ptr<SqliteJobStore> store = OpenOrDie();
  ASSERT_NE(store, nullptr);
  EXPECT_OK(store->Insert(SmallRecord("a", "alice", kT0)));
}

TEST_F(SqliteJobStoreTest, ADamagedFileIsRefusedAndLeftAsItIs) {
  MakeDatabase(300);
  ASSERT_NE(::access((path_ + "-wal").c_str(), F_OK), 0)
      << "closing should have checkpointed and removed the WAL";
  std::string bytes = FileBytes(path_);
  // The page size: a big-endian 16-bit field at offset 16 of the header.
  const size_t page_size = (static_cast<unsigned char>(bytes[16]) << 8) |
                           static_cast<unsigned char>(bytes[17]);
  ASSERT_GE(bytes.size(), page_size * 4);
  // Overwrite the start of pages 2 and 3 (the jobs table's root and the
  // primary key's): what a torn write or a stray write leaves.
  for (size_t page : {1, 2}) {
    for (size_t i = 0; i < 64; ++i) bytes[page * page_size + i] = '\xa5';
  }
  std::ofstream(path_, std::ios::binary | std::ios::trunc) << bytes;
  ExpectRefused(absl::StatusCode::kInternal, "damaged");
}

TEST_F(SqliteJobStoreTest, AFileThatIsNotADatabaseIsRefusedAndLeftAsItIs) {
  MakeDatabase(10);
  std::string bytes = FileBytes(path_);
  bytes.replace(0, 16, "not SQLite 3 :-");  // the header's magic string
  std::ofstream(path_, std::ios::binary | std::ios::trunc) << bytes;
  ExpectRefused(absl::StatusCode::kInternal, "damaged");
}

TEST_F(SqliteJobStoreTest, ANewerSchemaVersionIsRefusedAndLeftAsItIs) {
  MakeDatabase(3);
  RawExec(path_, "PRAGMA user_version = 2");
  ExpectRefused(absl::StatusCode::kFailedPrecondition, "schema version 2");
}

TEST_F(SqliteJobStoreTest, AnotherApplicationsDatabaseIsRefusedAndLeftAsItIs) {
  RawExec(path_, "CREATE TABLE jobs (x); INSERT INTO jobs VALUES (1);");
  ExpectRefused(absl::StatusCode::kFailedPrecondition,
                "not a cmdctl job database");
}

TEST_F(SqliteJobStoreTest, ASymbolicLinkIsNotFollowed) {
  const std::string target = dir_.path() + "/elsewhere.db";
  ASSERT_EQ(::symlink(target.c_str(), path_.c_str()), 0);
  absl::StatusOr<std::unique_ptr<SqliteJobStore>> dangling =
      SqliteJobStore::Open(path_);
  EXPECT_EQ(dangling.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(dangling.status().message()),
              AllOf(HasSubstr(path_), HasSubstr("symbolic link")));
  EXPECT_NE(::access(target.c_str(), F_OK), 0) << "created through the link";
  ASSERT_EQ(::unlink(path_.c_str()), 0);
  // Nor a link to a good database.
  {
    absl::StatusOr<std::unique_ptr<SqliteJobStore>> store =
        SqliteJobStore::Open(target);
    ASSERT_OK(store);
  }
  ASSERT_EQ(::symlink(target.c_str(), path_.c_str()), 0);
  EXPECT_EQ(SqliteJobStore::Open(path_).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(SqliteJobStoreTest, AMissingDirectoryIsAnErrorNamingThePath) {
  const std::string path = dir_.path() + "/missing/cmdctl.db";
  absl::StatusOr<std::unique_ptr<SqliteJobStore>> store =
      SqliteJobStore::Open(path);
  EXPECT_FALSE(store.ok());
  EXPECT_THAT(std::string(store.status().message()), HasSubstr(path));
}

TEST_F(SqliteJobStoreTest, ADamagedRecordIsInternalNamingTheJob) {
  std::unique_ptr<SqliteJobStore> store = OpenOrDie();
  ASSERT_NE(store, nullptr);
  ASSERT_OK(store->Insert(SmallRecord("bad-body", "alice", kT0)));
  ASSERT_OK(store->Insert(SmallRecord("bad-state", "alice", kT0)));
  ASSERT_OK(store->Insert(SmallRecord("good", "alice", kT0)));
  RawExec(path_,
          "UPDATE jobs SET body = x'ffffffffff' WHERE job_id = 'bad-body';"
          "UPDATE jobs SET state = 99 WHERE job_id = 'bad-state';");
  for (const char* id : {"bad-body", "bad-state"}) {
    absl::StatusOr<JobRecord> got = store->Get(id);
    EXPECT_EQ(got.status().code(), absl::StatusCode::kInternal);
    EXPECT_THAT(std::string(got.status().message()),
                AllOf(HasSubstr(id), HasSubstr(path_)));
  }
  EXPECT_EQ(
      store->List(JobQuery{"alice", std::nullopt, "", 10, ""}).status().code(),
      absl::StatusCode::kInternal);
  EXPECT_OK(store->Get("good"));
}

}  // namespace
}  // namespace cmdctl::test

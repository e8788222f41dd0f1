#include "job_store/sqlite_job_store.h"

#include <sqlite3.h>

#include <optional>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "glog/logging.h"
#include "job_store/list_order.h"
#include "job_store/sqlite_open.h"

namespace cmdctl::store {
namespace {

// Every query selects the columns of a JobRow in this order.
constexpr char kSelectRow[] =
    "SELECT job_id, owner, state, started_at, ended_at, body FROM jobs ";

// kRunningCode is written out (1) where a partial index must match the query
// literally (sqlite_open.cc).
constexpr char kInsertSql[] =
    "INSERT INTO jobs (job_id, owner, state, started_at, ended_at, body) "
    "VALUES (:job_id, :owner, :state, :started_at, :ended_at, :body)";
constexpr char kUpdateSql[] =
    "UPDATE jobs SET owner = :owner, state = :state, started_at = "
    ":started_at, ended_at = :ended_at, body = :body WHERE job_id = :job_id";
constexpr char kGetWhere[] = "WHERE job_id = :job_id";
constexpr char kLoadRunningWhere[] = "WHERE state = 1";
constexpr char kEndedBeforeWhere[] =
    "WHERE state <> 1 AND ended_at < :cutoff ORDER BY ended_at, job_id "
    "LIMIT :limit";
constexpr char kDeleteSql[] = "DELETE FROM jobs WHERE job_id = :job_id";

// List: the newest of one owner's rows after the page token's position.
// (started_at, job_id) < (a, b) is a range on the same index as the ORDER
// BY, so a later page costs what the first does.
//
// An id prefix is a range on the primary key, not a LIKE: '%' and '_' are
// literal. Which index serves it depends on the prefix: the owner's index
// in list order stops after a page of matches but scans the owner's whole
// list when few ids match; the primary key's range reads only the matching
// ids (of every owner) and sorts them. Job ids are random UUIDs: a prefix
// of two or more characters matches at most 1/256 of them and takes the
// range, a one-character prefix (1/16) the owner's list. With 100,000
// records (bench/store_bench.cc, BM_ListByPrefix): 0.3 ms for one
// character, 6 ms for two (either way), 0.2 ms for three, 0.03 ms for four
// or more, where the owner's list would take 30 ms. `+owner` keeps SQLite
// off the owner's indexes.
constexpr size_t kMinPrefixForIdRange = 2;

// A shape is a set of these bits.
constexpr int kHasState = 1;
constexpr int kHasPrefix = 2;
constexpr int kHasPrefixEnd = 4;
constexpr int kHasToken = 8;
constexpr int kByIdRange = 16;

std::string ListSql(int shape) {
  std::string sql =
      absl::StrCat(kSelectRow, shape & kByIdRange ? "WHERE +owner = :owner"
                                                  : "WHERE owner = :owner");
  if (shape & kHasState) sql += " AND state = :state";
  if (shape & kHasPrefix) sql += " AND job_id >= :prefix";
  if (shape & kHasPrefixEnd) sql += " AND job_id < :prefix_end";
  if (shape & kHasToken) {
    sql += " AND (started_at, job_id) < (:after_started_at, :after_job_id)";
  }
  sql += " ORDER BY started_at DESC, job_id DESC LIMIT :limit";
  return sql;
}

void BindRow(Statement& st, const JobRow& row) {
  st.BindText(":job_id", row.job_id);
  st.BindText(":owner", row.owner);
  st.BindInt64(":state", row.state);
  st.BindInt64(":started_at", row.started_at_ns);
  st.BindInt64(":ended_at", row.ended_at_ns);
  st.BindBlob(":body", row.body);
}

absl::StatusOr<std::vector<JobRecord>> DecodeRows(
    const std::vector<JobRow>& rows, const std::string& path) {
  std::vector<JobRecord> records;
  records.reserve(rows.size());
  for (const JobRow& row : rows) {
    absl::StatusOr<JobRecord> record = DecodeRow(row);
    if (!record.ok()) {
      return absl::InternalError(
          absl::StrCat(path, ": ", record.status().message()));
    }
    records.push_back(*std::move(record));
  }
  return records;
}

std::string Quoted(const std::string& id) {
  return absl::StrCat("\"", absl::CHexEscape(id), "\"");
}

}  // namespace

absl::StatusOr<std::unique_ptr<SqliteJobStore>> SqliteJobStore::Open(
    const std::string& path) {
  absl::StatusOr<SqliteDb> db = OpenDatabase(path);
  if (!db.ok()) return db.status();
  std::unique_ptr<SqliteJobStore> store(
      new SqliteJobStore(path, *std::move(db)));
  absl::MutexLock lock(&store->mu_);
  if (absl::Status s = store->PrepareStatements(); !s.ok()) return s;
  return store;
}

SqliteJobStore::SqliteJobStore(std::string path, SqliteDb db)
    : path_(std::move(path)), db_(std::move(db)) {}

SqliteJobStore::~SqliteJobStore() = default;

absl::Status SqliteJobStore::PrepareStatements() {
  const std::pair<Statement*, std::string> statements[] = {
      {&insert_, kInsertSql},
      {&update_, kUpdateSql},
      {&get_, absl::StrCat(kSelectRow, kGetWhere)},
      {&load_running_, absl::StrCat(kSelectRow, kLoadRunningWhere)},
      {&ended_before_, absl::StrCat(kSelectRow, kEndedBeforeWhere)},
      {&delete_, kDeleteSql},
  };
  const std::string what = absl::StrCat("prepare statements on ", path_);
  for (const auto& [st, sql] : statements) {
    absl::StatusOr<Statement> prepared =
        Statement::Prepare(db_.get(), sql, what);
    if (!prepared.ok()) return prepared.status();
    *st = *std::move(prepared);
  }
  return absl::OkStatus();
}

absl::StatusOr<Statement*> SqliteJobStore::ListStatement(int shape) {
  Statement& st = list_[shape];
  if (!st.prepared()) {
    absl::StatusOr<Statement> prepared = Statement::Prepare(
        db_.get(), ListSql(shape), absl::StrCat("prepare a list on ", path_));
    if (!prepared.ok()) return prepared.status();
    st = *std::move(prepared);
  }
  return &st;
}

absl::Status SqliteJobStore::Error(int rc, const std::string& what) {
  absl::Status status = SqliteStatus(db_.get(), rc, what);
  if (!absl::IsAlreadyExists(status)) LOG(WARNING) << status;
  return status;
}

absl::StatusOr<int> SqliteJobStore::Write(Statement& st,
                                          const std::string& what) {
  absl::Cleanup reset = [&st] { st.Reset(); };
  const int rc = st.Step();
  if (rc != SQLITE_DONE) return Error(rc, what);
  return sqlite3_changes(db_.get());
}

absl::Status SqliteJobStore::WriteExisting(Statement& st,
                                           const std::string& what,
                                           const std::string& job_id) {
  absl::StatusOr<int> changed = Write(st, what);
  if (!changed.ok()) return changed.status();
  if (*changed == 0) {
    return absl::NotFoundError(
        absl::StrCat("no record of job ", Quoted(job_id)));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<JobRow>> SqliteJobStore::ReadRows(
    Statement& st, const std::string& what) {
  absl::Cleanup reset = [&st] { st.Reset(); };
  std::vector<JobRow> rows;
  int rc;
  while ((rc = st.Step()) == SQLITE_ROW) {
    rows.push_back(JobRow{st.ColumnBytes(0), st.ColumnBytes(1),
                          st.ColumnInt64(2), st.ColumnInt64(3),
                          st.ColumnInt64(4), st.ColumnBytes(5)});
  }
  if (rc != SQLITE_DONE) return Error(rc, what);
  return rows;
}

absl::Status SqliteJobStore::Insert(const JobRecord& record) {
  const JobRow row = EncodeRow(record);
  const std::string what =
      absl::StrCat("insert job ", Quoted(row.job_id), " into ", path_);
  absl::MutexLock lock(&mu_);
  BindRow(insert_, row);
  // A taken id fails the primary key: ALREADY_EXISTS (SqliteStatus).
  return Write(insert_, what).status();
}

absl::Status SqliteJobStore::Update(const JobRecord& record) {
  const JobRow row = EncodeRow(record);
  const std::string what =
      absl::StrCat("update job ", Quoted(row.job_id), " in ", path_);
  absl::MutexLock lock(&mu_);
  BindRow(update_, row);
  return WriteExisting(update_, what, row.job_id);
}

absl::StatusOr<JobRecord> SqliteJobStore::Get(const std::string& job_id) {
  const std::string what =
      absl::StrCat("read job ", Quoted(job_id), " from ", path_);
  absl::StatusOr<std::vector<JobRow>> rows;
  {
    absl::MutexLock lock(&mu_);
    get_.BindText(":job_id", job_id);
    rows = ReadRows(get_, what);
  }
  if (!rows.ok()) return rows.status();
  if (rows->empty()) {
    return absl::NotFoundError(
        absl::StrCat("no record of job ", Quoted(job_id)));
  }
  absl::StatusOr<std::vector<JobRecord>> records = DecodeRows(*rows, path_);
  if (!records.ok()) return records.status();
  return std::move(records->front());
}

absl::StatusOr<std::vector<JobRecord>> SqliteJobStore::LoadRunning() {
  absl::StatusOr<std::vector<JobRow>> rows;
  {
    absl::MutexLock lock(&mu_);
    rows =
        ReadRows(load_running_, absl::StrCat("read running jobs from ", path_));
  }
  if (!rows.ok()) return rows.status();
  return DecodeRows(*rows, path_);
}

absl::StatusOr<JobPage> SqliteJobStore::List(const JobQuery& query) {
  absl::StatusOr<int> page_size = ResolvePageSize(query.page_size);
  if (!page_size.ok()) return page_size.status();
  std::optional<ListKey> after;
  if (!query.page_token.empty()) {
    absl::StatusOr<ListKey> key = DecodePageToken(query.page_token);
    if (!key.ok()) return key.status();
    after = *std::move(key);
  }
  const std::optional<std::string> prefix_end =
      PrefixSuccessor(query.job_id_prefix);
  int shape = 0;
  if (query.state.has_value()) shape |= kHasState;
  if (!query.job_id_prefix.empty()) shape |= kHasPrefix;
  if (prefix_end.has_value()) shape |= kHasPrefixEnd;
  if (after.has_value()) shape |= kHasToken;
  if (query.job_id_prefix.size() >= kMinPrefixForIdRange) shape |= kByIdRange;

  absl::StatusOr<std::vector<JobRow>> rows;
  {
    absl::MutexLock lock(&mu_);
    absl::StatusOr<Statement*> st = ListStatement(shape);
    if (!st.ok()) return st.status();
    Statement& list = **st;
    list.BindText(":owner", query.owner);
    if (query.state.has_value()) {
      list.BindInt64(":state", StateCode(*query.state));
    }
    list.BindText(":prefix", query.job_id_prefix);
    if (prefix_end.has_value()) list.BindText(":prefix_end", *prefix_end);
    if (after.has_value()) {
      list.BindInt64(":after_started_at", after->started_at_ns);
      list.BindText(":after_job_id", after->job_id);
    }
    // One row more than the page: whether there is a next page.
    list.BindInt64(":limit", *page_size + 1);
    rows = ReadRows(list, absl::StrCat("list jobs in ", path_));
  }
  if (!rows.ok()) return rows.status();
  JobPage page;
  if (static_cast<int>(rows->size()) > *page_size) {
    rows->resize(*page_size);
    const JobRow& last = rows->back();
    page.next_page_token =
        EncodePageToken(ListKey{last.started_at_ns, last.job_id});
  }
  absl::StatusOr<std::vector<JobRecord>> records = DecodeRows(*rows, path_);
  if (!records.ok()) return records.status();
  page.records = *std::move(records);
  return page;
}

absl::StatusOr<std::vector<JobRecord>> SqliteJobStore::EndedBefore(
    absl::Time cutoff, int limit) {
  if (limit <= 0) return std::vector<JobRecord>();
  absl::StatusOr<std::vector<JobRow>> rows;
  {
    absl::MutexLock lock(&mu_);
    ended_before_.BindInt64(":cutoff", TimeToNanos(cutoff));
    ended_before_.BindInt64(":limit", limit);
    rows =
        ReadRows(ended_before_, absl::StrCat("read ended jobs from ", path_));
  }
  if (!rows.ok()) return rows.status();
  return DecodeRows(*rows, path_);
}

absl::Status SqliteJobStore::Delete(const std::string& job_id) {
  const std::string what =
      absl::StrCat("delete job ", Quoted(job_id), " from ", path_);
  absl::MutexLock lock(&mu_);
  delete_.BindText(":job_id", job_id);
  return WriteExisting(delete_, what, job_id);
}

}  // namespace cmdctl::store

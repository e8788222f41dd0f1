// cmdctl_store_bench (Google Benchmark): what the job records cost
// (job_store/, docs/ARCHITECTURE.md "Job records"):
//   - Insert and Update: one committed transaction each (WAL,
//     synchronous=NORMAL), on a database of 10,000 records;
//   - ListFirstPage: the first page (100) of one owner's 100,000 records,
//     and ListLaterPage the 500th; ListByPrefix: a 4- and a 1-character id
//     prefix;
//   - Open: a whole open (the start-up check included) of a database of
//     10,000 and of 100,000 records; Check: the two candidate start-up
//     checks alone, PRAGMA quick_check and PRAGMA integrity_check.
// Each latency benchmark also reports p50_us and p99_us, from a clock read
// around every operation. The databases are built once per run under
// $CMDCTL_BENCH_DIR (default /var/tmp: a disk, as /var/lib/cmdctl is),
// with page-cached files.
// Run: build/bin/cmdctl_store_bench [--benchmark_filter=...]
#include <sqlite3.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "benchmark/benchmark.h"
#include "job_store/sqlite_job_store.h"

namespace {

using ::cmdctl::JobPage;
using ::cmdctl::JobQuery;
using ::cmdctl::JobRecord;
using ::cmdctl::JobState;
using ::cmdctl::store::SqliteJobStore;

const absl::Time kT0 = absl::FromUnixSeconds(1700000000);

std::mt19937_64& Rng() {
  static std::mt19937_64 rng(42);
  return rng;
}

// A random version-4-shaped UUID, as the domain makes job ids.
std::string RandomId() {
  const uint64_t a = Rng()(), b = Rng()();
  return absl::StrFormat("%08x-%04x-4%03x-%04x-%012x", a >> 32,
                         (a >> 16) & 0xffff, a & 0xfff,
                         0x8000 | ((b >> 48) & 0x3fff), b & 0xffffffffffff);
}

// A record as a typical job leaves it (a short command line, host state).
JobRecord TypicalRecord(const std::string& id, int i) {
  JobRecord r;
  cmdctl::JobStatus& s = r.status;
  s.job_id = id;
  s.owner = "alice";
  s.run_as = "alice";
  s.command = "/usr/bin/rsync";
  s.args = {"-a", "--delete", "/srv/data/", absl::StrCat("backup:/data/", i)};
  s.started_at = kT0 + absl::Milliseconds(i);
  const bool running = i % 100 == 0;
  s.state = running ? JobState::kRunning : JobState::kExited;
  s.ended_at = running ? absl::InfinitePast() : s.started_at + absl::Seconds(3);
  s.pid = 10000 + i % 30000;
  s.limits.memory_bytes = 1 << 30;
  s.limits.cpu_millicores = 1000;
  s.usage.cpu_user = absl::Milliseconds(1234);
  s.usage.memory_peak_bytes = 50 << 20;
  s.output[0].written = 123456;
  r.host_state =
      absl::StrCat("monitor pid=", 20000 + i % 30000,
                   " start=123456789 dev=2049 stdout_ino=", 100000 + i,
                   " stderr_ino=", 200000 + i, " cgroup=/cmdctl/", id);
  return r;
}

// Never destroyed, so that the exit handler can still read it.
const std::string& BenchDir() {
  static const std::string* const dir = [] {
    const char* base = getenv("CMDCTL_BENCH_DIR");
    std::string tmpl =
        absl::StrCat(base ? base : "/var/tmp", "/cmdctl-store-bench.XXXXXX");
    if (mkdtemp(tmpl.data()) == nullptr) abort();
    std::atexit([] {
      std::error_code ignored;
      std::filesystem::remove_all(BenchDir(), ignored);
    });
    return new std::string(tmpl);
  }();
  return *dir;
}

struct Database {
  std::string path;
  std::vector<std::string> ids;  // in insertion (started_at) order
};

// A database of `records` typical records, built once per size and name.
const Database& DatabaseOf(int records, const std::string& name = "jobs") {
  static auto* built = new std::map<std::string, Database>();
  const std::string path =
      absl::StrCat(BenchDir(), "/", name, "-", records, ".db");
  auto it = built->find(path);
  if (it != built->end()) return it->second;
  Database db{path, {}};
  auto store = SqliteJobStore::Open(db.path);
  if (!store.ok()) abort();
  for (int i = 0; i < records; ++i) {
    db.ids.push_back(RandomId());
    if (!(*store)->Insert(TypicalRecord(db.ids.back(), i)).ok()) abort();
  }
  return built->emplace(path, std::move(db)).first->second;
}

// Times each call of `op` and reports the median and 99th percentile.
template <typename Op>
void Measure(benchmark::State& state, Op op) {
  std::vector<double> us;
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    op();
    us.push_back(std::chrono::duration<double, std::micro>(
                     std::chrono::steady_clock::now() - start)
                     .count());
  }
  std::sort(us.begin(), us.end());
  state.counters["p50_us"] = us[us.size() / 2];
  state.counters["p99_us"] = us[us.size() * 99 / 100];
}

std::unique_ptr<SqliteJobStore> OpenOrDie(const std::string& path) {
  auto store = SqliteJobStore::Open(path);
  if (!store.ok()) abort();
  return *std::move(store);
}

void BM_Insert(benchmark::State& state) {
  // A database of its own: the others keep their size.
  auto store = OpenOrDie(DatabaseOf(10000, "insert").path);
  int i = 10000;
  Measure(state, [&] {
    if (!store->Insert(TypicalRecord(RandomId(), i++)).ok()) abort();
  });
}
BENCHMARK(BM_Insert);

void BM_Update(benchmark::State& state) {
  const Database& db = DatabaseOf(10000);
  auto store = OpenOrDie(db.path);
  int i = 0;
  Measure(state, [&] {
    JobRecord r = TypicalRecord(db.ids[i % db.ids.size()], i);
    r.status.state = JobState::kStopped;
    ++i;
    if (!store->Update(r).ok()) abort();
  });
}
BENCHMARK(BM_Update);

void BM_ListFirstPage(benchmark::State& state) {
  auto store = OpenOrDie(DatabaseOf(static_cast<int>(state.range(0))).path);
  Measure(state, [&] {
    auto page = store->List(JobQuery{"alice", std::nullopt, "", 100, ""});
    if (!page.ok() || page->records.size() != 100) abort();
  });
}
BENCHMARK(BM_ListFirstPage)->Arg(100000);

void BM_ListLaterPage(benchmark::State& state) {
  auto store = OpenOrDie(DatabaseOf(static_cast<int>(state.range(0))).path);
  JobQuery query{"alice", std::nullopt, "", 100, ""};
  for (int page = 0; page < 499; ++page) {
    query.page_token = store->List(query)->next_page_token;
  }
  Measure(state, [&] {
    auto page = store->List(query);
    if (!page.ok() || page->records.size() != 100) abort();
  });
}
BENCHMARK(BM_ListLaterPage)->Arg(100000);

void BM_ListByPrefix(benchmark::State& state) {
  const Database& db = DatabaseOf(100000);
  auto store = OpenOrDie(db.path);
  const size_t length = static_cast<size_t>(state.range(0));
  int i = 0;
  Measure(state, [&] {
    const std::string prefix =
        db.ids[(i++ * 7919) % db.ids.size()].substr(0, length);
    auto page = store->List(JobQuery{"alice", std::nullopt, prefix, 100, ""});
    if (!page.ok() || page->records.empty()) abort();
  });
}
BENCHMARK(BM_ListByPrefix)->Arg(1)->Arg(2)->Arg(3)->Arg(4)->Arg(36);

void BM_Open(benchmark::State& state) {
  const std::string& path = DatabaseOf(static_cast<int>(state.range(0))).path;
  Measure(state, [&] { benchmark::DoNotOptimize(OpenOrDie(path)); });
}
BENCHMARK(BM_Open)->Arg(10000)->Arg(100000)->Unit(benchmark::kMillisecond);

// The start-up check alone: 0 quick_check, 1 integrity_check.
void BM_Check(benchmark::State& state) {
  const std::string& path = DatabaseOf(static_cast<int>(state.range(0))).path;
  const char* sql =
      state.range(1) == 0 ? "PRAGMA quick_check" : "PRAGMA integrity_check";
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) !=
      SQLITE_OK) {
    abort();
  }
  Measure(state, [&] {
    if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK) abort();
  });
  sqlite3_close(db);
  state.SetLabel(sql);
}
BENCHMARK(BM_Check)
    ->Args({10000, 0})
    ->Args({10000, 1})
    ->Args({100000, 0})
    ->Args({100000, 1})
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();

// Figure 6 (records): what job records and the per-job monitor cost
// (issue 10, SPEC §9; docs/BENCHMARKS.md): RunProcess(true) against the
// posix_spawn floor, the server's memory and fds after 100,000 ended jobs,
// the first `list` page with 100,000 records, and a restart with 10,000.
#include <signal.h>

#include <atomic>
#include <thread>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/bench.h"
#include "bench/side_server.h"

namespace cmdctl::bench {
namespace {

constexpr char kFigure[] = "6 records";

struct Burst {
  int started = 0;
  int failed = 0;
  double seconds = 0;
  absl::Status first_error;
};

// Starts `n` jobs of `true` from `threads` threads at once (each RunProcess
// returns once `true` was executed), for at most `max_seconds`.
Burst StartMany(CmdctlClient* client, int n, int threads, double max_seconds) {
  std::atomic<int> next{0}, started{0}, failed{0};
  absl::Mutex mu;
  absl::Status first_error;
  auto t0 = Clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      while (SecondsSince(t0) < max_seconds && next.fetch_add(1) < n) {
        absl::StatusOr<std::string> id = client->Run("true", {});
        if (id.ok()) {
          started.fetch_add(1);
          continue;
        }
        failed.fetch_add(1);
        absl::MutexLock lock(&mu);
        if (first_error.ok()) first_error = id.status();
      }
    });
  }
  for (std::thread& t : pool) t.join();
  return {started.load(), failed.load(), SecondsSince(t0), first_error};
}

// Waits until the server lists no running job (at most `max_seconds`).
absl::Status WaitNoneRunning(CmdctlClient* client, double max_seconds) {
  auto t0 = Clock::now();
  for (;;) {
    absl::StatusOr<v1::ListProcessesResponse> page =
        client->List(1, v1::JOB_STATE_RUNNING);
    if (!page.ok()) return page.status();
    if (page->processes_size() == 0) return absl::OkStatus();
    if (SecondsSince(t0) > max_seconds) {
      return absl::DeadlineExceededError(
          absl::StrCat("jobs still running after ", max_seconds, " s"));
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
}

// `n` first pages (100 records, all states, newest first), one at a time.
absl::StatusOr<std::vector<double>> TimeFirstPages(CmdctlClient* client,
                                                   int n) {
  std::vector<double> out;
  for (int i = 0; i < n; ++i) {
    auto t0 = Clock::now();
    absl::StatusOr<v1::ListProcessesResponse> page = client->List(0);
    out.push_back(SecondsSince(t0));
    if (!page.ok()) return page.status();
  }
  return out;
}

std::string Count(int n) {
  std::string s = absl::StrCat(n);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(i, ",");
  return s;
}

}  // namespace

void Bench::Records() {
  if (!client_) return;
  std::vector<double> rpc, floor;
  absl::Status s = StartSamples(sizes_.rounds * sizes_.per_round, &rpc, &floor);
  if (!s.ok()) return Error("records", s);
  std::string note = absl::StrCat(
      rpc.size(), " samples alternated; record committed, monitor started");
  report_->Add({kFigure, "RunProcess(true) p50", Ms(Quantile(rpc, 0.5)), "ms",
                "posix_spawn+waitpid(true) p50", Ms(Quantile(floor, 0.5)),
                Better::kLower, Goal{Better::kLower, 2.0, true}, note});
  report_->Add({kFigure, "RunProcess(true) p99", Ms(Quantile(rpc, 0.99)), "ms",
                "posix_spawn+waitpid(true) p99", Ms(Quantile(floor, 0.99)),
                Better::kLower, std::nullopt, note});
  EndedJobs();
  Restart();
}

void Bench::EndedJobs() {
  const int n = sizes_.ended_jobs;
  if (absl::Status s = WaitNoneRunning(client_.get(), 60); !s.ok()) {
    return Error("records", s);
  }
  absl::StatusOr<std::vector<double>> list0 =
      TimeFirstPages(client_.get(), sizes_.list_samples);
  if (!list0.ok()) return Error("records", list0.status());
  absl::StatusOr<ProcSample> p0 = Server();
  absl::StatusOr<int> fds0 = CountFds(FLAGS_server_pid);
  Burst burst = StartMany(client_.get(), n, 8, sizes_.ended_seconds);
  if (!burst.first_error.ok()) {
    Error("records (ended jobs)",
          absl::Status(burst.first_error.code(),
                       absl::StrCat(burst.failed, " starts failed; first: ",
                                    burst.first_error.message())));
  }
  if (absl::Status s = WaitNoneRunning(client_.get(), 120); !s.ok()) {
    return Error("records", s);
  }
  absl::SleepFor(absl::Seconds(1));  // Let the last ends settle.
  absl::StatusOr<ProcSample> p1 = Server();
  absl::StatusOr<int> fds1 = CountFds(FLAGS_server_pid);
  const std::string jobs = absl::StrCat(Count(burst.started), " ended jobs");
  std::string note = absl::StrCat(
      Count(burst.started), " of ", Count(n), " `true` started in ",
      absl::SixDigits(burst.seconds), " s by 8 threads (",
      absl::SixDigits(burst.started / std::max(burst.seconds, 1e-9)),
      "/s), all ended");
  if (p0.ok() && p1.ok()) {
    report_->Add({kFigure, absl::StrCat("server RSS growth, ", jobs),
                  (p1->rss_kib - p0->rss_kib) / 1024.0, "MiB", "", 0,
                  Better::kLower, Goal{Better::kLower, 20},
                  absl::StrCat(note, "; RSS ", p0->rss_kib / 1024, " -> ",
                               p1->rss_kib / 1024, " MiB, peak ",
                               p1->hwm_kib / 1024, " MiB")});
    report_->Add(
        {kFigure, absl::StrCat("server CPU per job, ", jobs),
         Ms((p1->cpu_seconds - p0->cpu_seconds) / std::max(1, burst.started)),
         "ms", "", 0, Better::kLower, std::nullopt,
         "cmdctld utime+stime (monitors and jobs excluded)"});
  }
  if (fds0.ok() && fds1.ok()) {
    report_->Add({kFigure, absl::StrCat("server fds after ", jobs), 1.0 * *fds1,
                  "fds", "server fds before", 1.0 * *fds0, Better::kLower,
                  Goal{Better::kLower, 1.1, true}, "flat: within 10%"});
  }
  absl::StatusOr<std::vector<double>> list1 =
      TimeFirstPages(client_.get(), sizes_.list_samples);
  if (!list1.ok()) return Error("records", list1.status());
  report_->Add(
      {kFigure, absl::StrCat("first list page p50, +", jobs),
       Ms(Quantile(*list1, 0.5)), "ms", "the same before them",
       Ms(Quantile(*list0, 0.5)), Better::kLower, Goal{Better::kLower, 5},
       absl::StrCat(list1->size(), " ListProcesses of 100 (all states), p99 ",
                    absl::SixDigits(Ms(Quantile(*list1, 0.99))), " ms")});
  std::vector<double> rpc, floor;
  absl::Status s = StartSamples(sizes_.rounds * sizes_.per_round, &rpc, &floor);
  if (!s.ok()) return Error("records", s);
  report_->Add({kFigure, absl::StrCat("RunProcess(true) p50, +", jobs),
                Ms(Quantile(rpc, 0.5)), "ms", "posix_spawn+waitpid(true) p50",
                Ms(Quantile(floor, 0.5)), Better::kLower,
                Goal{Better::kLower, 2.0, true},
                absl::StrCat(rpc.size(), " samples alternated")});
}

void Bench::Restart() {
  if (FLAGS_cmdctld.empty()) return;
  SideServerConfig config{FLAGS_cmdctld,    FLAGS_server_cert, FLAGS_server_key,
                          FLAGS_ca,         config_,           FLAGS_work_dir,
                          {"--retention=0"}};
  // `full` gets the records; `empty` is the same server with none.
  SideServer full("restart", config), empty("empty", config);
  for (SideServer* side : {&full, &empty}) {
    absl::StatusOr<SideServer::Started> st = side->Start();
    if (!st.ok()) return Error("records (restart)", st.status());
  }
  const int n = sizes_.restart_records;
  Burst burst = StartMany(full.client(), n, 8, sizes_.ended_seconds);
  if (burst.started != n) {
    return Error("records (restart)",
                 absl::InternalError(absl::StrCat(
                     "started ", burst.started, " of ", n,
                     " jobs; first error: ", burst.first_error.ToString())));
  }
  if (absl::Status s = WaitNoneRunning(full.client(), 120); !s.ok()) {
    return Error("records (restart)", s);
  }
  std::vector<double> ours, peer;
  int first_page = 0;
  for (int r = 0; r < sizes_.restart_rounds; ++r) {
    for (SideServer* side : {&full, &empty}) {
      if (absl::Status s = side->Stop(); !s.ok()) {
        return Error("records (restart)", s);
      }
      absl::StatusOr<SideServer::Started> st = side->Start();
      if (!st.ok()) return Error("records (restart)", st.status());
      (side == &full ? ours : peer).push_back(st->seconds);
      if (side == &full) first_page = st->first_page;
    }
  }
  report_->Add(
      {kFigure,
       absl::StrCat("restart with ", Count(n), " records: exec -> list p50"),
       Ms(Quantile(ours, 0.5)), "ms", "the same with no record",
       Ms(Quantile(peer, 0.5)), Better::kLower, Goal{Better::kLower, 1000},
       absl::StrCat(ours.size(),
                    " SIGTERM+restarts each, alternated; a new TLS "
                    "connection included; first page held ",
                    first_page, " records")});
  for (SideServer* side : {&full, &empty}) {
    if (absl::Status s = side->Stop(); !s.ok()) Error("records (restart)", s);
  }
}

}  // namespace cmdctl::bench

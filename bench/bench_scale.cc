// Figure 5 (scale): 1,000 running jobs, 1,000 followers of one job
// (docs/BENCHMARKS.md).
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/bench.h"

namespace cmdctl::bench {

// ---------------------------------------------------------------- 5. Scale

void Bench::StopAll(std::vector<std::string>* ids) {
  for (const std::string& id : *ids) {
    absl::StatusOr<v1::JobState> s = client_->Stop(id, absl::Seconds(1));
    if (!s.ok()) Error("scale cleanup", s.status());
  }
  ids->clear();
}

void Bench::Scale() {
  if (!client_) return;
  ScaleJobs();
  ScaleFollowers();
}

void Bench::ScaleJobs() {
  // --- 1,000 running jobs.
  std::vector<std::string> ids;
  absl::Mutex ids_mu;
  absl::StatusOr<ProcSample> j0 = Server();
  auto t1 = Clock::now();
  std::vector<std::thread> starters;
  std::atomic<int> next{0};
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    starters.emplace_back([&] {
      while (next.fetch_add(1) < sizes_.jobs) {
        absl::StatusOr<std::string> job = client_->Run("sleep", {"3600"});
        if (!job.ok()) {
          if (failures.fetch_add(1) == 0) Error("scale jobs", job.status());
          continue;
        }
        absl::MutexLock lock(&ids_mu);
        ids.push_back(*job);
      }
    });
  }
  for (auto& t : starters) t.join();
  double start_s = SecondsSince(t1);
  absl::SleepFor(absl::Seconds(1));
  absl::StatusOr<ProcSample> j1 = Server();
  absl::SleepFor(absl::Seconds(sizes_.idle_seconds / 2));
  absl::StatusOr<ProcSample> j2 = Server();
  int started = static_cast<int>(ids.size());
  if (j0.ok() && j1.ok() && j2.ok()) {
    std::string note =
        absl::StrCat(started, " of ", sizes_.jobs, " started in ", start_s,
                     " s by 4 threads; server threads ", j2->threads);
    report_->Add({"5 scale",
                  absl::StrCat("server RSS, ", started, " running jobs"),
                  j2->rss_kib / 1024.0, "MiB", "server RSS before",
                  j0->rss_kib / 1024.0, Better::kLower, std::nullopt, note});
    report_->Add(
        {"5 scale", absl::StrCat("server CPU per job start"),
         Ms((j1->cpu_seconds - j0->cpu_seconds) / std::max(1, started)), "ms",
         "", 0, Better::kLower, std::nullopt, note});
    report_->Add({"5 scale",
                  absl::StrCat("server CPU, ", started, " idle jobs, ",
                               sizes_.idle_seconds / 2, " s"),
                  j2->cpu_seconds - j1->cpu_seconds, "s", "", 0, Better::kLower,
                  std::nullopt, note});
  }
  auto t2 = Clock::now();
  StopAll(&ids);
  report_->Add({"5 scale", absl::StrCat("stop ", started, " jobs one by one"),
                SecondsSince(t2), "s", "", 0, Better::kLower, std::nullopt,
                ""});
}

void Bench::ScaleFollowers() {
  const int n = sizes_.followers;
  // --- 1,000 followers of one job: idle first, then all receive everything.
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int c = 0; c < sizes_.follower_connections; ++c) {
    absl::StatusOr<std::shared_ptr<grpc::Channel>> ch = Connect(config_, c + 1);
    if (!ch.ok()) return Error("scale", ch.status());
    channels.push_back(*ch);
  }
  std::vector<std::unique_ptr<v1::ProcessService::Stub>> stubs;
  for (auto& ch : channels) stubs.push_back(v1::ProcessService::NewStub(ch));
  std::string gate = absl::StrCat(FLAGS_gate_dir, "/gate-", getpid());
  unlink(gate.c_str());
  absl::StatusOr<std::string> id = client_->Run(
      FLAGS_job, {"gate", gate, absl::StrCat(sizes_.follower_bytes)});
  if (!id.ok()) return Error("scale", id.status());
  absl::StatusOr<ProcSample> s0 = Server();
  DoneLatch latch;
  std::vector<std::unique_ptr<PatternFollower>> followers;
  for (int i = 0; i < n; ++i) {
    followers.push_back(std::make_unique<PatternFollower>(
        stubs[i % stubs.size()].get(), *id, /*full_check=*/i < 10, &latch));
    followers.back()->Start();
  }
  absl::SleepFor(absl::Seconds(FLAGS_quick ? 1 : 3));  // Let them settle.
  absl::StatusOr<ProcSample> s1 = Server();
  absl::SleepFor(absl::Seconds(sizes_.idle_seconds));
  absl::StatusOr<ProcSample> s2 = Server();
  if (s1.ok() && s2.ok()) {
    std::string note =
        absl::StrCat(n, " followers over ", channels.size(),
                     " connections; server threads ", s2->threads);
    report_->Add({"5 scale", absl::StrCat("server RSS, ", n, " idle followers"),
                  s2->rss_kib / 1024.0, "MiB", "server RSS before",
                  s0.ok() ? s0->rss_kib / 1024.0 : kNaN, Better::kLower,
                  Goal{Better::kLower, 200}, note});
    report_->Add({"5 scale",
                  absl::StrCat("server CPU, ", n, " idle followers, ",
                               sizes_.idle_seconds, " s"),
                  s2->cpu_seconds - s1->cpu_seconds, "s", "", 0, Better::kLower,
                  Goal{Better::kLower, 0.05}, note});
  }
  // Open the gate: the job writes its bytes; every follower must get all.
  std::atomic<bool> sampling{true};
  int64_t peak_rss_kib = 0;
  std::thread sampler([&] {
    while (sampling.load()) {
      absl::StatusOr<ProcSample> s = Server();
      if (s.ok()) peak_rss_kib = std::max(peak_rss_kib, s->rss_kib);
      absl::SleepFor(absl::Milliseconds(50));
    }
  });
  auto t0 = Clock::now();
  { std::ofstream(gate).put('\n'); }
  bool all = latch.WaitFor(n, absl::Seconds(FLAGS_quick ? 60 : 300));
  double seconds = SecondsSince(t0);
  sampling = false;
  sampler.join();
  unlink(gate.c_str());
  absl::StatusOr<ProcSample> s3 = Server();
  int complete = 0;
  uint64_t mismatches = 0;
  std::string first_error;
  for (auto& f : followers) {
    if (!all) continue;
    mismatches += f->mismatches();
    if (f->status().ok() && f->bytes() == sizes_.follower_bytes) {
      ++complete;
    } else if (first_error.empty()) {
      first_error =
          absl::StrCat("status ", f->status().error_code(), " ",
                       f->status().error_message(), ", ", f->bytes(), " bytes");
    }
  }
  if (!all) {
    for (auto& f : followers) f->Cancel();
    if (!latch.WaitFor(n, absl::Seconds(10))) {
      // Reactors still referenced by gRPC must outlive it: leak them.
      for (auto& f : followers) f.release();
    }
    Error("scale", absl::DeadlineExceededError(absl::StrCat(
                       latch.done(), " of ", n, " followers finished")));
  } else if (complete != n || mismatches != 0) {
    Error("scale", absl::DataLossError(absl::StrCat(
                       complete, " of ", n, " followers complete, ", mismatches,
                       " pattern mismatches; first: ", first_error)));
  }
  std::string note = absl::StrCat(
      n, " x ", sizes_.follower_bytes / 1024, " KiB in ", seconds,
      " s; complete ", complete, "/", n, ", mismatches ", mismatches);
  if (all && s2.ok() && s3.ok()) {
    report_->Add(
        {"5 scale", absl::StrCat("all ", n, " followers receive all"),
         n * static_cast<double>(sizes_.follower_bytes) / kGiB / seconds,
         "GiB/s", "", 0, Better::kHigher, std::nullopt, note});
    report_->Add({"5 scale",
                  absl::StrCat("server peak RSS, ", n, " active followers"),
                  peak_rss_kib / 1024.0, "MiB", "server RSS before",
                  s0.ok() ? s0->rss_kib / 1024.0 : kNaN, Better::kLower,
                  Goal{Better::kLower, 200}, note});
    report_->Add({"5 scale",
                  absl::StrCat("server CPU, ", n, " active followers"),
                  s3->cpu_seconds - s2->cpu_seconds, "s", "", 0, Better::kLower,
                  std::nullopt, note});
  }
  if (all) followers.clear();
  stubs.clear();
  channels.clear();
}

}  // namespace cmdctl::bench

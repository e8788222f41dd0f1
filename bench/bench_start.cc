// Figures 1 (start) and 4 (stop): cmdctl against posix_spawn, kill+waitpid
// and ssh (docs/BENCHMARKS.md).
#include <signal.h>
#include <unistd.h>

#include "absl/time/time.h"
#include "bench/bench.h"

namespace cmdctl::bench {

namespace {

// ---------------------------------------------------------------- 1. Start

double TimeSpawnTrue() {
  auto t0 = Clock::now();
  absl::StatusOr<int> rc = RunToEnd({"true"});
  double s = SecondsSince(t0);
  return rc.ok() && *rc == 0 ? s : kNaN;
}

}  // namespace

absl::Status Bench::StartSamples(int n, std::vector<double>* rpc,
                                 std::vector<double>* floor) {
  // One of each in turn: after a RunProcess the server still reaps the job
  // and removes its cgroup, and that background work must weigh on both
  // sides alike.
  for (int i = 0; i < n; ++i) {
    if (client_) {
      auto t0 = Clock::now();
      absl::StatusOr<std::string> id = client_->Run("true", {});
      double s = SecondsSince(t0);
      if (!id.ok()) return id.status();
      rpc->push_back(s);
    }
    floor->push_back(TimeSpawnTrue());
  }
  return absl::OkStatus();
}

void Bench::Start() {
  std::vector<double> rpc, floor;
  absl::Status started =
      StartSamples(sizes_.rounds * sizes_.per_round, &rpc, &floor);
  if (!started.ok()) return Error("start", started);
  std::string n = absl::StrCat(rpc.size(), " samples, warm channel");
  report_->Add({"1 start", "RunProcess(true) p50", Ms(Quantile(rpc, 0.5)), "ms",
                "posix_spawn+waitpid(true) p50", Ms(Quantile(floor, 0.5)),
                Better::kLower, Goal{Better::kLower, 1.5, true}, n});
  report_->Add({"1 start", "RunProcess(true) p99", Ms(Quantile(rpc, 0.99)),
                "ms", "posix_spawn+waitpid(true) p99",
                Ms(Quantile(floor, 0.99)), Better::kLower,
                Goal{Better::kLower, 3.0, true}, n});

  // Cold: a new process, a new connection, the whole command.
  std::vector<double> cli, ssh_new, ssh_mux;
  bool mux = false;
  if (ssh_) {
    absl::Status s = ssh_->StartMaster(FLAGS_work_dir + "/ssh-master.sock");
    if (!s.ok()) Error("start", s);
    mux = s.ok();
  }
  std::vector<double> cli_cpu, ssh_cpu;  // The client process's own CPU.
  auto time_run = [this](const std::vector<std::string>& argv,
                         std::vector<double>* out, absl::string_view what,
                         std::vector<double>* cpu = nullptr) {
    auto t0 = Clock::now();
    double cpu_s = 0;
    absl::StatusOr<int> rc = RunToEnd(argv, -1, -1, &cpu_s);
    double s = SecondsSince(t0);
    if (cpu != nullptr) cpu->push_back(cpu_s);
    if (!rc.ok() || *rc != 0) {
      Error("start", rc.ok() ? absl::InternalError(
                                   absl::StrCat(what, " exited with ", *rc))
                             : rc.status());
      return;
    }
    out->push_back(s);
  };
  for (int i = 0; i < sizes_.cold_runs; ++i) {
    if (client_ && !FLAGS_cli.empty()) {
      time_run(CliArgv({"run", "--wait", "true"}), &cli,
               "cmdctl run --wait true", &cli_cpu);
    }
    if (ssh_) {
      time_run(ssh_->Argv("true", false), &ssh_new, "ssh true", &ssh_cpu);
      if (mux) time_run(ssh_->Argv("true", true), &ssh_mux, "ssh (mux) true");
    }
  }
  std::string note = absl::StrCat(cli.size(), " runs; cold process");
  report_->Add({"1 start", "cmdctl run --wait true p50 (cold)",
                Ms(Quantile(cli, 0.5)), "ms", "ssh localhost true (new conn)",
                Ms(Quantile(ssh_new, 0.5)), Better::kLower,
                Goal{Better::kLower, 0.1, true}, note});
  report_->Add(
      {"1 start", "cmdctl run --wait true p50 (cold)", Ms(Quantile(cli, 0.5)),
       "ms", "ssh localhost true (ControlMaster)", Ms(Quantile(ssh_mux, 0.5)),
       Better::kLower, Goal{Better::kLower, 1.5, true}, note});
  report_->Add({"1 start", "cmdctl run --wait true: client CPU p50",
                Ms(Quantile(cli_cpu, 0.5)), "ms",
                "ssh localhost true: client CPU p50",
                Ms(Quantile(ssh_cpu, 0.5)), Better::kLower, std::nullopt,
                "user+sys of the client process (wait4 rusage)"});
}

// ---------------------------------------------------------------- 4. Stop

void Bench::Stop() {
  std::vector<double> ours, floor;
  for (int i = 0; i < sizes_.stop_runs; ++i) {
    if (client_) {
      absl::StatusOr<std::string> id = client_->Run("sleep", {"600"});
      if (!id.ok()) return Error("stop", id.status());
      auto t0 = Clock::now();
      absl::StatusOr<v1::JobState> state = client_->Stop(*id, absl::Seconds(5));
      double s = SecondsSince(t0);
      if (!state.ok()) return Error("stop", state.status());
      if (*state != v1::JOB_STATE_STOPPED) {
        return Error("stop", absl::InternalError(absl::StrCat(
                                 "stopped job in state ", *state)));
      }
      ours.push_back(s);
    }
    absl::StatusOr<pid_t> pid = Spawn({"sleep", "600"});
    if (!pid.ok()) return Error("stop", pid.status());
    usleep(2000);  // Let it exec, as RunProcess does before returning.
    auto t0 = Clock::now();
    kill(*pid, SIGTERM);
    WaitPid(*pid);
    floor.push_back(SecondsSince(t0));
  }
  report_->Add({"4 stop", "StopProcess(sleep, TERM) p50",
                Ms(Quantile(ours, 0.5)), "ms", "kill(TERM)+waitpid p50",
                Ms(Quantile(floor, 0.5)), Better::kLower,
                Goal{Better::kLower, 2.0},
                absl::StrCat(ours.size(), " stops, grace 5 s")});
}

}  // namespace cmdctl::bench

// cmdctl_bench: cmdctl against the physical limit and against OpenSSH, side by
// side in one run (docs/BENCHMARKS.md). bench/run.sh starts the servers and
// passes their addresses; this program measures, prints a table and writes
// JSON. Every figure alternates cmdctl and its peer round by round, so noise
// from other work on the machine hits both sides alike.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/cmdctl_client.h"
#include "bench/measure.h"
#include "bench/raw_tls.h"
#include "bench/report.h"
#include "bench/ssh_peer.h"
#include "gflags/gflags.h"
#include "tls/tls_policy.h"

DEFINE_string(server, "", "cmdctld address (host:port); empty: peers only");
DEFINE_string(ca, "", "CA certificate (PEM)");
DEFINE_string(cert, "", "client certificate (PEM)");
DEFINE_string(key, "", "client private key (PEM)");
DEFINE_string(tls_server_name, "", "override of the server name to verify");
DEFINE_int32(server_pid, 0, "cmdctld's pid, for its CPU and memory");
DEFINE_string(cli, "", "path to the cmdctl binary");
DEFINE_string(job, "", "path to cmdctl_bench_job, executable by the job user");
DEFINE_string(gate_dir, "", "directory the job user can read, for gate files");
DEFINE_int32(tls_port, 0, "port of cmdctl_bench_tls_server; 0: skip");
DEFINE_int32(tls_server_pid, 0, "pid of cmdctl_bench_tls_server, for its CPU");
DEFINE_string(tls_cert, "", "client certificate for the raw TLS peer");
DEFINE_string(tls_key, "", "client key for the raw TLS peer");
DEFINE_int32(ssh_port, 0, "port of the loopback sshd; 0: skip ssh");
DEFINE_string(ssh_key, "", "ssh client private key");
DEFINE_string(ssh_user, "", "login on the loopback sshd (the job user)");
DEFINE_string(work_dir, "/tmp", "private directory for sockets");
DEFINE_bool(quick, false, "small sizes and counts: a smoke test (~1-2 min)");
DEFINE_string(figures, "start,stream,follow,stop,scale",
              "comma-separated figures to measure");
DEFINE_string(json_out, "", "where to write the JSON results");
DEFINE_string(info, "", "extra key=value;key=value for the JSON info block");
DEFINE_int64(stream_bytes, 0,
             "bytes per streaming run (0: 1 GiB, quick 64 MiB)");
DEFINE_int32(followers, 0, "concurrent followers (0: 1000, quick 100)");
DEFINE_int32(follower_connections, 0,
             "connections the followers share (0: followers/10)");
DEFINE_int32(jobs, 0, "concurrent running jobs (0: 1000, quick 100)");
DEFINE_double(idle_seconds, 0, "idle-follower CPU window (0: 10, quick 3)");

namespace cmdctl::bench {
namespace {

constexpr double kMiB = 1024.0 * 1024.0;
constexpr double kGiB = 1024.0 * kMiB;

double Ms(double seconds) { return seconds * 1e3; }

struct Sizes {
  int rounds;         // Interleaved rounds per latency figure.
  int per_round;      // Samples per side per round.
  int cold_runs;      // Cold CLI / ssh runs per side.
  int stream_rounds;  // Streaming runs per side.
  uint64_t stream_bytes;
  int follow_rounds;
  int follow_lines;
  int stop_runs;
  int followers;
  int follower_connections;
  uint64_t follower_bytes;
  int jobs;
  double idle_seconds;
};

Sizes ChooseSizes() {
  Sizes s;
  if (FLAGS_quick) {
    s = {3, 10, 5, 2, 64ull << 20, 2, 100, 8, 100, 10, 256 << 10, 100, 3};
  } else {
    s = {10, 30, 20, 3, 1ull << 30, 3, 300, 30, 1000, 100, 1 << 20, 1000, 10};
  }
  if (FLAGS_stream_bytes > 0) s.stream_bytes = FLAGS_stream_bytes;
  if (FLAGS_followers > 0) s.followers = FLAGS_followers;
  s.follower_connections = FLAGS_follower_connections > 0
                               ? FLAGS_follower_connections
                               : std::max(1, s.followers / 10);
  if (FLAGS_jobs > 0) s.jobs = FLAGS_jobs;
  if (FLAGS_idle_seconds > 0) s.idle_seconds = FLAGS_idle_seconds;
  return s;
}

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

class Bench {
 public:
  Bench(Report* report, Sizes sizes) : report_(report), sizes_(sizes) {}

  absl::Status Setup() {
    if (!FLAGS_server.empty()) {
      config_ = {FLAGS_server, FLAGS_ca, FLAGS_cert, FLAGS_key,
                 FLAGS_tls_server_name};
      absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
          Connect(config_, 0);
      if (!channel.ok()) return channel.status();
      client_ = std::make_unique<CmdctlClient>(*channel);
      // Warm the channel: the first call pays for lazy initialisation.
      absl::StatusOr<std::string> id = client_->Run("true", {});
      if (!id.ok()) return id.status();
    }
    if (FLAGS_ssh_port > 0) {
      ssh_ = std::make_unique<SshPeer>(
          SshConfig{FLAGS_ssh_port, FLAGS_ssh_key, FLAGS_ssh_user});
      absl::StatusOr<int> rc = ssh_->Run("true", false);
      if (!rc.ok()) return rc.status();
      if (*rc != 0) return absl::UnavailableError("ssh localhost true failed");
    }
    if (FLAGS_tls_port > 0) {
      absl::StatusOr<SSL_CTX*> ctx = MakeTlsContext(
          {FLAGS_ca, FLAGS_tls_cert.empty() ? FLAGS_cert : FLAGS_tls_cert,
           FLAGS_tls_key.empty() ? FLAGS_key : FLAGS_tls_key},
          /*server=*/false);
      if (!ctx.ok()) return ctx.status();
      tls_ctx_ = *ctx;
    }
    return absl::OkStatus();
  }

  bool has_cmdctl() const { return client_ != nullptr; }

  void Start();
  void Stream();
  void Follow();
  void Stop();
  void Scale();
  void ScaleJobs();       // 1,000 running jobs.
  void ScaleFollowers();  // 1,000 followers of one job.

 private:
  void Error(absl::string_view figure, const absl::Status& s) {
    std::string msg = absl::StrCat(figure, ": ", s.ToString());
    std::cerr << "cmdctl_bench: " << msg << std::endl;
    report_->AddError(msg);
  }
  absl::StatusOr<ProcSample> Server() {
    if (FLAGS_server_pid <= 0) return absl::NotFoundError("no --server_pid");
    return SampleProc(FLAGS_server_pid);
  }
  std::vector<std::string> CliArgv(std::vector<std::string> tail) const {
    std::vector<std::string> argv = {FLAGS_cli, "--server=" + FLAGS_server,
                                     "--ca=" + FLAGS_ca, "--cert=" + FLAGS_cert,
                                     "--key=" + FLAGS_key};
    argv.insert(argv.end(), tail.begin(), tail.end());
    return argv;
  }
  // Stops every job this run left running (scale figures, failures).
  void StopAll(std::vector<std::string>* ids);

  Report* report_;
  Sizes sizes_;
  ClientConfig config_;
  std::unique_ptr<CmdctlClient> client_;
  std::unique_ptr<SshPeer> ssh_;
  SSL_CTX* tls_ctx_ = nullptr;
};

// ---------------------------------------------------------------- 1. Start

double TimeSpawnTrue() {
  auto t0 = Clock::now();
  absl::StatusOr<int> rc = RunToEnd({"true"});
  double s = SecondsSince(t0);
  return rc.ok() && *rc == 0 ? s : kNaN;
}

void Bench::Start() {
  std::vector<double> rpc, floor;
  // One of each in turn: after a RunProcess the server still reaps the job
  // and removes its cgroup, and that background work must weigh on both
  // sides alike.
  for (int i = 0; i < sizes_.rounds * sizes_.per_round; ++i) {
    if (client_) {
      auto t0 = Clock::now();
      absl::StatusOr<std::string> id = client_->Run("true", {});
      double s = SecondsSince(t0);
      if (!id.ok()) return Error("start", id.status());
      rpc.push_back(s);
    }
    floor.push_back(TimeSpawnTrue());
  }
  std::string n = absl::StrCat(rpc.size(), " samples, warm channel");
  report_->Add({"1 start", "RunProcess(true) p50", Ms(Quantile(rpc, 0.5)), "ms",
                "posix_spawn+waitpid(true) p50", Ms(Quantile(floor, 0.5)),
                Better::kLower, Goal{Better::kLower, 1.5}, n});
  report_->Add({"1 start", "RunProcess(true) p99", Ms(Quantile(rpc, 0.99)),
                "ms", "posix_spawn+waitpid(true) p99",
                Ms(Quantile(floor, 0.99)), Better::kLower, std::nullopt, n});

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
                Goal{Better::kLower, 15}, note});
  report_->Add(
      {"1 start", "cmdctl run --wait true p50 (cold)", Ms(Quantile(cli, 0.5)),
       "ms", "ssh localhost true (ControlMaster)", Ms(Quantile(ssh_mux, 0.5)),
       Better::kLower, std::nullopt, note});
  report_->Add({"1 start", "cmdctl run --wait true: client CPU p50",
                Ms(Quantile(cli_cpu, 0.5)), "ms",
                "ssh localhost true: client CPU p50",
                Ms(Quantile(ssh_cpu, 0.5)), Better::kLower, std::nullopt,
                "user+sys of the client process (wait4 rusage)"});
}

// ---------------------------------------------------------------- 2. Stream

void Bench::Stream() {
  const uint64_t bytes = sizes_.stream_bytes;
  // What a job writing its output costs the server when nobody reads it.
  if (client_) {
    absl::StatusOr<ProcSample> before = Server();
    absl::StatusOr<std::string> id =
        client_->Run("head", {"-c", absl::StrCat(bytes), "/dev/zero"});
    if (!id.ok()) return Error("stream", id.status());
    auto t0 = Clock::now();
    bool ended = false;
    for (int i = 0; i < 12000 && !ended; ++i) {  // At most 10 minutes.
      absl::SleepFor(absl::Milliseconds(50));
      absl::StatusOr<v1::JobState> state = client_->State(*id);
      if (!state.ok()) return Error("stream", state.status());
      ended = *state != v1::JOB_STATE_RUNNING;
    }
    double s = SecondsSince(t0);
    absl::StatusOr<ProcSample> after = Server();
    if (ended && before.ok() && after.ok()) {
      report_->Add({"2 stream", "server CPU per GiB written, no reader",
                    (after->cpu_seconds - before->cpu_seconds) / (bytes / kGiB),
                    "s", "", 0, Better::kLower, std::nullopt,
                    absl::StrCat("job wrote ", bytes / kMiB, " MiB in ~", s,
                                 " s (50 ms status polls)")});
    }
  }
  std::vector<double> ours, raw, ssh;
  double server_cpu = 0, late_cpu = 0;
  int64_t messages = 0, late_messages = 0;
  std::vector<double> late;
  // CPU seconds per GiB: steadier than throughput on a shared machine.
  std::vector<double> cpu_follow, cpu_late, cpu_raw;
  for (int r = 0; r < sizes_.stream_rounds; ++r) {
    if (client_) {
      absl::StatusOr<ProcSample> before = Server();
      absl::StatusOr<std::string> id =
          client_->Run("head", {"-c", absl::StrCat(bytes), "/dev/zero"});
      if (!id.ok()) return Error("stream", id.status());
      uint64_t got = 0;
      Clock::time_point first;
      absl::StatusOr<int64_t> n =
          client_->Follow(*id, [&](absl::string_view d) {
            if (got == 0) first = Clock::now();
            got += d.size();
          });
      double s = SecondsSince(first);
      if (!n.ok()) return Error("stream", n.status());
      if (got != bytes) {
        return Error("stream", absl::DataLossError(absl::StrCat(
                                   "cmdctl delivered ", got, " of ", bytes)));
      }
      ours.push_back(bytes / kGiB / s);
      messages = std::max(messages, *n);
      absl::StatusOr<ProcSample> after = Server();
      if (before.ok() && after.ok()) {
        server_cpu = after->cpu_seconds - before->cpu_seconds;
        cpu_follow.push_back(server_cpu / (bytes / kGiB));
      }
      // A late reader of the same, now finished job: the stored-output path
      // alone, without the job writing at the same time.
      got = 0;
      n = client_->Follow(*id, [&](absl::string_view d) {
        if (got == 0) first = Clock::now();
        got += d.size();
      });
      s = SecondsSince(first);
      absl::StatusOr<ProcSample> after_late = Server();
      if (n.ok() && got == bytes) {
        late.push_back(bytes / kGiB / s);
        late_messages = std::max(late_messages, *n);
        if (after.ok() && after_late.ok()) {
          late_cpu = after_late->cpu_seconds - after->cpu_seconds;
          cpu_late.push_back(late_cpu / (bytes / kGiB));
        }
      }
    }
    if (tls_ctx_) {
      absl::StatusOr<ProcSample> before =
          SampleProc(static_cast<pid_t>(FLAGS_tls_server_pid));
      absl::StatusOr<RawTlsResult> t =
          ReadRawTlsStream(tls_ctx_, FLAGS_tls_port, bytes);
      if (!t.ok()) return Error("stream", t.status());
      raw.push_back(bytes / kGiB / t->first_to_last_seconds);
      absl::StatusOr<ProcSample> after =
          SampleProc(static_cast<pid_t>(FLAGS_tls_server_pid));
      if (FLAGS_tls_server_pid > 0 && before.ok() && after.ok()) {
        cpu_raw.push_back((after->cpu_seconds - before->cpu_seconds) /
                          (bytes / kGiB));
      }
      if (r == 0) {
        report_->SetInfo("raw_tls_negotiated",
                         absl::StrCat(t->version, " ", t->cipher));
      }
    }
    if (ssh_) {
      uint64_t got = 0;
      Clock::time_point first;
      absl::Status st =
          ssh_->Stream(absl::StrCat("head -c ", bytes, " /dev/zero"),
                       [&](absl::string_view d) {
                         if (got == 0) first = Clock::now();
                         got += d.size();
                       });
      double s = SecondsSince(first);
      if (!st.ok()) return Error("stream", st);
      if (got != bytes) {
        return Error("stream", absl::DataLossError("ssh stream short"));
      }
      ssh.push_back(bytes / kGiB / s);
    }
  }
  // The same through the command-line tools, end to end: a new process and
  // connection, output to /dev/null, timed from spawn to exit.
  std::vector<double> cli, ssh_cli;
  for (int r = 0; r < sizes_.stream_rounds; ++r) {
    std::string n = absl::StrCat(bytes);
    if (client_ && !FLAGS_cli.empty()) {
      auto t0 = Clock::now();
      absl::StatusOr<int> rc =
          RunToEnd(CliArgv({"run", "--wait", "head", "-c", n, "/dev/zero"}));
      double s = SecondsSince(t0);
      if (!rc.ok() || *rc != 0) {
        Error("stream", absl::InternalError("cmdctl run --wait head failed"));
      } else {
        cli.push_back(bytes / kGiB / s);
      }
    }
    if (ssh_) {
      auto t0 = Clock::now();
      absl::StatusOr<int> rc = RunToEnd(
          ssh_->Argv(absl::StrCat("head -c ", n, " /dev/zero"), false));
      double s = SecondsSince(t0);
      if (!rc.ok() || *rc != 0) {
        Error("stream", absl::InternalError("ssh head failed"));
      } else {
        ssh_cli.push_back(bytes / kGiB / s);
      }
    }
  }
  std::string note =
      absl::StrCat(sizes_.stream_rounds, " runs of ", bytes / kMiB,
                   " MiB, first to last byte; cmdctl: ", messages,
                   " messages/run (max), server CPU ",
                   absl::SixDigits(server_cpu), " s/run");
  double med = Quantile(ours, 0.5);
  report_->Add({"2 stream", "follow 1 job's output (median)", med, "GiB/s",
                "raw TLS 1.3 AES-256-GCM stream", Quantile(raw, 0.5),
                Better::kHigher, Goal{Better::kHigher, 0.75, true}, note});
  report_->Add({"2 stream", "follow 1 job's output (median)", med, "GiB/s",
                "ssh -c aes256-gcm head -c", Quantile(ssh, 0.5),
                Better::kHigher, Goal{Better::kHigher, 2.0, true}, note});
  report_->Add({"2 stream", "late reader of the finished job (median)",
                Quantile(late, 0.5), "GiB/s", "raw TLS 1.3 AES-256-GCM stream",
                Quantile(raw, 0.5), Better::kHigher, std::nullopt,
                absl::StrCat(late_messages, " messages/run (max), server CPU ",
                             absl::SixDigits(late_cpu), " s/run")});
  report_->Add({"2 stream", "server CPU per GiB, following (median)",
                Quantile(cpu_follow, 0.5), "s", "raw TLS server CPU per GiB",
                Quantile(cpu_raw, 0.5), Better::kLower, std::nullopt,
                "utime+stime of cmdctld (job excluded) / GiB sent"});
  report_->Add({"2 stream", "server CPU per GiB, late reader (median)",
                Quantile(cpu_late, 0.5), "s", "raw TLS server CPU per GiB",
                Quantile(cpu_raw, 0.5), Better::kLower, std::nullopt,
                "utime+stime of cmdctld / GiB sent"});
  report_->Add({"2 stream", "cmdctl run --wait head -c >/dev/null",
                Quantile(cli, 0.5), "GiB/s", "ssh ... head -c >/dev/null",
                Quantile(ssh_cli, 0.5), Better::kHigher, std::nullopt,
                "whole command: process start, connection, stream, exit"});
}

// ---------------------------------------------------------------- 3. Follow

// Splits received bytes into lines of CLOCK_MONOTONIC stamps; records each
// line's latency at the moment its bytes arrived.
class TickParser {
 public:
  explicit TickParser(std::vector<double>* out, int skip)
      : out_(out), skip_(skip) {}
  void Feed(absl::string_view data) {
    int64_t now = MonotonicNanos();
    partial_.append(data.data(), data.size());
    size_t start = 0, nl;
    while ((nl = partial_.find('\n', start)) != std::string::npos) {
      int64_t stamp;
      if (absl::SimpleAtoi(
              absl::string_view(partial_).substr(start, nl - start), &stamp) &&
          lines_++ >= skip_) {
        out_->push_back((now - stamp) / 1e9);
      }
      start = nl + 1;
    }
    partial_.erase(0, start);
  }

 private:
  std::vector<double>* out_;
  int skip_;
  int lines_ = 0;
  std::string partial_;
};

void Bench::Follow() {
  const int kDelayMs = 300, kIntervalUs = 3000, kSkip = 3;
  std::vector<std::string> args = {"ticks", absl::StrCat(kDelayMs),
                                   absl::StrCat(sizes_.follow_lines),
                                   absl::StrCat(kIntervalUs)};
  std::vector<double> ours, ssh;
  for (int r = 0; r < sizes_.follow_rounds; ++r) {
    if (client_) {
      absl::StatusOr<std::string> id = client_->Run(FLAGS_job, args);
      if (!id.ok()) return Error("follow", id.status());
      TickParser parser(&ours, kSkip);
      absl::StatusOr<int64_t> n = client_->Follow(
          *id, [&parser](absl::string_view d) { parser.Feed(d); });
      if (!n.ok()) return Error("follow", n.status());
    }
    if (ssh_) {
      TickParser parser(&ssh, kSkip);
      absl::Status st = ssh_->Stream(
          absl::StrJoin({FLAGS_job, args[0], args[1], args[2], args[3]}, " "),
          [&parser](absl::string_view d) { parser.Feed(d); });
      if (!st.ok()) return Error("follow", st);
    }
  }
  std::string note = absl::StrCat(ours.size(), " lines, one every ",
                                  kIntervalUs / 1000.0, " ms");
  report_->Add({"3 follow", "line written -> received p50",
                Ms(Quantile(ours, 0.5)), "ms", "same through ssh p50",
                Ms(Quantile(ssh, 0.5)), Better::kLower,
                Goal{Better::kLower, 0.35}, note});
  report_->Add({"3 follow", "line written -> received p99",
                Ms(Quantile(ours, 0.99)), "ms", "same through ssh p99",
                Ms(Quantile(ssh, 0.99)), Better::kLower,
                Goal{Better::kLower, 2.0}, note});
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

int Main() {
  signal(SIGPIPE, SIG_IGN);
  // The same client-side policy as cmdctl: TLS 1.3 only.
  if (absl::Status tls = EnforceTls13Policy(); !tls.ok()) {
    std::cerr << "cmdctl_bench: TLS policy: " << tls << std::endl;
    return 1;
  }
  Report report;
  Sizes sizes = ChooseSizes();
  report.SetInfo("when", absl::FormatTime(absl::RFC3339_sec, absl::Now(),
                                          absl::UTCTimeZone()));
  report.SetInfo("mode", FLAGS_quick ? "quick" : "full");
  for (auto& [k, v] : DescribeMachine()) report.SetInfo(k, v);
  report.SetInfo("grpc", grpc::Version());
  report.SetInfo("openssl", OpenSSL_version(OPENSSL_VERSION));
  for (absl::string_view kv :
       absl::StrSplit(FLAGS_info, ';', absl::SkipEmpty())) {
    std::pair<std::string, std::string> p =
        absl::StrSplit(kv, absl::MaxSplits('=', 1));
    report.SetInfo(p.first, p.second);
  }
  Bench bench(&report, sizes);
  absl::Status s = bench.Setup();
  if (!s.ok()) {
    std::cerr << "cmdctl_bench: setup: " << s << std::endl;
    return 1;
  }
  for (absl::string_view f :
       absl::StrSplit(FLAGS_figures, ',', absl::SkipEmpty())) {
    std::cerr << "cmdctl_bench: measuring " << f << " ..." << std::endl;
    auto t0 = Clock::now();
    if (f == "start")
      bench.Start();
    else if (f == "stream")
      bench.Stream();
    else if (f == "follow")
      bench.Follow();
    else if (f == "stop")
      bench.Stop();
    else if (f == "scale")
      bench.Scale();
    else {
      std::cerr << "cmdctl_bench: unknown figure " << f << std::endl;
      return 2;
    }
    std::cerr << "cmdctl_bench: " << f << " took " << SecondsSince(t0) << " s"
              << std::endl;
  }
  std::cout << report.Table() << std::flush;
  if (!FLAGS_json_out.empty()) {
    absl::Status w = report.WriteJson(FLAGS_json_out);
    if (!w.ok()) {
      std::cerr << "cmdctl_bench: " << w << std::endl;
      return 1;
    }
  }
  return 0;
}

}  // namespace
}  // namespace cmdctl::bench

int main(int argc, char** argv) {
  gflags::SetUsageMessage(
      "cmdctl against raw TLS and OpenSSH, side by side; see "
      "docs/BENCHMARKS.md. Usually started by bench/run.sh.");
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  return cmdctl::bench::Main();
}

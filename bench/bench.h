// The figures of cmdctl_bench (docs/BENCHMARKS.md), one file per group:
// bench_start.cc (start, stop), bench_stream.cc (stream, follow),
// bench_scale.cc (scale), bench_records.cc (records, restart),
// bench_cap.cc (the output cap's cost). cmdctl_bench.cc has the flags and
// main.
#ifndef CMDCTL_BENCH_BENCH_H_
#define CMDCTL_BENCH_BENCH_H_

#include <openssl/ssl.h>

#include <cstdint>
#include <iostream>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "bench/cmdctl_client.h"
#include "bench/measure.h"
#include "bench/report.h"
#include "bench/ssh_peer.h"
#include "gflags/gflags.h"

DECLARE_string(server);
DECLARE_string(ca);
DECLARE_string(cert);
DECLARE_string(key);
DECLARE_string(tls_server_name);
DECLARE_int32(server_pid);
DECLARE_string(cli);
DECLARE_string(job);
DECLARE_string(gate_dir);
DECLARE_int32(tls_port);
DECLARE_int32(tls_server_pid);
DECLARE_string(tls_cert);
DECLARE_string(tls_key);
DECLARE_int32(ssh_port);
DECLARE_string(ssh_key);
DECLARE_string(ssh_user);
DECLARE_string(work_dir);
DECLARE_bool(quick);
DECLARE_string(cmdctld);
DECLARE_string(server_cert);
DECLARE_string(server_key);

namespace cmdctl::bench {

constexpr double kMiB = 1024.0 * 1024.0;
constexpr double kGiB = 1024.0 * kMiB;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

inline double Ms(double seconds) { return seconds * 1e3; }

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
  int ended_jobs = 0;        // Records: jobs started and ended (100,000).
  double ended_seconds = 0;  // ... at most this long.
  int restart_records = 0;   // Records in the restarted server (10,000).
  int restart_rounds = 0;    // Restarts per side.
  int list_samples = 0;      // First `list` pages per side.
  uint64_t cap_bytes = 0;    // Cap cost: what the job writes per run.
  uint64_t cap = 0;          // ... with this --max_output_bytes.
  int cap_rounds = 0;        // Runs per side.
};

Sizes ChooseSizes();

class Bench {
 public:
  Bench(Report* report, Sizes sizes) : report_(report), sizes_(sizes) {}

  absl::Status Setup();
  bool has_cmdctl() const { return client_ != nullptr; }

  void Start();
  void Stream();
  void Follow();
  void Stop();
  void Scale();
  void Records();  // Issue 10: start with records, ended jobs, list, restart.
  void Cap();      // Issue 11: a job's write speed with the cap wrapping.

 private:
  void ScaleJobs();       // 1,000 running jobs.
  void ScaleFollowers();  // 1,000 followers of one job.
  // RunProcess(true) against posix_spawn+waitpid(true), one of each in turn.
  absl::Status StartSamples(int n, std::vector<double>* rpc,
                            std::vector<double>* floor);
  // Records' parts.
  void EndedJobs();
  void Restart();

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

}  // namespace cmdctl::bench

#endif  // CMDCTL_BENCH_BENCH_H_

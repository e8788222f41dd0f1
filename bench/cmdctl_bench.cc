// cmdctl_bench: cmdctl against the physical limit and against OpenSSH, side by
// side in one run (docs/BENCHMARKS.md). bench/run.sh starts the servers and
// passes their addresses; this program measures, prints a table and writes
// JSON. Every figure alternates cmdctl and its peer round by round, so noise
// from other work on the machine hits both sides alike.
#include <openssl/crypto.h>
#include <signal.h>

#include <algorithm>
#include <iostream>
#include <memory>

#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/bench.h"
#include "bench/raw_tls.h"
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
DEFINE_string(figures, "start,stream,follow,stop,scale,records,cap",
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
DEFINE_string(cmdctld, "",
              "path to cmdctld, for the figures that start their own "
              "(records' restart, cap); empty: skip those parts");
DEFINE_string(server_cert, "", "server certificate for those (PEM)");
DEFINE_string(server_key, "", "server key for those (PEM)");
DEFINE_int32(ended_jobs, 0,
             "records: jobs started and ended (0: 100,000, quick 300)");
DEFINE_double(ended_seconds, 0,
              "records: most seconds for starting them (0: 900, quick 10)");
DEFINE_int32(restart_records, 0,
             "records: records in the restarted server (0: 10,000, quick "
             "100)");
DEFINE_int64(cap_bytes, 0,
             "cap: bytes the job writes (0: 1 GiB, quick 32 MiB)");

namespace cmdctl::bench {

Sizes ChooseSizes() {
  Sizes s;
  if (FLAGS_quick) {
    s = {3, 10, 5, 2, 64ull << 20, 2, 100, 8, 100, 10, 256 << 10, 100, 3};
  } else {
    s = {10, 30, 20, 3, 1ull << 30, 3, 300, 30, 1000, 100, 1 << 20, 1000, 10};
  }
  const bool q = FLAGS_quick;
  s.ended_jobs = q ? 300 : 100000;
  s.ended_seconds = q ? 10 : 900;
  s.restart_records = q ? 100 : 10000;
  s.restart_rounds = q ? 2 : 3;
  s.list_samples = q ? 20 : 100;
  s.cap_bytes = q ? 32ull << 20 : 1ull << 30;
  s.cap = q ? 4ull << 20 : 64ull << 20;
  s.cap_rounds = q ? 1 : 3;
  if (FLAGS_ended_jobs > 0) s.ended_jobs = FLAGS_ended_jobs;
  if (FLAGS_ended_seconds > 0) s.ended_seconds = FLAGS_ended_seconds;
  if (FLAGS_restart_records > 0) s.restart_records = FLAGS_restart_records;
  if (FLAGS_cap_bytes > 0) s.cap_bytes = FLAGS_cap_bytes;
  if (FLAGS_stream_bytes > 0) s.stream_bytes = FLAGS_stream_bytes;
  if (FLAGS_followers > 0) s.followers = FLAGS_followers;
  s.follower_connections = FLAGS_follower_connections > 0
                               ? FLAGS_follower_connections
                               : std::max(1, s.followers / 10);
  if (FLAGS_jobs > 0) s.jobs = FLAGS_jobs;
  if (FLAGS_idle_seconds > 0) s.idle_seconds = FLAGS_idle_seconds;
  return s;
}

absl::Status Bench::Setup() {
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

namespace {

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
    else if (f == "records")
      bench.Records();
    else if (f == "cap")
      bench.Cap();
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
// cmdctld: the cmdctl host agent (SPEC §8).
//
//   cmdctld --listen=localhost:9090 --cert=server.pem --key=server.key
//           --ca=ca.pem [--output_dir=DIR] [--state_dir=/var/lib/cmdctl]
//           [--retention=168h] [--max_output_bytes=1G] [--default_memory=SIZE]
//           [--default_cpus=N] [--default_pids=N]
//           [--max_jobs_per_identity=1000] [--stop_grace=5s]
//           [--stop_jobs_on_exit]
//
// Threads: SIGTERM and SIGINT are blocked before any thread starts, so every
// thread (gRPC's, the host's) inherits the mask and the main thread alone
// takes them with sigwait(); it then runs the graceful shutdown
// (CmdctlServer::Shutdown). No signal handler runs inside gRPC code.
#include <errno.h>
#include <fcntl.h>
#include <gflags/gflags.h>
#include <glog/logging.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/file_util.h"
#include "common/units.h"
#include "domain/job_manager.h"
#include "job_store/sqlite_job_store.h"
#include "os_adapter/linux_process_host.h"
#include "os_adapter/random_id.h"
#include "rpc/connection_limits.h"
#include "rpc/server.h"
#include "tls/tls_files.h"
#include "tls/tls_policy.h"

DEFINE_string(listen, "localhost:9090",
              "host:port to listen on (port 0: any free port)");
DEFINE_string(cert, "", "PEM certificate of this server");
DEFINE_string(key, "", "PEM private key of --cert");
DEFINE_string(ca, "",
              "PEM CA certificate(s) that issue the client certificates "
              "(CA certificates only; several CAs form one identity "
              "namespace)");
DEFINE_string(output_dir, "",
              "keep job output under DIR/<job_id>/ instead of each run-as "
              "user's ~/.local/state/cmdctl/jobs/");
DEFINE_string(state_dir, "/var/lib/cmdctl",
              "job records (cmdctl.db) and the jobs' monitor state; made "
              "(mode 0700) if missing, must be owned by this server's user "
              "and writable by nobody else");
DEFINE_string(retention, "168h",
              "remove an ended job's record and output this long after it "
              "ended (0: keep everything)");
DEFINE_string(max_output_bytes, "1G",
              "per stream and job, keep at most about this much output: "
              "past it the oldest bytes are dropped (0: no cap; else at "
              "least 64K)");
DEFINE_string(default_memory, "",
              "memory limit of a job that asks for none, and the most a job "
              "may ask for (e.g. 512M; empty: none)");
DEFINE_string(default_cpus, "",
              "CPU limit of a job that asks for none, and the most a job may "
              "ask for (e.g. 1.5; empty: none)");
DEFINE_string(default_pids, "",
              "process limit of a job that asks for none, and the most a job "
              "may ask for (e.g. 1024; empty: none)");
DEFINE_uint64(max_jobs_per_identity, 1000,
              "running jobs per caller identity (0: no limit)");
DEFINE_bool(stop_jobs_on_exit, false,
            "on SIGTERM/SIGINT, stop every running job (TERM, --stop_grace, "
            "KILL) before exiting; by default they keep running for the next "
            "start of cmdctld");
DEFINE_string(port_file, "",
              "once listening, write the bound port (a decimal number and a "
              "newline) to this file (for tests with --listen=...:0)");
// The one place the default grace is written: the domain's StopPolicy.
static const std::string kDefaultStopGrace =
    absl::FormatDuration(cmdctl::StopPolicy::kDefaultGrace);
DEFINE_string(stop_grace, kDefaultStopGrace.c_str(),
              "grace period of StopProcess when the request sets none, of "
              "timeouts and of --stop_jobs_on_exit (e.g. 500ms, 5s, 1m)");
// 32 KiB, chosen by measurement (docs/RPC.md): 16 KiB to 256 KiB cost about
// the same server CPU per GiB and stream equally fast within the noise, while
// memory grows with the chunk: 1,000 active followers peaked at 133 MiB of
// server RSS with 32 KiB against 209 MiB with 64 KiB (bench/run.sh).
DEFINE_uint64(output_chunk_bytes, 32 * 1024,
              "most bytes one GetProcessOutput message carries");
// A reader that is behind gets fewer, larger messages while a server-wide
// budget allows (docs/RPC.md "Chunk size"); 0: every message is a chunk.
DEFINE_uint64(output_large_chunk_bytes, 256 * 1024,
              "most bytes one message carries to a reader that is behind "
              "(0: --output_chunk_bytes for all)");
DEFINE_uint64(output_large_chunk_budget, 16 * 1024 * 1024,
              "bytes of large messages all readers together may hold");
DEFINE_string(launcher, "",
              "path of cmdctl-launcher (default: next to this binary)");
// Limits on what clients may hold (docs/RPC.md, "Limits and recovery"); 0:
// derived from the fd limit (RLIMIT_NOFILE), logged at start.
DEFINE_int64(max_connections, 0,
             "open client connections in all (0: RLIMIT_NOFILE/4)");
DEFINE_int64(max_connections_per_peer, 0,
             "open connections from one client address (0: "
             "--max_connections/8)");
DEFINE_int64(max_streams, 0,
             "open GetProcessOutput streams in all (0: RLIMIT_NOFILE/8)");
DEFINE_int64(max_streams_per_peer, 0,
             "open GetProcessOutput streams from one client address (0: "
             "--max_streams/8)");
DEFINE_int32(max_streams_per_connection, 0,
             "concurrent calls on one connection (0: 100)");
DEFINE_string(handshake_timeout, "5s",
              "close a connection that has not finished its TLS handshake "
              "this long after it was accepted");
DEFINE_string(min_free_output_space, "256M",
              "start no job while the output file system (--output_dir, or "
              "the run-as user's home) or the --state_dir's has less free "
              "space than this (a size, or a share of the file system such "
              "as 1%; 0: no check) or fewer than 1024 free inodes");
DECLARE_bool(help);  // gflags' own

namespace cmdctl {
namespace {

// The smallest output cap: the monitor drops whole 4 KiB blocks and moves at
// most cap/16 at a time, so below this the disk could not stay within 1.25x.
constexpr int64_t kMinOutputCap = 64 * 1024;
// A job makes three inodes; a file system with fewer than this many free
// is about to fail everything on it (--min_free_output_space).
constexpr int64_t kMinFreeOutputInodes = 1024;

// `cmdctld --help`: this program's flags (those defined in rpc/) first,
// then the libraries' (glog's, gflags'). gflags alone sorts them by file,
// and its own and ~40 of glog's come first.
void PrintHelp() {
  std::vector<gflags::CommandLineFlagInfo> flags;
  gflags::GetAllFlags(&flags);
  std::string own, others;
  for (const gflags::CommandLineFlagInfo& flag : flags) {
    (absl::StrContains(flag.filename, "rpc/") ? own : others) +=
        gflags::DescribeOneFlag(flag);
  }
  printf(
      "Usage: %s\n\nFlags of cmdctld:\n%s\nFlags of the logging library and of "
      "the flag parser:\n%s",
      gflags::ProgramUsage(), own.c_str(), others.c_str());
}

int Fail(const std::string& message) {
  LOG(ERROR) << message;
  fprintf(stderr, "cmdctld: %s\n", message.c_str());
  return 1;
}

// Each running job holds a few fds (and each reader two), so take every fd
// the hard limit allows.
void RaiseFdLimit() {
  struct rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  if (limit.rlim_cur == limit.rlim_max) return;
  const rlim_t before = limit.rlim_cur;
  limit.rlim_cur = limit.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &limit) != 0) {
    PLOG(WARNING) << "cannot raise RLIMIT_NOFILE from " << before;
    return;
  }
  LOG(INFO) << "RLIMIT_NOFILE raised from " << before << " to "
            << limit.rlim_cur;
}

uint64_t FdLimit() {
  struct rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 1024;
  return limit.rlim_cur;
}

void LogConnectionLimits(const ConnectionLimits& l) {
  LOG(INFO) << "client limits (fd limit " << FdLimit() << "): connections "
            << l.max_connections << " in all, " << l.max_connections_per_peer
            << " per address; output streams " << l.max_streams << " in all, "
            << l.max_streams_per_peer << " per address; "
            << l.max_streams_per_connection
            << " calls per connection; TLS handshake within "
            << absl::FormatDuration(l.handshake_timeout);
}

absl::Status WritePortFile(const std::string& path, int port) {
  const std::string tmp = path + ".tmp";
  const int fd =
      open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return absl::InternalError(
        absl::StrCat("cannot write ", tmp, ": ", strerror(errno)));
  }
  const std::string text = absl::StrCat(port, "\n");
  const ssize_t n = write(fd, text.data(), text.size());
  const int err = errno;
  close(fd);
  if (n != static_cast<ssize_t>(text.size())) {
    return absl::InternalError(
        absl::StrCat("cannot write ", tmp, ": ", strerror(err)));
  }
  // Appears complete or not at all.
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    return absl::InternalError(
        absl::StrCat("cannot rename to ", path, ": ", strerror(errno)));
  }
  return absl::OkStatus();
}

// Who can issue a client certificate, for the operator to check: every CA of
// --ca, by subject and fingerprint.
void LogTrustedCas(const TlsFiles& tls) {
  for (const TrustedCa& ca : tls.trusted_cas) {
    LOG(INFO) << "trusting client certificates issued by CA \"" << ca.subject
              << "\" (SHA-256 fingerprint " << ca.sha256_fingerprint << ")";
  }
  if (tls.trusted_cas.size() > 1) {
    LOG(INFO) << "--ca " << FLAGS_ca << " holds " << tls.trusted_cas.size()
              << " CAs: they form one identity namespace (CN=alice issued by "
                 "any of them is the same caller alice)";
  }
}

// The server's flags, parsed and checked.
struct Settings {
  absl::Duration stop_grace;
  absl::Duration retention;
  ConnectionLimits connection_limits;  // as asked: 0 = derived
  int64_t max_output_bytes = 0;
  LimitDefaults limit_defaults;
  OutputSpaceFloor output_space_floor;
};

absl::StatusOr<absl::Duration> DurationFlag(const std::string& name,
                                            const std::string& text) {
  absl::Duration d;
  if (!absl::ParseDuration(text, &d) || d < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--", name, ": not a duration >= 0 (e.g. 500ms, 5s, 168h): ", text));
  }
  return d;
}

absl::StatusOr<Settings> ParseSettings() {
  Settings out;
  absl::StatusOr<absl::Duration> d =
      DurationFlag("stop_grace", FLAGS_stop_grace);
  if (!d.ok()) return d.status();
  out.stop_grace = *d;
  d = DurationFlag("retention", FLAGS_retention);
  if (!d.ok()) return d.status();
  out.retention = *d;
  d = DurationFlag("handshake_timeout", FLAGS_handshake_timeout);
  if (!d.ok()) return d.status();
  if (*d == absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--handshake_timeout must be above 0");
  }
  out.connection_limits.handshake_timeout = *d;
  out.connection_limits.max_connections = FLAGS_max_connections;
  out.connection_limits.max_connections_per_peer =
      FLAGS_max_connections_per_peer;
  out.connection_limits.max_streams = FLAGS_max_streams;
  out.connection_limits.max_streams_per_peer = FLAGS_max_streams_per_peer;
  out.connection_limits.max_streams_per_connection =
      FLAGS_max_streams_per_connection;
  absl::StatusOr<int64_t> size =
      ParseByteSize(FLAGS_max_output_bytes, "--max_output_bytes");
  if (!size.ok()) return size.status();
  if (*size != 0 && *size < kMinOutputCap) {
    return absl::InvalidArgumentError(
        "--max_output_bytes: 0 (no cap) or at least 64K");
  }
  out.max_output_bytes = *size;
  absl::StatusOr<OutputSpaceFloor> floor =
      ParseOutputSpaceFloor(FLAGS_min_free_output_space, kMinFreeOutputInodes);
  if (!floor.ok()) return floor.status();
  out.output_space_floor = *floor;
  if (!FLAGS_default_memory.empty()) {
    size = ParseByteSize(FLAGS_default_memory, "--default_memory");
    if (!size.ok()) return size.status();
    out.limit_defaults.memory_bytes = *size;
  }
  if (!FLAGS_default_cpus.empty()) {
    size = ParseCpuMillicores(FLAGS_default_cpus, "--default_cpus");
    if (!size.ok()) return size.status();
    out.limit_defaults.cpu_millicores = *size;
  }
  if (!FLAGS_default_pids.empty()) {
    int64_t pids = 0;
    if (!absl::SimpleAtoi(FLAGS_default_pids, &pids) || pids < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--default_pids: not a number of processes: ", FLAGS_default_pids));
    }
    out.limit_defaults.pids = pids;
  }
  if (FLAGS_output_chunk_bytes < 1024 ||
      FLAGS_output_chunk_bytes > 3 * 1024 * 1024) {
    return absl::InvalidArgumentError(
        "--output_chunk_bytes must be within 1 KiB .. 3 MiB");
  }
  // The client's receive limit is gRPC's default, 4 MiB.
  if (FLAGS_output_large_chunk_bytes > 3 * 1024 * 1024) {
    return absl::InvalidArgumentError(
        "--output_large_chunk_bytes must be at most 3 MiB");
  }
  if (FLAGS_cert.empty() || FLAGS_key.empty() || FLAGS_ca.empty()) {
    return absl::InvalidArgumentError(
        "--cert, --key and --ca are required (mutual TLS only)");
  }
  return out;
}

int Main() {
  absl::StatusOr<Settings> settings = ParseSettings();
  if (!settings.ok()) return Fail(std::string(settings.status().message()));

  RaiseFdLimit();

  // Before anything makes an SSL_CTX (gRPC credentials below).
  if (absl::Status policy = EnforceTls13Policy(); !policy.ok()) {
    return Fail(absl::StrCat("refusing to start: ", policy.message()));
  }
  absl::StatusOr<TlsFiles> tls = LoadTlsFiles(FLAGS_ca, FLAGS_cert, FLAGS_key);
  if (!tls.ok()) {
    return Fail(absl::StrCat("refusing to start: ", tls.status().message()));
  }
  if (absl::Status state = EnsurePrivateDirectory(FLAGS_state_dir);
      !state.ok()) {
    return Fail(absl::StrCat("refusing to start: ", state.message()));
  }
  absl::StatusOr<std::unique_ptr<store::SqliteJobStore>> records =
      store::SqliteJobStore::Open(FLAGS_state_dir + "/cmdctl.db");
  if (!records.ok()) {
    return Fail(
        absl::StrCat("refusing to start: ", records.status().message()));
  }
  LogTrustedCas(*tls);
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
      MutualTlsServerCredentials(*tls);
  if (!credentials.ok()) {
    return Fail(
        absl::StrCat("refusing to start: ", credentials.status().message()));
  }

  LinuxProcessHostOptions host_options;
  host_options.launcher_path =
      FLAGS_launcher.empty() ? DefaultLauncherPath() : FLAGS_launcher;
  host_options.state_dir = FLAGS_state_dir;
  host_options.output_dir = FLAGS_output_dir;
  host_options.output_space_floor = settings->output_space_floor;
  host_options.reap_orphans = true;
  absl::StatusOr<std::unique_ptr<LinuxProcessHost>> host =
      LinuxProcessHost::Create(host_options);
  if (!host.ok()) {
    return Fail(absl::StrCat("refusing to start: ", host.status().message()));
  }
  // Defaults the host cannot enforce would make every job fail: refuse now,
  // naming the flag.
  for (const auto& [flag, value, member] :
       {std::tuple{"default_memory", FLAGS_default_memory,
                   &ResourceLimits::memory_bytes},
        std::tuple{"default_cpus", FLAGS_default_cpus,
                   &ResourceLimits::cpu_millicores},
        std::tuple{"default_pids", FLAGS_default_pids,
                   &ResourceLimits::pids}}) {
    ResourceLimits one;
    one.*member = settings->limit_defaults.*member;
    if (absl::Status enforceable = (*host)->CheckLimits(one);
        !enforceable.ok()) {
      return Fail(absl::StrCat("refusing to start: --", flag, "=", value, ": ",
                               enforceable.message()));
    }
  }
  if (geteuid() != 0) {
    LOG(WARNING) << "not running as root (uid " << geteuid()
                 << "): jobs can run only as this server's own user";
  }

  JobManagerOptions job_options;
  job_options.default_stop.grace = settings->stop_grace;
  job_options.output_chunk_bytes = FLAGS_output_chunk_bytes;
  job_options.limit_defaults = settings->limit_defaults;
  job_options.max_output_bytes = settings->max_output_bytes;
  job_options.max_jobs_per_identity = FLAGS_max_jobs_per_identity;
  job_options.retention = settings->retention;
  JobManager jobs(host->get(), records->get(), NewJobId, job_options);
  absl::StatusOr<JobManager::Recovery> recovered = jobs.Recover();
  if (!recovered.ok()) {
    return Fail(absl::StrCat("refusing to start: cannot read the job records: ",
                             recovered.status().message()));
  }
  LOG(INFO) << "job records: " << recovered->running
            << " running jobs taken up, " << recovered->ended
            << " ended while no server ran (" << recovered->lost
            << " of them LOST), " << recovered->discarded
            << " unrecorded leftovers discarded, " << recovered->failed
            << " could not be taken up";

  ServerOptions server_options;
  server_options.listen_address = FLAGS_listen;
  server_options.credentials = *std::move(credentials);
  server_options.limits =
      ResolveConnectionLimits(FdLimit(), settings->connection_limits);
  LogConnectionLimits(server_options.limits);
  server_options.output_reads.large_chunk_bytes =
      FLAGS_output_large_chunk_bytes;
  server_options.output_reads.large_chunk_budget =
      FLAGS_output_large_chunk_budget;
  absl::StatusOr<std::unique_ptr<CmdctlServer>> server =
      CmdctlServer::Start(server_options, &jobs);
  if (!server.ok()) {
    return Fail(absl::StrCat("refusing to start: ", server.status().message()));
  }
  LOG(INFO) << "cmdctld listening on " << FLAGS_listen << " (port "
            << (*server)->port() << "), mutual TLS 1.3";
  std::optional<absl::Duration> stop_jobs;
  if (FLAGS_stop_jobs_on_exit) stop_jobs = settings->stop_grace;
  if (!FLAGS_port_file.empty()) {
    if (absl::Status s = WritePortFile(FLAGS_port_file, (*server)->port());
        !s.ok()) {
      (*server)->Shutdown(stop_jobs);
      return Fail(std::string(s.message()));
    }
  }

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  int sig = 0;
  while (sigwait(&signals, &sig) != 0) {
  }
  LOG(INFO) << "got " << strsignal(sig) << ": graceful shutdown"
            << (stop_jobs ? ", stopping every job" : ", jobs keep running");
  (*server)->Shutdown(stop_jobs);
  server->reset();
  // `jobs`, the host and the records go in reverse order of creation.
  return 0;
}

}  // namespace
}  // namespace cmdctl

int main(int argc, char** argv) {
  // Debian builds Abseil without NDEBUG, so every Mutex lock would run its
  // deadlock detection (docs/BENCHMARKS.md, profile of 2026-12-05). The
  // tests keep it on.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  // Before any thread exists: every thread inherits this mask, and only
  // the main thread's sigwait() takes these signals.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  // A shell starts background jobs with SIGINT ignored, and sigwait never
  // sees an ignored signal; blocked, the default action cannot run either.
  signal(SIGTERM, SIG_DFL);
  signal(SIGINT, SIG_DFL);
  signal(SIGPIPE, SIG_IGN);

  FLAGS_logtostderr = true;
  gflags::SetUsageMessage(
      "cmdctld --listen=localhost:9090 --cert=server.pem --key=server.key "
      "--ca=ca.pem [--output_dir=DIR] [--state_dir=/var/lib/cmdctl] "
      "[--retention=168h] [--max_output_bytes=1G] [--default_memory=SIZE] "
      "[--default_cpus=N] [--default_pids=N] [--max_jobs_per_identity=1000] "
      "[--stop_grace=5s] [--stop_jobs_on_exit]");
  gflags::ParseCommandLineNonHelpFlags(&argc, &argv, true);
  if (FLAGS_help) {
    cmdctl::PrintHelp();
    return 0;
  }
  gflags::HandleCommandLineHelpFlags();  // --helpfull, --version, ...
  google::InitGoogleLogging(argv[0]);
  if (argc > 1) {
    fprintf(stderr, "cmdctld: unexpected argument: %s\n", argv[1]);
    return 2;
  }
  return cmdctl::Main();
}

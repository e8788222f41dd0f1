// cmdctld: the cmdctl host agent (SPEC §8).
//
//   cmdctld --listen=localhost:9090 --cert=server.pem --key=server.key
//           --ca=ca.pem [--output_dir=DIR]
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
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "domain/job_manager.h"
#include "os_adapter/linux_process_host.h"
#include "os_adapter/random_id.h"
#include "rpc/server.h"
#include "tls/tls_files.h"
#include "tls/tls_policy.h"

DEFINE_string(listen, "localhost:9090",
              "host:port to listen on (port 0: any free port)");
DEFINE_string(cert, "", "PEM certificate of this server");
DEFINE_string(key, "", "PEM private key of --cert");
DEFINE_string(ca, "", "PEM CA that client certificates must chain to");
DEFINE_string(output_dir, "",
              "keep job output under DIR/<job_id>/ instead of each run-as "
              "user's ~/.local/state/cmdctl/jobs/");
DEFINE_string(port_file, "",
              "once listening, write the bound port (a decimal number and a "
              "newline) to this file (for tests with --listen=...:0)");
DEFINE_string(shutdown_grace, "5s",
              "on SIGTERM/SIGINT, running jobs get TERM and are KILLed after "
              "this long (e.g. 500ms, 5s, 1m)");
DEFINE_string(stop_grace, "5s",
              "default grace period of StopProcess when the request sets none");
// 32 KiB, chosen by measurement (docs/RPC.md): 16 KiB to 256 KiB cost about
// the same server CPU per GiB and stream equally fast within the noise, while
// memory grows with the chunk: 1,000 active followers peaked at 133 MiB of
// server RSS with 32 KiB against 209 MiB with 64 KiB (bench/run.sh).
DEFINE_uint64(output_chunk_bytes, 32 * 1024,
              "most bytes one GetProcessOutput message carries");
DEFINE_string(launcher, "",
              "path of cmdctl-launcher (default: next to this binary)");
DECLARE_bool(help);  // gflags' own

namespace cmdctl {
namespace {

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

// Each job holds a few fds for as long as the server lives (its output
// files), so take every fd the hard limit allows.
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

int Main() {
  absl::Duration shutdown_grace, stop_grace;
  if (!absl::ParseDuration(FLAGS_shutdown_grace, &shutdown_grace) ||
      shutdown_grace < absl::ZeroDuration()) {
    return Fail("--shutdown_grace: not a duration >= 0: " +
                FLAGS_shutdown_grace);
  }
  if (!absl::ParseDuration(FLAGS_stop_grace, &stop_grace) ||
      stop_grace < absl::ZeroDuration()) {
    return Fail("--stop_grace: not a duration >= 0: " + FLAGS_stop_grace);
  }
  if (FLAGS_output_chunk_bytes < 1024 ||
      FLAGS_output_chunk_bytes > 3 * 1024 * 1024) {
    return Fail("--output_chunk_bytes must be within 1 KiB .. 3 MiB");
  }
  if (FLAGS_cert.empty() || FLAGS_key.empty() || FLAGS_ca.empty()) {
    return Fail("--cert, --key and --ca are required (mutual TLS only)");
  }

  RaiseFdLimit();

  // Before anything makes an SSL_CTX (gRPC credentials below).
  if (absl::Status policy = EnforceTls13Policy(); !policy.ok()) {
    return Fail(absl::StrCat("refusing to start: ", policy.message()));
  }
  absl::StatusOr<TlsFiles> tls = LoadTlsFiles(FLAGS_ca, FLAGS_cert, FLAGS_key);
  if (!tls.ok()) {
    return Fail(absl::StrCat("refusing to start: ", tls.status().message()));
  }

  LinuxProcessHostOptions host_options;
  host_options.launcher_path =
      FLAGS_launcher.empty() ? DefaultLauncherPath() : FLAGS_launcher;
  host_options.output_dir = FLAGS_output_dir;
  host_options.reap_orphans = true;
  absl::StatusOr<std::unique_ptr<LinuxProcessHost>> host =
      LinuxProcessHost::Create(host_options);
  if (!host.ok()) {
    return Fail(absl::StrCat("refusing to start: ", host.status().message()));
  }
  if (geteuid() != 0) {
    LOG(WARNING) << "not running as root (uid " << geteuid()
                 << "): jobs can run only as this server's own user";
  }

  JobManagerOptions job_options;
  job_options.default_stop.grace = stop_grace;
  job_options.output_chunk_bytes = FLAGS_output_chunk_bytes;
  JobManager jobs(host->get(), NewJobId, job_options);

  ServerOptions server_options;
  server_options.listen_address = FLAGS_listen;
  server_options.credentials = MutualTlsServerCredentials(*tls);
  absl::StatusOr<std::unique_ptr<CmdctlServer>> server =
      CmdctlServer::Start(server_options, &jobs);
  if (!server.ok()) {
    return Fail(absl::StrCat("refusing to start: ", server.status().message()));
  }
  LOG(INFO) << "cmdctld listening on " << FLAGS_listen << " (port "
            << (*server)->port() << "), mutual TLS 1.3";
  if (!FLAGS_port_file.empty()) {
    if (absl::Status s = WritePortFile(FLAGS_port_file, (*server)->port());
        !s.ok()) {
      (*server)->Shutdown(shutdown_grace);
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
  LOG(INFO) << "got " << strsignal(sig) << ": graceful shutdown";
  (*server)->Shutdown(shutdown_grace);
  server->reset();
  // `jobs` and the host go in reverse order of creation.
  return 0;
}

}  // namespace
}  // namespace cmdctl

int main(int argc, char** argv) {
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
      "--ca=ca.pem [--output_dir=DIR]");
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

#include "bench/side_server.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/measure.h"

namespace cmdctl::bench {
namespace {

// The file's contents once it ends with a newline (cmdctld writes the port
// and a newline); empty before.
std::string ReadLine(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  if (s.empty() || s.back() != '\n') return "";
  return std::string(absl::StripAsciiWhitespace(s));
}

}  // namespace

SideServer::SideServer(std::string name, SideServerConfig config)
    : name_(std::move(name)), config_(std::move(config)) {}

SideServer::~SideServer() { (void)Stop(); }

absl::StatusOr<SideServer::Started> SideServer::Start() {
  if (pid_ > 0) return absl::FailedPreconditionError("already running");
  const std::string base = absl::StrCat(config_.work_dir, "/side-", name_);
  const std::string port_file = base + ".port";
  unlink(port_file.c_str());
  std::vector<std::string> argv = {config_.cmdctld,
                                   "--listen=127.0.0.1:0",
                                   "--port_file=" + port_file,
                                   "--cert=" + config_.cert,
                                   "--key=" + config_.key,
                                   "--ca=" + config_.ca,
                                   "--state_dir=" + base + "-state",
                                   "--logtostderr"};
  argv.insert(argv.end(), config_.flags.begin(), config_.flags.end());
  int log = open((base + ".log").c_str(),
                 O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  client_.reset();
  auto t0 = Clock::now();
  absl::StatusOr<pid_t> pid = Spawn(argv, log, log);
  if (log >= 0) close(log);
  if (!pid.ok()) return pid.status();
  pid_ = *pid;
  ++starts_;
  std::ofstream(base + ".pid") << pid_ << "\n";
  std::string port;
  // At most 30 s; a 1 ms poll adds at most 1 ms to the figure.
  while ((port = ReadLine(port_file)).empty()) {
    int status;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = 0;
      unlink((base + ".pid").c_str());
      return absl::InternalError(
          absl::StrCat("cmdctld (", name_, ") exited; see ", base, ".log"));
    }
    if (SecondsSince(t0) > 30) {
      return absl::DeadlineExceededError(
          absl::StrCat("cmdctld (", name_, ") wrote no port in 30 s"));
    }
    absl::SleepFor(absl::Milliseconds(1));
  }
  ClientConfig client = config_.client;
  client.server = absl::StrCat("127.0.0.1:", port);
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
      Connect(client, 1000 + starts_);
  if (!channel.ok()) return channel.status();
  client_ = std::make_unique<CmdctlClient>(*channel);
  absl::StatusOr<v1::ListProcessesResponse> page = client_->List(100);
  Started started;
  started.seconds = SecondsSince(t0);
  if (!page.ok()) return page.status();
  started.first_page = page->processes_size();
  return started;
}

absl::Status SideServer::Stop() {
  if (pid_ <= 0) return absl::OkStatus();
  client_.reset();
  kill(pid_, SIGTERM);
  auto t0 = Clock::now();
  int status = 0;
  bool killed = false;
  for (;;) {
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_ || (r < 0 && errno != EINTR)) break;
    if (!killed && SecondsSince(t0) > 10) {
      kill(pid_, SIGKILL);
      killed = true;
    }
    absl::SleepFor(absl::Milliseconds(5));
  }
  pid_ = 0;
  unlink(absl::StrCat(config_.work_dir, "/side-", name_, ".pid").c_str());
  if (killed) {
    return absl::DeadlineExceededError(
        absl::StrCat("cmdctld (", name_, ") ignored SIGTERM for 10 s"));
  }
  return absl::OkStatus();
}

}  // namespace cmdctl::bench

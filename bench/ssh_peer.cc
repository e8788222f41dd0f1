#include "bench/ssh_peer.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <thread>

#include "absl/strings/str_cat.h"
#include "bench/measure.h"

namespace cmdctl::bench {

SshPeer::~SshPeer() {
  if (master_pid_ > 0) {
    kill(master_pid_, SIGTERM);
    WaitPid(master_pid_);
  }
}

std::vector<std::string> SshPeer::BaseArgv() const {
  // -F /dev/null: no user or system client configuration; the cipher is the
  // one cmdctl negotiates (AES-256-GCM).
  return {"ssh",
          "-F",
          "/dev/null",
          "-p",
          absl::StrCat(config_.port),
          "-i",
          config_.key,
          "-o",
          "IdentitiesOnly=yes",
          "-o",
          "BatchMode=yes",
          "-o",
          "StrictHostKeyChecking=no",
          "-o",
          "UserKnownHostsFile=/dev/null",
          "-o",
          "GlobalKnownHostsFile=/dev/null",
          "-o",
          "LogLevel=ERROR",
          "-o",
          "Compression=no",
          "-c",
          "aes256-gcm@openssh.com",
          "-T"};
}

std::vector<std::string> SshPeer::Argv(const std::string& command,
                                       bool multiplexed) const {
  std::vector<std::string> argv = BaseArgv();
  if (multiplexed) {
    argv.insert(argv.end(), {"-o", "ControlMaster=no", "-o",
                             absl::StrCat("ControlPath=", control_path_)});
  }
  argv.push_back(absl::StrCat(config_.user, "@127.0.0.1"));
  argv.push_back(command);
  return argv;
}

absl::StatusOr<int> SshPeer::Run(const std::string& command,
                                 bool multiplexed) const {
  return RunToEnd(Argv(command, multiplexed));
}

absl::Status SshPeer::Stream(
    const std::string& command,
    const std::function<void(absl::string_view)>& on_data) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return absl::InternalError("pipe2 failed");
  fcntl(fds[0], F_SETPIPE_SZ, 1 << 20);
  absl::StatusOr<pid_t> pid = Spawn(Argv(command, false), fds[1]);
  close(fds[1]);
  if (!pid.ok()) {
    close(fds[0]);
    return pid.status();
  }
  std::vector<char> buf(1 << 20);
  for (;;) {
    ssize_t n = read(fds[0], buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    on_data(absl::string_view(buf.data(), static_cast<size_t>(n)));
  }
  close(fds[0]);
  int status = WaitPid(*pid);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return absl::UnavailableError(
        absl::StrCat("ssh ", command, " ended with status ", status));
  }
  return absl::OkStatus();
}

absl::Status SshPeer::StartMaster(const std::string& control_path) {
  control_path_ = control_path;
  std::vector<std::string> argv = BaseArgv();
  argv.insert(argv.end(), {"-M", "-N", "-o", "ControlPersist=no", "-o",
                           absl::StrCat("ControlPath=", control_path_),
                           absl::StrCat(config_.user, "@127.0.0.1")});
  absl::StatusOr<pid_t> pid = Spawn(argv);
  if (!pid.ok()) return pid.status();
  master_pid_ = *pid;
  std::vector<std::string> check = BaseArgv();
  check.insert(check.end(),
               {"-o", absl::StrCat("ControlPath=", control_path_), "-O",
                "check", absl::StrCat(config_.user, "@127.0.0.1")});
  for (int i = 0; i < 200; ++i) {  // At most 10 s.
    absl::StatusOr<int> rc = RunToEnd(check);
    if (rc.ok() && *rc == 0) return absl::OkStatus();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return absl::DeadlineExceededError("ssh master connection did not come up");
}

}  // namespace cmdctl::bench

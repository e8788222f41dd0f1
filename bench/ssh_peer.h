// OpenSSH as the benchmarks' peer: the same commands, run through `ssh` to an
// sshd on loopback (started by bench/run.sh), as the same unix user.
#ifndef CMDCTL_BENCH_SSH_PEER_H_
#define CMDCTL_BENCH_SSH_PEER_H_

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace cmdctl::bench {

struct SshConfig {
  int port = 0;
  std::string key;   // Client private key.
  std::string user;  // Login on the sshd.
};

class SshPeer {
 public:
  explicit SshPeer(SshConfig config) : config_(std::move(config)) {}
  ~SshPeer();  // Stops the master connection, if started.

  SshPeer(const SshPeer&) = delete;
  SshPeer& operator=(const SshPeer&) = delete;

  // argv for `ssh ... user@127.0.0.1 command`, on a new connection or, with
  // `multiplexed`, over the master connection (StartMaster first).
  std::vector<std::string> Argv(const std::string& command,
                                bool multiplexed) const;

  // Runs `command` with output discarded; returns its exit code.
  absl::StatusOr<int> Run(const std::string& command, bool multiplexed) const;

  // Runs `command`, calling on_data for each chunk of its stdout (read
  // through a pipe of 1 MiB) as it arrives.
  absl::Status Stream(const std::string& command,
                      const std::function<void(absl::string_view)>& on_data);

  // Starts a ControlMaster connection (a child process) and waits until it
  // accepts sessions.
  absl::Status StartMaster(const std::string& control_path);

 private:
  std::vector<std::string> BaseArgv() const;

  SshConfig config_;
  std::string control_path_;
  pid_t master_pid_ = -1;
};

}  // namespace cmdctl::bench

#endif  // CMDCTL_BENCH_SSH_PEER_H_

// A real cmdctld as a child process of the test, listening on 127.0.0.1:0
// with certificates the test made (test_pki.h). Its port is learnt from
// --port_file; its log goes to a file the test can read.
#ifndef CMDCTL_INTEGRATION_TESTS_COMMON_SERVER_PROCESS_H_
#define CMDCTL_INTEGRATION_TESTS_COMMON_SERVER_PROCESS_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace cmdctl::test {

struct ServerProcessOptions {
  std::string binary;  // the cmdctld to run
  std::string ca_path;
  std::string cert_path;
  std::string key_path;
  std::string work_dir;                  // port file and log go here
  std::vector<std::string> extra_flags;  // e.g. "--output_dir=..."
  absl::Duration start_timeout = absl::Seconds(30);
  // Run the server as this user instead of the test's (root) user: uid,
  // gid, no supplementary groups. -1: unchanged.
  int run_as_uid = -1;
  int run_as_gid = -1;
  // Non-empty: the cgroup v2 directory the server starts in (instead of the
  // test's own), e.g. one from test::NewTestCgroup: it is spawned as
  // `sh -c 'echo $$ >DIR/cgroup.procs && exec cmdctld ...'`.
  std::string cgroup;
  // > 0: the server's RLIMIT_NOFILE, soft and hard (it runs under
  // prlimit(1), so it cannot raise it), for tests of fd exhaustion.
  int fd_limit = 0;
};

class ServerProcess {
 public:
  // Starts cmdctld and waits until it has written its port file. On failure
  // (it exited, or timed out) the error carries the tail of its log.
  static absl::StatusOr<std::unique_ptr<ServerProcess>> Start(
      const ServerProcessOptions& options);
  // Kills (SIGKILL) and reaps it if it still runs, then every job it left
  // running (jobs outlive their server: KillJobsOf).
  ~ServerProcess();

  pid_t pid() const { return pid_; }
  int port() const { return port_; }
  // "127.0.0.1:<port>".
  std::string address() const;
  const std::string& log_path() const { return log_path_; }
  // Its --state_dir (work_dir/state unless the test gave one).
  const std::string& state_dir() const { return state_dir_; }
  std::string ReadLog() const;

  // Sends `sig` (no wait).
  void Signal(int sig);
  // Waits for it to exit; its wait status, or DEADLINE_EXCEEDED.
  absl::StatusOr<int> WaitForExit(absl::Duration timeout);
  // SIGKILL and reap.
  void Kill();
  // Leaves the jobs of this server running when it is destroyed (a test
  // restarts a server on the same state directory; the next one owns them).
  void ForgetJobs() { state_dir_.clear(); }

 private:
  ServerProcess() = default;
  pid_t pid_ = -1;
  int port_ = 0;
  std::string log_path_;
  std::string state_dir_;
};

// Kills every job a server with this --state_dir left running (SIGKILL to
// its cgroup or process group), so that no job outlives its test.
void KillJobsOf(const std::string& state_dir);

// Runs `argv` (argv[0] an absolute path) with `stdin_data` on its stdin,
// waits up to `timeout` (then kills it), and returns its exit code
// (128+signal when a signal ended it) and combined stdout+stderr.
struct CommandResult {
  int exit_code = -1;
  std::string output;
};
absl::StatusOr<CommandResult> RunWithInput(const std::vector<std::string>& argv,
                                           const std::string& stdin_data,
                                           absl::Duration timeout);

// utime + stime of a process, in clock ticks (/proc/<pid>/stat).
absl::StatusOr<long long> CpuTicks(pid_t pid);
// Resident set size of a process, in KiB (/proc/<pid>/status VmRSS).
absl::StatusOr<long long> RssKiB(pid_t pid);

}  // namespace cmdctl::test

#endif  // CMDCTL_INTEGRATION_TESTS_COMMON_SERVER_PROCESS_H_

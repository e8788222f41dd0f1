// Runs real binaries for the CLI integration tests: cmdctl itself (capturing
// stdout, stderr and the exit status), a cmdctld on 127.0.0.1:0, and any
// helper server (openssl s_server).
#ifndef CMDCTL_INTEGRATION_TESTS_CLI_CLI_HARNESS_H_
#define CMDCTL_INTEGRATION_TESTS_CLI_CLI_HARNESS_H_

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace cmdctl::test {

struct ProcessResult {
  int exit_code = -1;  // 128+N when killed by signal N
  std::string out;
  std::string err;
  bool timed_out = false;  // killed by us after the timeout
};

// Runs argv[0] (a path) with exactly `env` as its environment and stdin from
// /dev/null, collecting both output streams. The child starts with SIGINT,
// SIGTERM, SIGHUP and SIGPIPE at their default actions, whatever ours are. A
// process still running after `timeout` is killed and reported as timed out (a
// generous bound that keeps a hung test from hanging the suite; not a timing
// assertion).
ProcessResult RunProcess(const std::vector<std::string>& argv,
                         const std::vector<std::string>& env,
                         absl::Duration timeout = absl::Seconds(60));

// A child process started in the background, SIGTERMed and reaped by the
// destructor (SIGKILL if it has not exited 10 s later).
class BackgroundProcess {
 public:
  // Starts argv with stdout and stderr appended to `log_path`, with
  // SIGINT, SIGTERM, SIGHUP and SIGPIPE at their default actions; in a
  // process group of its own with `own_process_group` (as a shell starts a
  // foreground job: signal the group with kill(-pid(), ...)).
  BackgroundProcess(const std::vector<std::string>& argv,
                    const std::string& log_path,
                    bool own_process_group = false);
  ~BackgroundProcess();
  BackgroundProcess(const BackgroundProcess&) = delete;
  BackgroundProcess& operator=(const BackgroundProcess&) = delete;

  pid_t pid() const { return pid_; }
  // True while the process has not exited (reaps it if it has).
  bool Running();
  // Waits for the process to exit on its own, at most `timeout`; its exit
  // status, or -1 if it is still running.
  int Wait(absl::Duration timeout);
  // SIGTERM, wait (SIGKILL after 10 s). Returns the exit status as in
  // ProcessResult::exit_code. Idempotent.
  int Stop();

 private:
  pid_t pid_ = -1;
  int status_ = -1;
};

// A port on 127.0.0.1 that nothing listened on a moment ago.
int UnusedPort();

// Polls `file` (until `process` exits, at most `timeout`) for a complete line
// starting with `prefix`; returns the rest of that line, or nullopt if none
// came.
std::optional<std::string> WaitForLine(
    const std::string& file, const std::string& prefix,
    BackgroundProcess& process, absl::Duration timeout = absl::Seconds(30));

}  // namespace cmdctl::test

#endif  // CMDCTL_INTEGRATION_TESTS_CLI_CLI_HARNESS_H_

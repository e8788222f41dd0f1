// cmdctl's exit status, decided in one place (SPEC §7):
//   0  success
//   1  an error from the server (or reaching it): one line on stderr naming
//      the problem and, where it helps, the fix
//   2  a usage error (bad flag, missing argument, unreadable certificate file)
// `run --wait` exits with the job's own status instead (see WaitExitCode).
#ifndef CMDCTL_CLI_EXIT_CODES_H_
#define CMDCTL_CLI_EXIT_CODES_H_

#include <signal.h>

#include <string>

#include "grpcpp/support/status.h"

namespace cmdctl::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitServerError = 1;
inline constexpr int kExitUsage = 2;
// The exit status of a process killed by SIGPIPE, as a shell reports it;
// used when our reader (e.g. `| head`) went away.
inline constexpr int kExitBrokenPipe = 128 + SIGPIPE;

// What the failed call was about, so the message can name it.
struct CallContext {
  std::string server;  // the address dialled, e.g. "localhost:9090"
  std::string job_id;  // the job asked about; empty for run and list
  // The connection had been established (an error now means it was lost,
  // not that it could not be made).
  bool connected = false;
};

// An error for the user: the exit status and the one line for stderr
// (without a trailing newline, starting with "cmdctl: ").
struct Failure {
  int exit_code;
  std::string message;
};

// Maps a failed gRPC call to exit status 1 and a message that names the
// problem and, where it helps, the fix. `status` must not be OK.
Failure FailureFromRpc(const grpc::Status& status, const CallContext& call);

// "NOT_FOUND" for grpc::StatusCode::NOT_FOUND, and so on.
std::string StatusCodeName(grpc::StatusCode code);

}  // namespace cmdctl::cli

#endif  // CMDCTL_CLI_EXIT_CODES_H_

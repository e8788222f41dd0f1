// cmdctl's exit status, decided in one place (SPEC §7):
//   0  success
//   1  an error from the server (or reaching it): one line on stderr naming
//      the problem and, where it helps, the fix
//   2  a usage error (bad flag, missing argument, malformed --server or job
//      ID, a certificate file that is unreadable, expired or does not match
//      its key)
// `run --wait` and `wait` exit with the job's own status instead (see
// WaitExitCode), 127/126 where the program was not found / not executable,
// and 255 for their own failures, so that 1-254 always mean the job.
#ifndef CMDCTL_CLI_EXIT_CODES_H_
#define CMDCTL_CLI_EXIT_CODES_H_

#include <signal.h>

#include <optional>
#include <string>

#include "grpcpp/support/status.h"

namespace cmdctl::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitServerError = 1;
inline constexpr int kExitUsage = 2;
// run --wait and wait: the program does not exist / cannot be executed, as
// a shell says.
inline constexpr int kExitNotExecutable = 126;
inline constexpr int kExitNotFound = 127;
// run --wait and wait: cmdctl itself failed (as ssh exits 255).
inline constexpr int kExitOwnFailure = 255;
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
  // Add gRPC's own words to connection errors (GRPC_VERBOSITY is set);
  // otherwise they are left out: one line naming the address and the fix.
  bool verbose = false;
};

// An error for the user: the exit status and the one line for stderr
// (without a trailing newline, starting with "cmdctl: ").
struct Failure {
  int exit_code;
  std::string message;
};

// Maps a failed gRPC call to exit status 1 and a message that names the
// problem and, where it helps, the fix. The server's words are kept for its
// own errors, escaped for the terminal on one line; connection errors are
// told in cmdctl's words. `status` must not be OK.
Failure FailureFromRpc(const grpc::Status& status, const CallContext& call);

// For `run --wait`, a RunProcess that failed as a shell's exec would, with
// a shell's status: 127 for a program that does not exist (NOT_FOUND), 126
// for one that cannot be executed (FAILED_PRECONDITION "cannot execute
// ..."; the same code names other preconditions too, such as a working
// directory that cannot be entered). nullopt for every other failure.
std::optional<int> ShellExitForStartFailure(const grpc::Status& status);

// "NOT_FOUND" for grpc::StatusCode::NOT_FOUND, and so on.
std::string StatusCodeName(grpc::StatusCode code);

}  // namespace cmdctl::cli

#endif  // CMDCTL_CLI_EXIT_CODES_H_

// What every command that talks to cmdctld shares: the stub, the address for
// messages, and how a failure is reported (one line on stderr, an exit
// status).
#ifndef CMDCTL_CLI_SESSION_H_
#define CMDCTL_CLI_SESSION_H_

#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "cli/exit_codes.h"
#include "cmdctl/v1/cmdctl.grpc.pb.h"
#include "grpcpp/channel.h"
#include "grpcpp/support/status.h"

namespace cmdctl::cli {

struct Session {
  std::string server;  // as dialled, for messages
  std::unique_ptr<cmdctl::v1::ProcessService::Stub> stub;
  // The stub's channel: reconnect.h waits on it after a lost connection
  // (null: it does not wait, as for a test's in-process channel).
  std::shared_ptr<grpc::Channel> channel;
  // The exit status of cmdctl's own failures (a server error, a lost
  // connection): 1, or 255 for the commands whose exit status is a job's
  // (run --wait, wait), so that 1-254 always mean the job.
  int failure_exit = kExitServerError;
  // GRPC_VERBOSITY is set: connection errors keep gRPC's details.
  bool verbose = false;
};

// Writes `failure`'s line to stderr; returns its exit status.
int Report(const Failure& failure);

// Reports a failed call about `job_id` (empty: none) as Report does, with
// the session's exit status for its own failures.
int ReportRpc(const grpc::Status& status, const Session& session,
              const std::string& job_id);

// Reports one of cmdctl's own failures: "cmdctl: " + `message`.
int ReportOwnFailure(const Session& session, absl::string_view message);

// Writes `text` to stdout; false (errno set) if it could not.
bool PrintStdout(absl::string_view text);

// Writes a job's output: its stdout to our stdout, its stderr to our
// stderr. False with *write_errno set if it could not.
bool WriteJobOutput(cmdctl::v1::OutputStream stream, absl::string_view data,
                    int* write_errno);

}  // namespace cmdctl::cli

#endif  // CMDCTL_CLI_SESSION_H_

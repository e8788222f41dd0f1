// The five cmdctl commands, each one call (or two) to cmdctld. Each returns
// the process exit status and has already written its output or its one
// error line.
#ifndef CMDCTL_CLI_COMMANDS_H_
#define CMDCTL_CLI_COMMANDS_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "cmdctl/v1/cmdctl.grpc.pb.h"

namespace cmdctl::cli {

struct Session {
  std::string server;  // as dialled, for messages
  std::unique_ptr<cmdctl::v1::ProcessService::Stub> stub;
};

struct RunOptions {
  std::string program;
  std::vector<std::string> args;
  std::string run_as;
  std::string working_dir;
  std::map<std::string, std::string> env;
  bool wait = false;
};

enum class OutputFormat { kText, kJson };

// Prints the job id, or with `wait` streams the output and returns the
// job's exit status (128+signal for a signal).
int RunJob(Session& session, const RunOptions& options);
// Job stdout to our stdout, job stderr to our stderr, byte for byte.
int GetOutput(Session& session, const std::string& job_id, bool follow);
int GetStatus(Session& session, const std::string& job_id, OutputFormat format);
// Unset grace: the server's default (its --stop_grace).
int StopJob(Session& session, const std::string& job_id,
            std::optional<absl::Duration> grace);
int ListJobs(Session& session, OutputFormat format);

// Writes all of `data` to `fd`, retrying on EINTR and short writes. false
// (errno set) on failure.
bool WriteAll(int fd, std::string_view data);

}  // namespace cmdctl::cli

#endif  // CMDCTL_CLI_COMMANDS_H_

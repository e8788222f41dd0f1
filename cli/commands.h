// What each command does once connected: the calls it makes (calls.h) and
// what it prints. Each returns the process exit status and has already
// written its output or its error lines. Commands that take job IDs take
// them as typed (checked by CheckJobIdArgument) and resolve prefixes
// (job_ids.h).
#ifndef CMDCTL_CLI_COMMANDS_H_
#define CMDCTL_CLI_COMMANDS_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "cli/flag_values.h"
#include "cli/job_tie.h"
#include "cli/session.h"
#include "cmdctl/v1/cmdctl.pb.h"

namespace cmdctl::cli {

struct RunOptions {
  std::string program;
  std::vector<std::string> args;
  std::string run_as;
  std::string working_dir;
  std::map<std::string, std::string> env;
  RunLimits limits;  // --memory ... --timeout
  bool wait = false;
  // With `wait`: the job is tied to this process (job_tie.h); armed.
  JobTie* tie = nullptr;
};

enum class OutputFormat { kText, kJson };

// --- Commands whose exit status is a job's (job_commands.cc) ---

// Prints the job id, or with `wait` streams the output and returns the
// job's exit status (WaitExitCode; 127/126 where the program was not found
// or cannot be executed; the session's failure status, 255, for cmdctl's
// own failures).
int RunJob(Session& session, const RunOptions& options);

// Waits for every job to end, in order, and returns the last one's exit
// status as `run --wait` would. A running job is followed from the current
// end of its output (nothing old is read), across lost connections.
int WaitJobs(Session& session, const std::vector<std::string>& id_arguments);

// --- The others (commands.cc) ---

// Job stdout to our stdout, job stderr to our stderr, byte for byte, from
// the first stored byte, or with `tail` from the beginning of the last N
// lines of each stream (0: from the current ends). A lost connection is
// resumed where it left off (output_follow.h).
int GetOutput(Session& session, const std::string& id_argument, bool follow,
              std::optional<int64_t> tail);

// Each job's status, in order (text: separated by blank lines; JSON: one
// object after the other). Exit 1 if any was not found.
int GetStatus(Session& session, const std::vector<std::string>& id_arguments,
              OutputFormat format);

// Stops the jobs concurrently and prints how each ended, in order. Unset
// grace: the server's default (its --stop_grace).
int StopJobs(Session& session, const std::vector<std::string>& id_arguments,
             std::optional<absl::Duration> grace);

// Removes the ended jobs (records and output), in order, printing each;
// exit 1 if any could not be removed (a running one, an unknown one).
int RemoveJobs(Session& session, const std::vector<std::string>& id_arguments);

// Every page of the caller's jobs (`state`: only those;
// JOB_STATE_UNSPECIFIED: all), newest first.
int ListJobs(Session& session, OutputFormat format, cmdctl::v1::JobState state);

}  // namespace cmdctl::cli

#endif  // CMDCTL_CLI_COMMANDS_H_

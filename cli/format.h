// How cmdctl shows jobs to people (text) and to programs (JSON).
#ifndef CMDCTL_CLI_FORMAT_H_
#define CMDCTL_CLI_FORMAT_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "cmdctl/v1/cmdctl.pb.h"
#include "google/protobuf/message.h"
#include "google/protobuf/timestamp.pb.h"

namespace cmdctl::cli {

// "running", "exited", "signaled", "stopped" ("unknown" for UNSPECIFIED).
std::string StateWord(cmdctl::v1::JobState state);

// "SIGTERM" for 15; "signal 77" where the number has no name.
std::string SignalName(int signal);

// The state in words with how the job ended: "running", "exited with code 3",
// "killed by signal SIGKILL (9)", "stopped: terminated by SIGTERM (15)",
// "stopped: exited with code 0". A pending stop is mentioned.
std::string DescribeState(const cmdctl::v1::ProcessStatus& status);

// The EXIT/SIGNAL column: "3", "SIGKILL", or "-" while running.
std::string ExitColumn(const cmdctl::v1::ProcessStatus& status);

// The exit status `cmdctl run --wait` exits with, as ssh does: the job's
// exit code, or 128+signal where a signal ended it. nullopt while running.
std::optional<int> WaitExitCode(const cmdctl::v1::ProcessStatus& status);

// The words quoted for a POSIX shell where needed: `sh -c 'echo hi'`.
std::string ShellQuote(const std::vector<std::string>& words);

// The job's command line (command and args), shell-quoted.
std::string CommandLine(const cmdctl::v1::ProcessStatus& status);

// "2026-11-27 14:05:01.123 UTC" in `tz`; "-" for an unset timestamp.
std::string FormatTimestamp(const google::protobuf::Timestamp& ts,
                            absl::TimeZone tz);

// A readable, multi-line description for `get-status` (ends with '\n').
// `now` gives the duration of a running job.
std::string FormatStatusText(const cmdctl::v1::ProcessStatus& status,
                             absl::Time now, absl::TimeZone tz);

// `list`: a header and one line per job, in aligned columns ID, STATE,
// EXIT/SIGNAL, STARTED, COMMAND, oldest first (ends with '\n').
std::string FormatJobTable(std::vector<cmdctl::v1::ProcessStatus> jobs,
                           absl::TimeZone tz);

// The canonical proto3 JSON mapping (lowerCamelCase names, enum names,
// RFC 3339 timestamps), with fields at their default value printed too, so
// `exitCode: 0` is there to read. Ends with '\n'.
absl::StatusOr<std::string> FormatJson(
    const google::protobuf::Message& message);

}  // namespace cmdctl::cli

#endif  // CMDCTL_CLI_FORMAT_H_

// How cmdctl shows jobs to people (text) and to programs (JSON).
#ifndef CMDCTL_CLI_FORMAT_H_
#define CMDCTL_CLI_FORMAT_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "cmdctl/v1/cmdctl.pb.h"
#include "google/protobuf/message.h"
#include "google/protobuf/timestamp.pb.h"

namespace cmdctl::cli {

// "running", "exited", "signaled", "stopped", "lost" ("unknown" for
// UNSPECIFIED).
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

// `text` safe to show on a terminal: control characters (C0, DEL, C1) and
// bytes that are not UTF-8 become octal escapes (`\033`), so a job's text
// can neither recolour the screen nor break a line. Other text, backslashes
// included, is unchanged.
std::string EscapeForTerminal(absl::string_view text);

// The words quoted for a POSIX shell where needed: `sh -c 'echo hi'`. A word
// with characters EscapeForTerminal would escape is quoted as $'...' (bash,
// zsh, ksh) with those characters escaped, so the line stays one line and
// pastes back as the same words: `printf $'\033[31m'`.
std::string ShellQuote(const std::vector<std::string>& words);

// The job's command line (command and args), shell-quoted (and so safe to
// print).
std::string CommandLine(const cmdctl::v1::ProcessStatus& status);

// "2026-11-27 14:05:01.123 UTC" in `tz`; "-" for an unset timestamp.
std::string FormatTimestamp(const google::protobuf::Timestamp& ts,
                            absl::TimeZone tz);

// "memory 512M, cpus 1.5, pids 256, io read 20M/s, write 20M/s": the limits
// that are set, in that order; empty for none.
std::string FormatLimits(const cmdctl::v1::ResourceLimits& limits);

// "CPU 1.2s user, 30ms system; memory peak 12.5M; IO read 0 bytes, written
// 4K".
std::string FormatUsage(const cmdctl::v1::ResourceUsage& usage);

// What the state alone does not say: "timed out (its timeout of 1s ran
// out)", "killed: out of memory (limit 512M)". Empty for neither.
std::vector<std::string> StateNotes(const cmdctl::v1::ProcessStatus& status);

// The output's sizes ("stdout 1258291 bytes (1.2M), stderr 12 bytes"), what
// the output cap dropped of each, and "output incomplete (a write to disk
// failed)". Empty for a job that wrote nothing.
std::vector<std::string> OutputNotes(const cmdctl::v1::ProcessStatus& status);

// A readable, multi-line description for `get-status` (ends with '\n'),
// every field escaped for the terminal.
// Limits, timeout, usage and output sizes are shown where set; the notes of
// StateNotes under the state. `now` gives the duration of a running job.
std::string FormatStatusText(const cmdctl::v1::ProcessStatus& status,
                             absl::Time now, absl::TimeZone tz);

// `list`: a header and one line per job, in aligned columns ID, STATE,
// EXIT/SIGNAL, STARTED, COMMAND, newest first (ends with '\n'). Every field
// is escaped for the terminal: one job per line.
std::string FormatJobTable(std::vector<cmdctl::v1::ProcessStatus> jobs,
                           absl::TimeZone tz);

// The canonical proto3 JSON mapping (lowerCamelCase names, enum names,
// RFC 3339 timestamps), with fields at their default value printed too, so
// `exitCode: 0` is there to read. Ends with '\n'.
absl::StatusOr<std::string> FormatJson(
    const google::protobuf::Message& message);

}  // namespace cmdctl::cli

#endif  // CMDCTL_CLI_FORMAT_H_

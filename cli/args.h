// Splitting cmdctl's argv into global flags, a command, command flags and the
// command's arguments (SPEC §7).
//
// gflags would take a flag from anywhere in argv, so `cmdctl run ls -la` would
// lose `-la`. We therefore scan argv ourselves, in two phases, and hand only
// the flag tokens we found to gflags (see flags.h):
//
//   cmdctl [GLOBAL FLAGS] COMMAND [COMMAND FLAGS] [ARGS...]
//
// - Global flags end at the first token that is not a flag: the COMMAND.
// - For `run`, command flags end at the first token that is not a flag (or
//   after `--`): that token is PROGRAM and every later token is passed to the
//   program untouched, whatever it looks like.
// - For the other commands, flags and arguments may be mixed
//   (`cmdctl stop ID --grace=1s`); `--` ends the flags.
//
// Flag syntax follows gflags: `--name=value`, `-name=value`, `--name value`
// (non-boolean flags), `--name` and `--noname` (boolean flags). `-h`,
// `--help` and `-help` ask for help; `--version` before the command is the
// command `version`. Unknown commands and flags get the nearest known one
// suggested; `--follow false` is explained (booleans take `=`).
//
// Everything here is pure: no gflags registry, no I/O.
#ifndef CMDCTL_CLI_ARGS_H_
#define CMDCTL_CLI_ARGS_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace cmdctl::cli {

// The flags one phase accepts: name -> whether the flag is boolean.
using FlagTable = std::map<std::string, bool>;

// One flag as written on the command line, normalised: `--nowait` becomes
// {"wait", "false"}, `--wait` becomes {"wait", "true"}.
struct FlagArg {
  std::string name;
  std::string value;
};

// How a phase ends.
enum class ScanMode {
  // The first non-flag token ends the flags; it and everything after it are
  // returned untouched (global phase, `run`).
  kStopAtFirstArgument,
  // Flags and arguments may be mixed; `--` ends the flags.
  kInterspersed,
};

struct FlagScan {
  std::vector<FlagArg> flags;
  // Arguments in order (for kStopAtFirstArgument: the first non-flag token
  // and everything after it).
  std::vector<std::string> arguments;
  bool help = false;     // -h, --help or -help was given among the flags
  bool version = false;  // --version (global phase only)
};

// Scans one phase. INVALID_ARGUMENT, with a message fit for the user, on an
// unknown flag, a value given to a boolean flag that is not a boolean, or a
// non-boolean flag without a value.
absl::StatusOr<FlagScan> ScanFlags(absl::Span<const std::string> args,
                                   const FlagTable& known, ScanMode mode);

// A whole command line, split.
struct Invocation {
  std::vector<FlagArg> global_flags;
  std::string command;  // empty: none given (then `help` is set or usage)
  std::vector<FlagArg> command_flags;
  // For `run`: PROGRAM followed by its arguments, untouched.
  std::vector<std::string> arguments;
  bool help = false;  // help asked for (for `command`, or the tool)
};

// What the splitter needs to know about one command.
struct CommandSyntax {
  FlagTable flags;
  ScanMode mode = ScanMode::kInterspersed;
  // How many arguments the command takes (checked unless help is asked for).
  int min_arguments = 0;
  int max_arguments = -1;  // -1: no limit
  // What is missing when there are too few arguments, e.g. "missing job ID".
  std::string missing_arguments = "missing arguments";
  // One line, without "cmdctl ": e.g. "stop ID [--grace=DURATION]".
  std::string usage;
};

// Splits argv (argv[0] is skipped). `commands` maps each command name to its
// syntax. `help` and `help COMMAND` are understood as asking for help.
// INVALID_ARGUMENT with a user-facing message on a usage error; the message
// names what is wrong and, where it helps, where the flag belongs.
absl::StatusOr<Invocation> SplitCommandLine(
    absl::Span<const std::string> argv, const FlagTable& global_flags,
    const std::map<std::string, CommandSyntax>& commands);

}  // namespace cmdctl::cli

#endif  // CMDCTL_CLI_ARGS_H_

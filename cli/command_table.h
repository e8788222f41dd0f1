// cmdctl's commands, one entry each: the syntax args.h checks, the text help
// shows, and the handler that turns a checked command line into the calls to
// cmdctld. Adding a command is adding an entry; nothing else dispatches on
// its name.
#ifndef CMDCTL_CLI_COMMAND_TABLE_H_
#define CMDCTL_CLI_COMMAND_TABLE_H_

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "cli/flags.h"

namespace cmdctl::cli {

// What a command does once connected; returns the exit status, its output
// and any error line written.
using Action = std::function<int(Session&)>;

struct Command {
  const char* name;
  const char* summary;  // one line for `cmdctl --help`
  const char* usage;    // without "cmdctl "
  std::vector<std::string> flags;
  ScanMode mode;
  int min_arguments;
  int max_arguments;  // -1: no limit
  const char* missing_arguments;
  const char* details;  // description and examples, for `cmdctl CMD --help`
  // Reads the command's flags (already applied to gflags) and arguments and
  // checks what can be checked before connecting: INVALID_ARGUMENT is a
  // usage error. Returns what to do once connected.
  absl::StatusOr<Action> (*prepare)(const Invocation& invocation,
                                    const RepeatedFlags& repeated);
};

// Every command, in the order help lists them.
const std::vector<Command>& Commands();

// The command named `name`; nullptr if there is none.
const Command* FindCommand(std::string_view name);

// The syntax of every command, for SplitCommandLine.
std::map<std::string, CommandSyntax> CommandSyntaxes();

}  // namespace cmdctl::cli

#endif  // CMDCTL_CLI_COMMAND_TABLE_H_

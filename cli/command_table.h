// cmdctl's commands, one entry each: the syntax args.h checks, the text help
// shows, what completion offers, and the handler that turns a checked
// command line into the action. Adding a command is adding an entry; nothing
// else dispatches on its name.
#ifndef CMDCTL_CLI_COMMAND_TABLE_H_
#define CMDCTL_CLI_COMMAND_TABLE_H_

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cli/args.h"
#include "cli/flags.h"
#include "cli/session.h"

namespace cmdctl::cli {

// What a command does once its command line has been checked.
struct Action {
  // Returns the exit status, its output and any error line written.
  // `session` is null when the command needs no server.
  std::function<int(Session* session)> run;
  bool needs_server = true;
  // The exit status is a job's (run --wait, wait): cmdctl's own failures
  // from here on (connection settings, certificates, the connection, the
  // server) exit 255, so that 1-254 always mean the job. Errors in the
  // command line itself stay usage errors (2).
  bool exits_with_job_status = false;
};

// What a command's arguments are, for completion.
enum class Completes { kNothing, kJobIds, kProgram, kWords };

struct Command {
  const char* name;
  std::vector<std::string> aliases;  // accepted as the name, for habit
  const char* summary;               // one line for `cmdctl --help`
  const char* usage;                 // without "cmdctl "
  std::vector<std::string> flags;
  ScanMode mode;
  int min_arguments;
  int max_arguments;  // -1: no limit
  const char* missing_arguments;
  const char* details;  // description and examples, for `cmdctl CMD --help`
  Completes completes;
  std::vector<std::string> words;  // for Completes::kWords
  // Reads the command's flags (already applied to gflags) and arguments and
  // checks what can be checked before connecting: INVALID_ARGUMENT is a
  // usage error. Runs before anything starts gRPC, so it may also prepare
  // what must exist before gRPC's threads (run --wait's signal tie).
  absl::StatusOr<Action> (*prepare)(const Invocation& invocation,
                                    const RepeatedFlags& repeated);
};

// Every command, in the order help lists them.
const std::vector<Command>& Commands();

// The command named `name` or with `name` as an alias; nullptr if none.
const Command* FindCommand(absl::string_view name);

// The syntax of every command and alias, for SplitCommandLine.
std::map<std::string, CommandSyntax> CommandSyntaxes();

}  // namespace cmdctl::cli

#endif  // CMDCTL_CLI_COMMAND_TABLE_H_

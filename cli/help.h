// `cmdctl --help` and `cmdctl COMMAND --help`: rendered from the command
// table (command_table.h) and gflags' flag descriptions (flags.h).
#ifndef CMDCTL_CLI_HELP_H_
#define CMDCTL_CLI_HELP_H_

#include <string>

#include "cli/command_table.h"

namespace cmdctl::cli {

// The tool's help: what it is, its commands, global flags, exit status and
// examples.
std::string ToolHelp();

// One command's help: usage, description, examples, flags.
std::string CommandHelp(const Command& command);

}  // namespace cmdctl::cli

#endif  // CMDCTL_CLI_HELP_H_

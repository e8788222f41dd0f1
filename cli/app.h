// cmdctl's entry point: splits the command line (args.h) against the command
// table (command_table.h), applies the flags (flags.h), lets the command's
// handler check its arguments, connects (config.h, connection.h) and runs
// the command's action.
#ifndef CMDCTL_CLI_APP_H_
#define CMDCTL_CLI_APP_H_

#include <string>
#include <vector>

namespace cmdctl::cli {

// Runs cmdctl with `argv` (argv[0] first) and returns its exit status.
// Call once per process: it sets gflags flags.
// The gRPC channel it opens stays open: end the process with
// ExitWithoutTeardown(status) (process_exit.h) next.
int Main(const std::vector<std::string>& argv);

}  // namespace cmdctl::cli

#endif  // CMDCTL_CLI_APP_H_

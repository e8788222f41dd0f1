// cmdctl's entry point: splits the command line (args.h), applies the flags
// through gflags, connects (config.h, connection.h) and runs one command
// (commands.h).
#ifndef CMDCTL_CLI_APP_H_
#define CMDCTL_CLI_APP_H_

#include <string>
#include <vector>

namespace cmdctl::cli {

// Runs cmdctl with `argv` (argv[0] first) and returns its exit status.
// Call once per process: it sets gflags flags.
int Main(const std::vector<std::string>& argv);

}  // namespace cmdctl::cli

#endif  // CMDCTL_CLI_APP_H_

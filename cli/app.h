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
// The gRPC channel it opens stays open: end the process with
// ExitWithoutTeardown(status) next.
int Main(const std::vector<std::string>& argv);

// Flushes and checks stdout (a failure turns exit status 0 into 1, or 141
// for EPIPE), then ends the process with `code` at once, without running
// destructors: skips gRPC's slow shutdown. See app.cc for why that is safe.
[[noreturn]] void ExitWithoutTeardown(int code);

}  // namespace cmdctl::cli

#endif  // CMDCTL_CLI_APP_H_

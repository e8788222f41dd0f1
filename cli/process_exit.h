// How cmdctl ends its process.
#ifndef CMDCTL_CLI_PROCESS_EXIT_H_
#define CMDCTL_CLI_PROCESS_EXIT_H_

namespace cmdctl::cli {

// Flushes and checks stdout (a failure turns exit status 0 into 1, or 141
// for EPIPE), then ends the process with `code` at once, without running
// destructors: skips gRPC's slow shutdown. See process_exit.cc for why that
// is safe.
[[noreturn]] void ExitWithoutTeardown(int code);

}  // namespace cmdctl::cli

#endif  // CMDCTL_CLI_PROCESS_EXIT_H_

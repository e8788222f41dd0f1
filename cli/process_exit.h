// How cmdctl ends its process.
#ifndef CMDCTL_CLI_PROCESS_EXIT_H_
#define CMDCTL_CLI_PROCESS_EXIT_H_

namespace cmdctl::cli {

// Flushes and checks stdout (a failure turns exit status 0 into 1, or 141
// for EPIPE), then ends the process with `code` at once, without running
// destructors: skips gRPC's slow shutdown. See process_exit.cc for why that
// is safe.
[[noreturn]] void ExitWithoutTeardown(int code);

// Ends the process by `signal` as if it had not been caught (a shell sees
// 128+signal and, for SIGINT, stops its loop): the signal's default action
// restored and unblocked in this thread, then raised. Call it only when the
// output is out (cmdctl writes with write(2); nothing is buffered).
[[noreturn]] void DieBySignal(int signal);

}  // namespace cmdctl::cli

#endif  // CMDCTL_CLI_PROCESS_EXIT_H_

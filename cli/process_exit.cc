#include "cli/process_exit.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "cli/exit_codes.h"
#include "common/file_util.h"

namespace cmdctl::cli {

void ExitWithoutTeardown(int code) {
  // cmdctl writes its output with write(2) (WriteAll) and checks every write
  // where it happens (EPIPE: exit 141 quietly, as SIGPIPE would; other
  // errors: a message and exit 1), so by now the result is out. stdio holds
  // nothing of ours; flush it anyway, as exit() would, for anything a
  // library printed through it, and check it like our own writes.
  if (std::fflush(stdout) != 0 && code == kExitOk) {
    code = errno == EPIPE ? kExitBrokenPipe : kExitServerError;
  }
  std::fflush(stderr);
  // A file system may report a failed write only at close (NFS); a normal
  // exit would not see it either, but it costs one call to check.
  if (close(STDOUT_FILENO) != 0 && errno != EBADF && errno != EINTR &&
      code == kExitOk) {
    WriteAll(STDERR_FILENO, absl::StrCat("cmdctl: cannot write the output: ",
                                         strerror(errno), "\n"));
    code = kExitServerError;
  }
  // _exit, not exit: exit() would run the static destructors and atexit
  // handlers, among them gRPC's shutdown (the channel's disconnect, then
  // joining its executor, timer and event-engine threads), which took 2-8 ms
  // of every cmdctl run (docs/BENCHMARKS.md) and achieves nothing the
  // kernel does not do at exit: it closes the connection (the server sees
  // the stream ended, as on any client exit) and frees the memory. Nothing
  // of cmdctl waits on a destructor: every call has finished, and the
  // output went out unbuffered (above).
  _exit(code);
}

void DieBySignal(int signal) {
  struct sigaction default_action {};
  default_action.sa_handler = SIG_DFL;
  sigemptyset(&default_action.sa_mask);
  sigaction(signal, &default_action, nullptr);
  sigset_t only;
  sigemptyset(&only);
  sigaddset(&only, signal);
  pthread_sigmask(SIG_UNBLOCK, &only, nullptr);
  raise(signal);  // to this thread, where it is unblocked: the process ends
  // Only for a signal whose default action is not to end the process.
  _exit(128 + signal);
}

}  // namespace cmdctl::cli

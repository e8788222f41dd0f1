// The job's own process, forked by its monitor (monitor.h): it joins the
// job's cgroup, leaves the monitor's session, becomes the user, creates the
// output files as the user and execs the program with its stdout and stderr
// on the monitor's pipes. Plain C++ over libc.
#ifndef CMDCTL_OS_ADAPTER_LAUNCHER_JOB_H_
#define CMDCTL_OS_ADAPTER_LAUNCHER_JOB_H_

#include "os_adapter/launch_protocol.h"

namespace cmdctl::launcher {

struct JobChildSetup {
  int report = -1;        // socket to the monitor (close-on-exec)
  int cgroup_procs = -1;  // the job cgroup's cgroup.procs; -1: none
  int output_root = -1;   // --output_dir's fd; -1: the user's home
  int stdout_pipe = -1;   // write ends of the monitor's pipes
  int stderr_pipe = -1;
};

// In order, reporting a failure (stage + errno) to the monitor and exiting
// 127, with the output it made removed:
//   1. joins the job's cgroup (while still root, so every later child is in
//      it) and leaves the monitor's session (setsid: its own session and
//      process group, which the fallback signals);
//   2. drops privileges (setgroups, setresgid, setresuid) and sets
//      no_new_privs;
//   3. enters the working directory (as the user);
//   4. creates the output directory and files as the user, never following
//      a link, and sends their write and read fds to the monitor (kOutput-
//      Ready: stdout write, stderr write, stdout read, stderr read);
//   5. stdin from /dev/null, stdout/stderr on the pipes, every other fd
//      close-on-exec;
//   6. execs the program with the clean environment, searching PATH itself.
// The report socket's EOF (close-on-exec) tells the monitor the exec worked.
[[noreturn]] void RunJobChild(LaunchRequest& r, const JobChildSetup& setup);

}  // namespace cmdctl::launcher

#endif  // CMDCTL_OS_ADAPTER_LAUNCHER_JOB_H_

// The job's monitor: what cmdctl-launcher becomes in kLaunch mode (as
// conmon is to a container, or containerd's shim). It stays the parent of
// the job's process while the host (cmdctld) may come and go:
//  - it forks the job (launcher_job.h) with stdout and stderr on two pipes
//    and drains them into the job's output files (splice: the bytes never
//    enter user space), keeping each stream within the output cap by
//    punching holes at the front of its file (the offsets stay file
//    offsets), and counting what was written and dropped in the shared
//    status page (monitor_files.h);
//  - a write that fails (disk full, I/O error) marks the stream incomplete
//    and from then on its bytes are drained and dropped, so the job is
//    never blocked or killed for its output;
//  - it is the subreaper of the job's tree; when the job's main process
//    ends it kills what is left of the tree (like systemd's
//    KillMode=control-group) and waits until the tree is gone (the cgroup
//    empty and both pipes closed), so the output is final;
//  - it reads the final usage (cgroup cpu.stat, memory.peak, memory.events'
//    oom_kill, io.stat; rusage where the cgroup has no such file), writes
//    the end report, removes the job's cgroup and exits.
// Plain C++ over libc: the launcher links nothing else.
#ifndef CMDCTL_OS_ADAPTER_MONITOR_H_
#define CMDCTL_OS_ADAPTER_MONITOR_H_

#include "os_adapter/launch_protocol.h"

namespace cmdctl::launcher {

struct MonitorSetup {
  int cgroup_parent = -1;  // the job's cgroup is <fd>/<job_id>; -1: none
  int output_root = -1;    // --output_dir's fd; -1: the user's home
  int run_dir = -1;        // <state_dir>/jobs/<job_id> (root's)
};

// Runs the job's whole life; returns the launcher's exit status. Before the
// program has been executed, a failure is reported to the host and the
// launcher exits 127 with nothing of the job left running.
int RunMonitor(LaunchRequest& r, const MonitorSetup& setup);

}  // namespace cmdctl::launcher

#endif  // CMDCTL_OS_ADAPTER_MONITOR_H_

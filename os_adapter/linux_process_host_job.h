// The state LinuxProcessHost keeps for one job, shared by the files that
// implement the host (linux_process_host.cc, _start.cc, _output.cc). Not
// for use outside them.
#ifndef CMDCTL_OS_ADAPTER_LINUX_PROCESS_HOST_JOB_H_
#define CMDCTL_OS_ADAPTER_LINUX_PROCESS_HOST_JOB_H_

#include <sys/types.h>

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/unique_fd.h"
#include "os_adapter/linux_process_host.h"
#include "os_adapter/monitor_files.h"
#include "os_adapter/output_files.h"

namespace cmdctl {

// How long cleanup waits for a killed tree to leave its cgroup.
inline constexpr absl::Duration kTreeGoneWait = absl::Seconds(2);

struct LinuxProcessHost::Job {
  // Immutable once registered.
  std::string id;
  HostJobState state;
  UniqueFd run_dir;  // <state_dir>/jobs/<id>
  pid_t job_pid = 0;
  bool own_child = false;  // the monitor is our child (we started it)
  std::shared_ptr<MonitorStatusPage> page;
  std::shared_ptr<const JobOutputFiles> output;  // null: output_error
  absl::Status output_error;
  UniqueFd notify;  // the monitor's notify FIFO (read end)

  // Loop thread only once registered.
  UniqueFd monitor_pidfd;

  absl::Mutex mu;
  EventLoop::WatchId pidfd_watch ABSL_GUARDED_BY(mu) = 0;
  EventLoop::WatchId notify_watch ABSL_GUARDED_BY(mu) = 0;
  std::shared_ptr<ProcessObserver> observer ABSL_GUARDED_BY(mu);
  std::unique_ptr<JobCgroup> cgroup ABSL_GUARDED_BY(mu);
  bool ended ABSL_GUARDED_BY(mu) = false;  // the monitor is gone
  bool discarded ABSL_GUARDED_BY(mu) = false;
};

}  // namespace cmdctl

#endif  // CMDCTL_OS_ADAPTER_LINUX_PROCESS_HOST_JOB_H_

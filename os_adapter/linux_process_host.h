// The Linux implementation of the domain's OS seam (domain/process_host.h).
//
// Each job is started through cmdctl-launcher (launcher_main.cc, spawned by
// launcher_client.h) in its own session, in its own cgroup v2 when the host
// offers one (cgroup.h), as the run-as user (user_db.h). The job writes its
// stdout and stderr directly into two files that the launcher creates as the
// user; the host keeps read-only fds of them (output_files.h) and never opens
// a user path itself. docs/ARCHITECTURE.md explains the design.
//
// The parts, each owning one concern: the event loop (event_loop.h: epoll,
// posted tasks, timers) runs every observer callback and timer on its one
// thread, never while a host lock is held; the output watcher
// (output_watcher.h: one-shot inotify watches while a reader waits); the
// child reaper (child_reaper.h, with reap_orphans). This class composes them
// and keeps the job lifecycle: main process exit (pidfd) -> the rest of the
// tree killed -> the cgroup empty (cgroup.events) -> OnEnd.
//
// Every public method is thread-safe.
//
// File descriptors: a running job holds 5 fds in the host (pidfd, its cgroup
// directory, cgroup.events, and the two output files) and, while a reader
// waits, 2 inotify watches; an ended job keeps its 2 output fds for as long as
// the host lives, since its output must stay readable. cmdctld raises
// RLIMIT_NOFILE accordingly.
#ifndef CMDCTL_OS_ADAPTER_LINUX_PROCESS_HOST_H_
#define CMDCTL_OS_ADAPTER_LINUX_PROCESS_HOST_H_

#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/unique_fd.h"
#include "domain/process_host.h"
#include "domain/types.h"
#include "os_adapter/cgroup.h"
#include "os_adapter/child_reaper.h"
#include "os_adapter/event_loop.h"
#include "os_adapter/output_watcher.h"
#include "os_adapter/user_db.h"

namespace cmdctl {

struct LinuxProcessHostOptions {
  // Absolute path of the cmdctl-launcher executable (root-owned in
  // production). DefaultLauncherPath() finds the one next to this binary.
  std::string launcher_path;
  // Empty: each job's output goes to the run-as user's
  // ~/.local/state/cmdctl/jobs/<job_id>/. Otherwise an existing directory,
  // owned by the host's user and writable by nobody else, under which the
  // host makes <job_id>/ for the user.
  std::string output_dir;
  // Make this process a child subreaper and reap every child it gets
  // (child_reaper.h), so that reparented grandchildren of jobs never stay
  // zombies. This reaps ALL children of the process: only for a process
  // whose children are all started by this host (cmdctld), and only one
  // host per process may set it.
  bool reap_orphans = false;
  // False: never use cgroups (the process-group fallback; for tests of it).
  bool use_cgroups = true;
  // Empty: <cgroup2 mount>/<this process's cgroup>/cmdctl, discovered from
  // /proc/self/mountinfo and /proc/self/cgroup. Otherwise the cgroup v2
  // directory under which each job gets its own child cgroup.
  std::string cgroup_parent;
};

// <directory of /proc/self/exe>/cmdctl-launcher.
std::string DefaultLauncherPath();

class LinuxProcessHost : public ProcessHost {
 public:
  // Fails with FAILED_PRECONDITION when the launcher or output_dir is
  // unusable, INVALID_ARGUMENT for a bad option, INTERNAL or
  // RESOURCE_EXHAUSTED when the kernel refuses an epoll/inotify/timer fd. A
  // cgroup parent that cannot be made is no error: the host then falls back
  // to process groups (logged).
  static absl::StatusOr<std::unique_ptr<LinuxProcessHost>> Create(
      LinuxProcessHostOptions options);

  // Kills the tree of every job still running (no observer is called any
  // more), waits a few seconds for the trees to go and their cgroups to be
  // removed, then stops the event loop.
  ~LinuxProcessHost() override;

  absl::StatusOr<StartedProcess> Start(
      const ProcessSpec& spec,
      std::shared_ptr<ProcessObserver> observer) override;
  absl::Status Terminate(const std::string& job_id) override;
  absl::Status Kill(const std::string& job_id) override;
  absl::StatusOr<std::unique_ptr<OutputReader>> OpenOutput(
      const std::string& job_id) override;
  absl::Time Now() override;
  TimerId RunAfter(absl::Duration delay, std::function<void()> fn) override;
  void CancelTimer(TimerId id) override;

  // The cgroup v2 directory holding one child cgroup per running job; empty
  // when the host uses the process-group fallback.
  std::string cgroup_parent() const;

 private:
  struct Job;

  explicit LinuxProcessHost(LinuxProcessHostOptions options);
  absl::Status Init();

  // Start's steps.
  absl::StatusOr<UniqueFd> MakeOutputDir(const std::string& job_id,
                                         const UserEntry& user);
  absl::Status Register(const std::shared_ptr<Job>& job)
      ABSL_LOCKS_EXCLUDED(mu_);
  std::shared_ptr<Job> FindJob(const std::string& job_id)
      ABSL_LOCKS_EXCLUDED(mu_);
  // TERM (or KILL) to the job's tree; OK once the tree is gone.
  absl::Status SignalTree(Job& job, int sig);

  // The lifecycle, on the loop thread.
  void OnPidfdReadable(const std::shared_ptr<Job>& job);
  void OnMainExit(const std::shared_ptr<Job>& job, const JobEnd& end);
  void CheckTreeGone(const std::shared_ptr<Job>& job);
  void FinishJob(const std::shared_ptr<Job>& job) ABSL_LOCKS_EXCLUDED(mu_);

  const LinuxProcessHostOptions options_;
  const bool is_root_;
  const uid_t own_uid_;
  std::string own_login_;

  // Set in Init, immutable afterwards. The loop is declared first so that it
  // is destroyed last: the parts below unregister from it.
  std::unique_ptr<EventLoop> loop_;
  std::unique_ptr<OutputWatcher> watcher_;
  std::unique_ptr<ChildReaper> reaper_;  // reap_orphans only
  std::unique_ptr<CgroupTree> cgroups_;  // null: process-group fallback
  UniqueFd output_dir_;                  // options_.output_dir

  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<Job>> jobs_
      ABSL_GUARDED_BY(mu_);
  bool shutting_down_ ABSL_GUARDED_BY(mu_) = false;
  int unfinished_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace cmdctl

#endif  // CMDCTL_OS_ADAPTER_LINUX_PROCESS_HOST_H_

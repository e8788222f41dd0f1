// The Linux implementation of the domain's OS seam (domain/process_host.h).
//
// Each job is started through cmdctl-launcher (launcher_main.cc, spawned by
// launcher_client.h), which stays on as the job's monitor (monitor.h): the
// job's parent, which drains its stdout and stderr into two files (made as
// the user, capped), reaps its tree, and records its end in the host's
// state directory (run_dir.h) whether or not this host still runs. So jobs
// outlive the host: a new host takes them up again with Attach.
//
// The parts, each owning one concern: the event loop (event_loop.h: epoll,
// posted tasks, timers) runs every observer callback and timer on its one
// thread, never while a host lock is held; the
// child reaper (child_reaper.h, with reap_orphans); the cgroup tree
// (cgroup.h: limits, signals, usage); the user database (user_db.h); the
// state directory (run_dir.h) and the job's output files
// (output_files.h). This class composes them and keeps the job lifecycle:
// monitor started -> monitor ended (pidfd) -> end report -> OnEnd ->
// Release.
//
// Every public method is thread-safe.
//
// Files: linux_process_host.cc (set-up, restarts, signals, the lifecycle),
// linux_process_host_start.cc (Start), linux_process_host_output.cc
// (reading and removing output), linux_process_host_job.h (a job's state).
//
// Output notifications: a reader that waits sets the want_notify flag of
// the monitor's status page; the monitor answers the next growth of the
// output with a byte on its notify FIFO (monitor_files.h), which the host
// turns into OnOutput. A job nobody waits for costs nothing per write.
//
// File descriptors: a running job holds 6 fds in the host (the monitor's
// pidfd and notify FIFO, its run directory, its cgroup directory and the
// two output files); an ended job holds none (a reader of its output opens
// the files afresh, as the user).
#ifndef CMDCTL_OS_ADAPTER_LINUX_PROCESS_HOST_H_
#define CMDCTL_OS_ADAPTER_LINUX_PROCESS_HOST_H_

#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

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
#include "os_adapter/fd_reserve.h"
#include "os_adapter/host_job_state.h"
#include "os_adapter/launch_protocol.h"
#include "os_adapter/launcher_pool.h"
#include "os_adapter/output_space.h"
#include "os_adapter/run_dir.h"
#include "os_adapter/user_db.h"

namespace cmdctl {

struct LinuxProcessHostOptions {
  // Absolute path of the cmdctl-launcher executable (root-owned in
  // production). DefaultLauncherPath() finds the one next to this binary.
  std::string launcher_path;
  // The host's state (<state_dir>/jobs/<job_id>/): an existing directory
  // owned by the host's user and writable by nobody else. Required.
  std::string state_dir;
  // Empty: each job's output goes to the run-as user's
  // ~/.local/state/cmdctl/jobs/<job_id>/. Otherwise an existing directory,
  // owned by the host's user and writable by nobody else, under which the
  // host makes <job_id>/ for the user.
  std::string output_dir;
  // Make this process a child subreaper and reap every child it gets
  // (child_reaper.h), so that nothing it ever started stays a zombie. This
  // reaps ALL children of the process: only for a process whose children
  // are all started by this host (cmdctld), and only one host per process
  // may set it.
  bool reap_orphans = false;
  // False: never use cgroups (the process-group fallback; for tests of it).
  bool use_cgroups = true;
  // Empty: as CgroupTree::Open says (this process moves into a leaf of its
  // own cgroup, jobs go beside it). Otherwise the cgroup v2 directory under
  // which each job gets its own child cgroup.
  std::string cgroup_parent;
  // Before a start, the output file system (output_dir, else the run-as
  // user's home) and the state_dir's must have this much room
  // (output_space.h), or Start is RESOURCE_EXHAUSTED naming the one short
  // of it. Default: no floor.
  OutputSpaceFloor output_space_floor;
  // Kill every job still running when the host is destroyed (tests: no job
  // outlives its test). cmdctld leaves them running for the next start.
  bool kill_jobs_on_destroy = false;
};

// <directory of /proc/self/exe>/cmdctl-launcher.
std::string DefaultLauncherPath();

class LinuxProcessHost : public ProcessHost {
 public:
  // Fails with FAILED_PRECONDITION when the launcher, state_dir or
  // output_dir is unusable, INVALID_ARGUMENT for a bad option, INTERNAL or
  // RESOURCE_EXHAUSTED when the kernel refuses an epoll/inotify/timer fd. A
  // cgroup parent that cannot be made is no error: the host then falls back
  // to process groups (logged).
  static absl::StatusOr<std::unique_ptr<LinuxProcessHost>> Create(
      LinuxProcessHostOptions options);

  // Stops following the jobs (no observer is called any more) and stops the
  // event loop. The jobs run on (their monitors keep recording), unless
  // kill_jobs_on_destroy.
  ~LinuxProcessHost() override;

  absl::StatusOr<StartedProcess> Start(
      const ProcessSpec& spec,
      std::shared_ptr<ProcessObserver> observer) override;
  absl::StatusOr<std::optional<JobEnd>> Attach(
      const std::string& job_id, const std::string& host_state,
      std::shared_ptr<ProcessObserver> observer) override;
  std::vector<std::string> Leftovers() override;
  void Release(const std::string& job_id) override;
  absl::Status Discard(const std::string& job_id) override;
  absl::Status Terminate(const std::string& job_id) override;
  absl::Status Kill(const std::string& job_id) override;
  absl::StatusOr<LiveStats> Stats(const std::string& job_id) override;
  absl::StatusOr<std::unique_ptr<OutputReader>> OpenOutput(
      const OutputSource& source) override;
  absl::Status RemoveOutput(const std::string& job_id,
                            const std::string& host_state) override;
  absl::Status CheckLimits(const ResourceLimits& limits) override;
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

  // Start, but for the log line of a failure.
  absl::StatusOr<StartedProcess> StartJob(
      const ProcessSpec& spec, std::shared_ptr<ProcessObserver> observer);
  // Start's steps.
  // RESOURCE_EXHAUSTED when the output's or the state's file system is
  // below options_.output_space_floor.
  absl::Status CheckRoom(const UserEntry& user);
  absl::StatusOr<UniqueFd> MakeOutputDir(const std::string& job_id,
                                         const UserEntry& user);
  // A request acting for the job's user (uid, gid, its groups now, home,
  // where the output lives). `user`: the user as just looked up (else it
  // is looked up here).
  LaunchRequest UserRequest(const std::string& job_id,
                            const HostJobState& state, LaunchRequest::Mode mode,
                            const UserEntry* user = nullptr) const;
  // What a launch needs besides the request (the pool's spare launcher
  // included); and, once it has been used, a new spare, spawned on the
  // loop thread.
  LaunchContext LauncherContext() const;
  void RefillLaunchers();
  // Follows `job` from now on (its monitor's pidfd). On failure the job is
  // killed and forgotten.
  absl::Status Register(const std::shared_ptr<Job>& job)
      ABSL_LOCKS_EXCLUDED(mu_);
  std::shared_ptr<Job> FindJob(const std::string& job_id)
      ABSL_LOCKS_EXCLUDED(mu_);
  // The job's output files, opened afresh as its user and checked to be
  // the ones it wrote (DATA_LOSS otherwise).
  absl::StatusOr<std::pair<UniqueFd, UniqueFd>> ReopenOutput(
      const std::string& job_id, const HostJobState& state);
  // What a job whose monitor is gone left: its end, exact or lost.
  JobEnd EndOf(int run_dir, const HostJobState& state);
  // TERM (or KILL) to the job's tree; OK once the tree is gone.
  absl::Status SignalTree(Job& job, int sig);

  // The lifecycle, on the loop thread.
  void OnNotify(const std::shared_ptr<Job>& job);
  void OnMonitorExit(const std::shared_ptr<Job>& job);
  // Removes a discarded job's output and state (any thread).
  void CleanUp(const std::string& job_id, const HostJobState& state);

  const LinuxProcessHostOptions options_;
  const bool is_root_;
  const uid_t own_uid_;
  std::string own_login_;
  std::string boot_id_;

  // Set in Init, immutable afterwards. The loop is declared first so that it
  // is destroyed last: the parts below unregister from it.
  std::unique_ptr<EventLoop> loop_;
  std::unique_ptr<ChildReaper> reaper_;  // reap_orphans only
  std::unique_ptr<LauncherPool> launchers_;
  std::unique_ptr<CgroupTree> cgroups_;  // null: process-group fallback
  std::unique_ptr<RunDirectory> runs_;
  UniqueFd output_dir_;  // options_.output_dir
  // Fds for undoing a failed start and for CleanUp, also when the process
  // is out of them: what KillAndRemove, RunDirectory::Remove and a
  // RemoveOutput launcher (socket pair, pidfd) need at once, and to spare.
  static constexpr int kCleanupFdReserve = 8;
  FdReserve cleanup_fds_{kCleanupFdReserve};

  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<Job>> jobs_
      ABSL_GUARDED_BY(mu_);
  bool shutting_down_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace cmdctl

#endif  // CMDCTL_OS_ADAPTER_LINUX_PROCESS_HOST_H_

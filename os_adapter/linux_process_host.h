// The Linux implementation of the domain's OS seam (domain/process_host.h).
//
// Each job is started through cmdctl-launcher (launcher_main.cc) with
// posix_spawn, in its own session, in its own cgroup v2 when the host offers
// one, as the run-as user. The job writes its stdout and stderr directly into
// two files that the launcher creates as the user; the host keeps read-only
// fds of them (received over a socketpair) and never opens a user path
// itself. See docs/OS_ADAPTER.md for the design and its guarantees.
//
// Threads: one event-loop thread (epoll) per host learns of exits (pidfd, or
// SIGCHLD with reap_orphans), new output (inotify), the end of a job's tree
// (cgroup.events) and timers (one timerfd over a heap); it runs every
// ProcessObserver callback and timer fn, never while holding a host lock.
// Every public method is thread-safe.
//
// Output notifications: a job's output files carry a one-shot inotify
// watch only while a reader waits (WatchOutput), so a job nobody follows, or
// whose readers are behind, costs the host nothing per write.
//
// File descriptors: a running job holds 5 fds in the host (pidfd, its cgroup
// directory, cgroup.events, and the two output files) and, while a reader
// waits, 2 inotify watches; an ended job keeps its 2 output fds for as long as
// the host lives, since ReadOutput must keep working. cmdctld raises
// RLIMIT_NOFILE accordingly.
#ifndef CMDCTL_OS_ADAPTER_LINUX_PROCESS_HOST_H_
#define CMDCTL_OS_ADAPTER_LINUX_PROCESS_HOST_H_

#include <sys/types.h>

#include <functional>
#include <memory>
#include <optional>
#include <queue>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "domain/process_host.h"
#include "domain/types.h"

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
  // Make this process a child subreaper (PR_SET_CHILD_SUBREAPER) and reap
  // every child it gets, so that reparented grandchildren of jobs never stay
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
  // unusable, INVALID_ARGUMENT for a bad option, INTERNAL when the kernel
  // refuses an epoll/inotify/timer fd. A cgroup parent that cannot be made is
  // no error: the host then falls back to process groups (logged).
  static absl::StatusOr<std::unique_ptr<LinuxProcessHost>> Create(
      LinuxProcessHostOptions options);

  // Kills the tree of every job still running (no observer is called any
  // more), waits a few seconds for the trees to go and their cgroups to be
  // removed, then stops the event loop.
  ~LinuxProcessHost() override;

  LinuxProcessHost(const LinuxProcessHost&) = delete;
  LinuxProcessHost& operator=(const LinuxProcessHost&) = delete;

  absl::StatusOr<StartedProcess> Start(
      const ProcessSpec& spec,
      std::shared_ptr<ProcessObserver> observer) override;
  absl::Status Terminate(const std::string& job_id) override;
  absl::Status Kill(const std::string& job_id) override;
  absl::StatusOr<std::string> ReadOutput(const std::string& job_id,
                                         OutputStream stream, int64_t offset,
                                         size_t max_bytes) override;
  absl::StatusOr<int64_t> OutputSize(const std::string& job_id,
                                     OutputStream stream) override;
  absl::Status WatchOutput(const std::string& job_id) override;
  absl::Time Now() override;
  TimerId RunAfter(absl::Duration delay, std::function<void()> fn) override;
  void CancelTimer(TimerId id) override;

  // The cgroup v2 directory holding one child cgroup per running job; empty
  // when the host uses the process-group fallback.
  const std::string& cgroup_parent() const { return cgroup_parent_; }

 private:
  struct Job;
  struct User;
  struct Timer {
    int64_t deadline_ns;
    TimerId id;
    bool operator>(const Timer& o) const {
      return deadline_ns != o.deadline_ns ? deadline_ns > o.deadline_ns
                                          : id > o.id;
    }
  };

  explicit LinuxProcessHost(LinuxProcessHostOptions options);
  absl::Status Init();
  void SetUpCgroups();

  // Start's steps.
  absl::StatusOr<User> LookupUser(const std::string& login) const;
  absl::Status Launch(const ProcessSpec& spec, const User& user, Job& job);
  void Register(std::shared_ptr<Job> job);

  // Tree signalling (job.mu held).
  absl::Status SignalTree(Job& job, int sig);
  absl::Status KillTree(Job& job);

  std::shared_ptr<Job> FindJob(const std::string& job_id);

  // Event loop (loop thread only).
  void Loop();
  void Post(std::function<void()> fn);
  void RunPosted();
  void RunDueTimers();
  void ArmTimerLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void DrainInotify();
  void ReapChildren();
  void OnPidfdReadable(Job& job);
  void OnMainExit(Job& job, ExitInfo exit);
  void CheckTreeGone(Job& job);
  void FinishJob(Job& job);

  const LinuxProcessHostOptions options_;
  const bool is_root_;
  const uid_t own_uid_;
  std::string own_login_;

  // Fds owned by the host; set in Init, immutable afterwards.
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  int timer_fd_ = -1;
  int inotify_fd_ = -1;
  int sigchld_fd_ = -1;                // reap_orphans only
  int output_dir_fd_ = -1;             // options_.output_dir
  int cgroup_parent_fd_ = -1;          // -1: process-group fallback
  std::string cgroup_parent_;          // its path
  std::string cgroup_parent_v2_path_;  // as /proc/<pid>/cgroup shows it

  // Held shared by Start around posix_spawn until the new pid is registered,
  // exclusively by the reaper (reap_orphans), so a child's status is never
  // reaped before the host knows whose it is.
  absl::Mutex spawn_mu_;

  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<Job>> jobs_
      ABSL_GUARDED_BY(mu_);
  // Output watches: by inotify wd, and each Job's wd[]/watch_closed. Taken
  // without mu_ held (and mu_ is never taken while holding it).
  absl::Mutex watch_mu_;
  absl::flat_hash_map<int, std::shared_ptr<Job>> by_watch_
      ABSL_GUARDED_BY(watch_mu_);
  // reap_orphans: running main processes by pid, and pids being started
  // (with their exit if the reaper got it first).
  absl::flat_hash_map<pid_t, std::shared_ptr<Job>> by_pid_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<pid_t, std::optional<ExitInfo>> starting_
      ABSL_GUARDED_BY(mu_);
  std::vector<std::function<void()>> posted_ ABSL_GUARDED_BY(mu_);
  std::priority_queue<Timer, std::vector<Timer>, std::greater<Timer>>
      timer_heap_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<TimerId, std::function<void()>> timers_
      ABSL_GUARDED_BY(mu_);
  TimerId next_timer_id_ ABSL_GUARDED_BY(mu_) = 1;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool shutting_down_ ABSL_GUARDED_BY(mu_) = false;
  int unfinished_ ABSL_GUARDED_BY(mu_) = 0;

  std::thread loop_thread_;
};

}  // namespace cmdctl

#endif  // CMDCTL_OS_ADAPTER_LINUX_PROCESS_HOST_H_

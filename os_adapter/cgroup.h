// The cgroup v2 part of the host: the subtree under which each job gets a
// cgroup of its own, and one job's cgroup (signal every process in it, kill
// it whole, learn when it is empty, remove it).
//
// Nothing here follows a path the jobs control: the cgroup directories are
// root's, and every file is opened relative to a directory fd.
#ifndef CMDCTL_OS_ADAPTER_CGROUP_H_
#define CMDCTL_OS_ADAPTER_CGROUP_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/unique_fd.h"

namespace cmdctl {

class JobCgroup;

// The directory holding one child cgroup per job.
class CgroupTree {
 public:
  // Empty `parent`: <cgroup2 mount>/<this process's cgroup>/cmdctl, found
  // from /proc/self/mountinfo and /proc/self/cgroup; otherwise that cgroup v2
  // directory. Makes it if missing and checks that a child cgroup can be
  // made and entered. nullptr (with a warning logged) when the host has no
  // usable cgroup v2: jobs are then tracked by process group only.
  static std::unique_ptr<CgroupTree> Open(const std::string& parent);

  CgroupTree(const CgroupTree&) = delete;
  CgroupTree& operator=(const CgroupTree&) = delete;

  // Its directory, e.g. /sys/fs/cgroup/unified/user.slice/.../cmdctl.
  const std::string& path() const { return path_; }

  // Makes the cgroup <path>/<name> and opens it. RESOURCE_EXHAUSTED or
  // INTERNAL when the kernel refuses; nothing is left behind on failure.
  absl::StatusOr<std::unique_ptr<JobCgroup>> Create(const std::string& name);

 private:
  CgroupTree(UniqueFd dir, std::string path, std::string v2_path)
      : dir_(std::move(dir)),
        path_(std::move(path)),
        v2_path_(std::move(v2_path)) {}

  const UniqueFd dir_;
  const std::string path_;
  const std::string v2_path_;  // as /proc/<pid>/cgroup names it
};

// One job's cgroup. Not thread-safe: the host serializes calls (the job's
// tree lock).
class JobCgroup {
 public:
  JobCgroup(const JobCgroup&) = delete;
  JobCgroup& operator=(const JobCgroup&) = delete;

  // The write fd of cgroup.procs, for the launcher to join the cgroup with;
  // the caller owns it from here on.
  UniqueFd TakeProcsFd() { return std::move(procs_); }
  // cgroup.events, for epoll (EPOLLPRI) until Remove.
  int events_fd() const { return events_.get(); }

  // Sends `sig` to every process in the cgroup. Each pid read from
  // cgroup.procs is pinned with a pidfd and checked to be still in this
  // cgroup, so a recycled pid is never signalled; passes repeat while they
  // find processes forked meanwhile (bounded: a fork bomb is for Kill).
  absl::Status Signal(int sig);
  // SIGKILL to the whole cgroup at once (cgroup.kill; kernels before 5.14:
  // Signal(SIGKILL)).
  absl::Status Kill();
  // Whether any process is left (cgroup.events "populated"); reading it
  // also re-arms its EPOLLPRI notification.
  absl::StatusOr<bool> Populated();
  // Closes the fds and removes the (empty) cgroup.
  absl::Status Remove();

 private:
  friend class CgroupTree;
  JobCgroup(int parent_fd, std::string name, std::string v2_path, UniqueFd dir,
            UniqueFd procs, UniqueFd events)
      : parent_fd_(parent_fd),
        name_(std::move(name)),
        v2_path_(std::move(v2_path)),
        dir_(std::move(dir)),
        procs_(std::move(procs)),
        events_(std::move(events)) {}

  const int parent_fd_;  // the tree's directory (outlives its cgroups)
  const std::string name_;
  const std::string v2_path_;
  UniqueFd dir_;
  UniqueFd procs_;
  UniqueFd events_;
};

}  // namespace cmdctl

#endif  // CMDCTL_OS_ADAPTER_CGROUP_H_

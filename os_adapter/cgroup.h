// The cgroup v2 part of the host: the subtree where each job gets a cgroup
// of its own (with the limits of SPEC §5a), and one job's cgroup (signal
// every process in it, kill it whole, read its usage, remove it).
//
// Where (SPEC §5a; the no-internal-process rule): cmdctld finds its own
// cgroup R in /proc/self/cgroup and the cgroup2 mount in
// /proc/self/mountinfo, moves itself into the leaf R/cmdctld, and puts jobs
// under R/jobs/<job_id>, enabling in R and R/jobs whichever of the cpu,
// memory, pids and io controllers R offers. It never writes outside R.
// (Started in a cgroup named "cmdctld", R is its parent: a restart.)
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
#include "domain/types.h"

namespace cmdctl {

class JobCgroup;

// The controllers the jobs' cgroups have.
struct CgroupControllers {
  bool cpu = false;
  bool memory = false;
  bool pids = false;
  bool io = false;
};

// OK when every non-zero limit of `limits` has its controller in `have`;
// otherwise FAILED_PRECONDITION naming the first missing controller and,
// after "is not available ", `where` (e.g. "to the job cgroups under X").
absl::Status CheckLimitsAgainst(const ResourceLimits& limits,
                                const CgroupControllers& have,
                                const std::string& where);

// The directory holding one child cgroup per job.
class CgroupTree {
 public:
  // Empty `jobs_parent`: R/jobs as above (moving this process into
  // R/cmdctld). Otherwise that cgroup v2 directory (made if missing; this
  // process is not moved). nullptr (with a warning logged) when the host
  // has no usable cgroup v2: jobs are then tracked by process group only.
  static std::unique_ptr<CgroupTree> Open(const std::string& jobs_parent);

  CgroupTree(const CgroupTree&) = delete;
  CgroupTree& operator=(const CgroupTree&) = delete;

  // Its directory, e.g. /sys/fs/cgroup/system.slice/cmdctld.service/jobs.
  const std::string& path() const { return path_; }
  int fd() const { return dir_.get(); }
  const CgroupControllers& controllers() const { return controllers_; }

  // OK when every non-zero limit has its controller here;
  // FAILED_PRECONDITION naming the first missing one otherwise.
  absl::Status CheckLimits(const ResourceLimits& limits) const;

  // Makes the cgroup <path>/<name> with `limits` applied (memory.max with
  // memory.swap.max 0 and memory.oom.group 1, cpu.max, pids.max, io.max on
  // every block device but loop and ram ones) and opens it.
  // FAILED_PRECONDITION when a limit cannot be applied; RESOURCE_EXHAUSTED
  // or INTERNAL when the kernel refuses. Nothing is left behind on failure.
  absl::StatusOr<std::unique_ptr<JobCgroup>> Create(
      const std::string& name, const ResourceLimits& limits);

  // Opens the existing cgroup <path>/<name> (after a restart). NOT_FOUND
  // when it is gone.
  absl::StatusOr<std::unique_ptr<JobCgroup>> OpenExisting(
      const std::string& name);

 private:
  CgroupTree(UniqueFd dir, std::string path, std::string v2_path,
             CgroupControllers controllers, std::string missing_why)
      : dir_(std::move(dir)),
        path_(std::move(path)),
        v2_path_(std::move(v2_path)),
        controllers_(controllers),
        missing_why_(std::move(missing_why)) {}

  absl::Status ApplyLimits(int dir, const ResourceLimits& limits);

  const UniqueFd dir_;
  const std::string path_;
  const std::string v2_path_;  // as /proc/<pid>/cgroup names it
  const CgroupControllers controllers_;
  const std::string missing_why_;  // why controllers are missing, if any
};

// One job's cgroup. Not thread-safe: the host serializes calls (the job's
// tree lock).
class JobCgroup {
 public:
  JobCgroup(const JobCgroup&) = delete;
  JobCgroup& operator=(const JobCgroup&) = delete;

  // Sends `sig` to every process in the cgroup. Each pid read from
  // cgroup.procs is pinned with a pidfd and checked to be still in this
  // cgroup, so a recycled pid is never signalled; passes repeat while they
  // find processes forked meanwhile (bounded: a fork bomb is for Kill).
  absl::Status Signal(int sig);
  // SIGKILL to the whole cgroup at once (cgroup.kill; kernels before 5.14:
  // Signal(SIGKILL)).
  absl::Status Kill();
  // CPU (cpu.stat: the whole tree, with or without the cpu controller),
  // memory.peak and io.stat where the controllers give them (0 otherwise).
  absl::StatusOr<ResourceUsage> Usage();
  // Kills what is left, waits (up to `wait`) for the cgroup to empty and
  // removes it (a failed start, a monitor that died).
  absl::Status KillAndRemove(absl::Duration wait);

 private:
  friend class CgroupTree;
  JobCgroup(int parent_fd, std::string name, std::string v2_path, UniqueFd dir)
      : parent_fd_(parent_fd),
        name_(std::move(name)),
        v2_path_(std::move(v2_path)),
        dir_(std::move(dir)) {}

  const int parent_fd_;  // the tree's directory (outlives its cgroups)
  const std::string name_;
  const std::string v2_path_;
  UniqueFd dir_;
};

}  // namespace cmdctl

#endif  // CMDCTL_OS_ADAPTER_CGROUP_H_

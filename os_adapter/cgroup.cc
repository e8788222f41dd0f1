#include "os_adapter/cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <optional>

#include "absl/cleanup/cleanup.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/errno_status.h"
#include "common/file_util.h"
#include "glog/logging.h"
#include "os_adapter/os_util.h"
#include "os_adapter/syscalls.h"

namespace cmdctl {
namespace {

constexpr int kDirFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW;

bool ParsePopulated(const std::string& events, bool& populated) {
  for (absl::string_view line : absl::StrSplit(events, '\n')) {
    if (absl::ConsumePrefix(&line, "populated ")) {
      populated = line != "0";
      return true;
    }
  }
  return false;
}

// The directory of the cgroup tree and its v2 path; nullopt (logged) when
// there is no usable one.
struct TreeLocation {
  std::string dir;
  std::string v2_path;
};

std::optional<TreeLocation> Locate(const std::string& parent) {
  absl::StatusOr<std::string> mountinfo =
      ReadFileToString(AT_FDCWD, "/proc/self/mountinfo");
  const std::optional<CgroupMount> mount =
      FindCgroup2Mount(mountinfo.ok() ? *mountinfo : "");
  if (!mount) {
    LOG(WARNING) << "no cgroup v2 mount: jobs are tracked by process group "
                    "only (see docs/ARCHITECTURE.md)";
    return std::nullopt;
  }
  if (!parent.empty()) {
    const std::string& mp = mount->mount_point;
    if (parent.compare(0, mp.size(), mp) != 0 ||
        (parent.size() > mp.size() && parent[mp.size()] != '/')) {
      LOG(WARNING) << "cgroup parent " << parent << " is not under the "
                   << "cgroup2 mount " << mp << ": process groups only";
      return std::nullopt;
    }
    return TreeLocation{parent, (mount->root == "/" ? "" : mount->root) +
                                    parent.substr(mp.size())};
  }
  absl::StatusOr<std::string> proc_cgroup =
      ReadFileToString(AT_FDCWD, "/proc/self/cgroup");
  const std::optional<std::string> own =
      FindCgroup2Path(proc_cgroup.ok() ? *proc_cgroup : "");
  std::optional<std::string> own_dir;
  if (own) own_dir = CgroupDirectory(*mount, *own);
  if (!own_dir) {
    LOG(WARNING) << "cannot locate this process's cgroup v2: process "
                    "groups only";
    return std::nullopt;
  }
  return TreeLocation{*own_dir == "/" ? "/cmdctl" : *own_dir + "/cmdctl",
                      (*own == "/" ? "" : *own) + "/cmdctl"};
}

// A child cgroup can be made under `dir` and entered (writable procs).
bool CanMakeChildren(int dir) {
  const std::string probe = absl::StrCat("probe-", getpid());
  if (mkdirat(dir, probe.c_str(), 0755) != 0) return false;
  const bool usable =
      OpenAt(dir, probe + "/cgroup.procs", O_WRONLY).status().ok();
  unlinkat(dir, probe.c_str(), AT_REMOVEDIR);
  return usable;
}

}  // namespace

std::unique_ptr<CgroupTree> CgroupTree::Open(const std::string& parent) {
  std::optional<TreeLocation> where = Locate(parent);
  if (!where) return nullptr;
  if (mkdir(where->dir.c_str(), 0755) != 0 && errno != EEXIST) {
    LOG(WARNING) << "cannot create cgroup " << where->dir << " ("
                 << ErrnoText(errno) << "): process groups only";
    return nullptr;
  }
  absl::StatusOr<UniqueFd> dir = OpenAt(AT_FDCWD, where->dir, kDirFlags);
  if (!dir.ok()) {
    LOG(WARNING) << "cannot open cgroup " << dir.status()
                 << ": process groups only";
    return nullptr;
  }
  if (!CanMakeChildren(dir->get())) {
    LOG(WARNING) << "cannot create job cgroups under " << where->dir
                 << ": process groups only";
    return nullptr;
  }
  LOG(INFO) << "jobs get their own cgroup under " << where->dir;
  return std::unique_ptr<CgroupTree>(new CgroupTree(
      *std::move(dir), std::move(where->dir), std::move(where->v2_path)));
}

absl::StatusOr<std::unique_ptr<JobCgroup>> CgroupTree::Create(
    const std::string& name) {
  if (mkdirat(dir_.get(), name.c_str(), 0755) != 0) {
    return ErrnoStatus(errno, "creating the job's cgroup",
                       ErrnoCause::kMachinery);
  }
  absl::Cleanup remove = [&] {
    unlinkat(dir_.get(), name.c_str(), AT_REMOVEDIR);
  };
  constexpr ErrnoCause kOurs = ErrnoCause::kMachinery;
  absl::StatusOr<UniqueFd> dir = OpenAt(dir_.get(), name, kDirFlags, 0, kOurs);
  if (!dir.ok()) return dir.status();
  absl::StatusOr<UniqueFd> procs =
      OpenAt(dir->get(), "cgroup.procs", O_WRONLY, 0, kOurs);
  if (!procs.ok()) return procs.status();
  absl::StatusOr<UniqueFd> events =
      OpenAt(dir->get(), "cgroup.events", O_RDONLY, 0, kOurs);
  if (!events.ok()) return events.status();
  std::move(remove).Cancel();
  return std::unique_ptr<JobCgroup>(
      new JobCgroup(dir_.get(), name, absl::StrCat(v2_path_, "/", name),
                    *std::move(dir), *std::move(procs), *std::move(events)));
}

absl::Status JobCgroup::Signal(int sig) {
  if (!dir_) return absl::OkStatus();  // removed: nothing is left
  absl::flat_hash_set<int> signalled;
  for (int pass = 0; pass < 8; ++pass) {
    absl::StatusOr<std::string> procs = ReadFileToString(
        dir_.get(), "cgroup.procs", 64 << 20, ErrnoCause::kMachinery);
    if (!procs.ok()) return procs.status();
    bool found_new = false;
    for (absl::string_view line :
         absl::StrSplit(*procs, '\n', absl::SkipEmpty())) {
      int pid;
      if (!absl::SimpleAtoi(line, &pid) || pid <= 0) continue;
      if (!signalled.insert(pid).second) continue;
      found_new = true;
      UniqueFd pidfd(PidfdOpen(pid));
      if (!pidfd) continue;  // already gone
      absl::StatusOr<std::string> cgroup =
          ReadFileToString(AT_FDCWD, absl::StrCat("/proc/", pid, "/cgroup"));
      if (cgroup.ok() && FindCgroup2Path(*cgroup) == v2_path_) {
        PidfdSendSignal(pidfd.get(), sig);
      }
    }
    if (!found_new) break;
  }
  return absl::OkStatus();
}

absl::Status JobCgroup::Kill() {
  if (!dir_) return absl::OkStatus();
  absl::StatusOr<UniqueFd> kill = OpenAt(dir_.get(), "cgroup.kill", O_WRONLY);
  if (!kill.ok()) return Signal(SIGKILL);  // before 5.14: one by one
  if (!WriteAll(kill->get(), "1")) {
    return ErrnoStatus(errno, "writing cgroup.kill", ErrnoCause::kMachinery);
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> JobCgroup::Populated() {
  absl::StatusOr<std::string> events = PreadAll(events_.get());
  bool populated = true;
  if (!events.ok()) return events.status();
  if (!ParsePopulated(*events, populated)) {
    return absl::InternalError("cgroup.events has no 'populated' line");
  }
  return populated;
}

absl::Status JobCgroup::Remove() {
  dir_.reset();
  procs_.reset();
  events_.reset();
  if (unlinkat(parent_fd_, name_.c_str(), AT_REMOVEDIR) != 0) {
    return ErrnoStatus(errno, "removing the job's cgroup",
                       ErrnoCause::kMachinery);
  }
  return absl::OkStatus();
}

}  // namespace cmdctl

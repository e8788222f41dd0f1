#include "os_adapter/cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <optional>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/errno_status.h"
#include "common/file_util.h"
#include "glog/logging.h"
#include "os_adapter/monitor_files.h"
#include "os_adapter/os_util.h"
#include "os_adapter/syscalls.h"

namespace cmdctl {
namespace {

constexpr int kDirFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW;
constexpr ErrnoCause kOurs = ErrnoCause::kMachinery;
constexpr char kLeaf[] = "cmdctld";
constexpr char kJobs[] = "jobs";
// cpu.max's period, and the kernel's smallest quota.
constexpr int64_t kCpuPeriodUs = 100000;
constexpr int64_t kMinCpuQuotaUs = 1000;

absl::flat_hash_set<std::string> ReadControllers(int dir, const char* file) {
  absl::StatusOr<std::string> text = ReadFileToString(dir, file);
  absl::flat_hash_set<std::string> out;
  if (!text.ok()) return out;
  for (absl::string_view c :
       absl::StrSplit(*text, absl::ByAnyChar(" \n"), absl::SkipEmpty())) {
    out.insert(std::string(c));
  }
  return out;
}

absl::Status WriteFile(int dir, const std::string& name,
                       const std::string& value) {
  absl::StatusOr<UniqueFd> fd = OpenAt(dir, name, O_WRONLY, 0, kOurs);
  if (!fd.ok()) return fd.status();
  if (!WriteAll(fd->get(), value)) {
    return ErrnoStatus(errno, absl::StrCat("writing ", value, " to ", name),
                       kOurs);
  }
  return absl::OkStatus();
}

// Enables in `dir`'s subtree_control every wanted controller it offers.
// Returns why some could not be (empty when all went).
std::string EnableControllers(int dir, const std::string& path) {
  const absl::flat_hash_set<std::string> offered =
      ReadControllers(dir, "cgroup.controllers");
  std::vector<std::string> failed;
  for (const char* c : {"cpu", "memory", "pids", "io"}) {
    if (!offered.contains(c)) continue;
    absl::Status enabled =
        WriteFile(dir, "cgroup.subtree_control", absl::StrCat("+", c));
    if (!enabled.ok()) failed.push_back(std::string(enabled.message()));
  }
  if (failed.empty()) return "";
  return absl::StrCat("cannot enable controllers in ", path, " (",
                      absl::StrJoin(failed, "; "),
                      "): a cgroup that holds processes cannot give "
                      "controllers to its children");
}

bool ParsePopulated(const std::string& events, bool& populated) {
  for (absl::string_view line : absl::StrSplit(events, '\n')) {
    if (absl::ConsumePrefix(&line, "populated ")) {
      populated = line != "0";
      return true;
    }
  }
  return false;
}

// The block devices io.max applies to: every one but loop and ram devices
// ("MAJ:MIN").
std::vector<std::string> BlockDevices() {
  std::vector<std::string> devices;
  DIR* d = opendir("/sys/block");
  if (d == nullptr) return devices;
  while (struct dirent* e = readdir(d)) {
    const std::string name = e->d_name;
    if (name[0] == '.' || absl::StartsWith(name, "loop") ||
        absl::StartsWith(name, "ram")) {
      continue;
    }
    absl::StatusOr<std::string> dev =
        ReadFileToString(AT_FDCWD, absl::StrCat("/sys/block/", name, "/dev"));
    if (dev.ok()) {
      devices.push_back(std::string(absl::StripAsciiWhitespace(*dev)));
    }
  }
  closedir(d);
  return devices;
}

// Where the tree lives, and the cgroup to move this process into first.
struct TreeLocation {
  std::string dir;      // the jobs' parent
  std::string v2_path;  // the same, as /proc/<pid>/cgroup names it
  std::string root;     // R (empty: an explicit parent, no move)
};

std::optional<TreeLocation> Locate(const std::string& jobs_parent) {
  absl::StatusOr<std::string> mountinfo =
      ReadFileToString(AT_FDCWD, "/proc/self/mountinfo");
  const std::optional<CgroupMount> mount =
      FindCgroup2Mount(mountinfo.ok() ? *mountinfo : "");
  if (!mount) {
    LOG(WARNING) << "no cgroup v2 mount: jobs are tracked by process group "
                    "only and no limit can be enforced (docs/DEPLOYMENT.md)";
    return std::nullopt;
  }
  const std::string root_prefix = mount->root == "/" ? "" : mount->root;
  if (!jobs_parent.empty()) {
    const std::string& mp = mount->mount_point;
    if (jobs_parent.compare(0, mp.size(), mp) != 0 ||
        (jobs_parent.size() > mp.size() && jobs_parent[mp.size()] != '/')) {
      LOG(WARNING) << "cgroup parent " << jobs_parent << " is not under the "
                   << "cgroup2 mount " << mp << ": process groups only";
      return std::nullopt;
    }
    return TreeLocation{jobs_parent,
                        root_prefix + jobs_parent.substr(mp.size()), ""};
  }
  absl::StatusOr<std::string> proc_cgroup =
      ReadFileToString(AT_FDCWD, "/proc/self/cgroup");
  std::optional<std::string> own =
      FindCgroup2Path(proc_cgroup.ok() ? *proc_cgroup : "");
  std::optional<std::string> own_dir;
  if (own) own_dir = CgroupDirectory(*mount, *own);
  if (!own_dir) {
    LOG(WARNING) << "cannot locate this process's cgroup v2: process "
                    "groups only";
    return std::nullopt;
  }
  // Already in our leaf (a restart into the same cgroup): R is its parent.
  const std::string leaf_suffix = absl::StrCat("/", kLeaf);
  if (absl::EndsWith(*own, leaf_suffix) &&
      absl::EndsWith(*own_dir, leaf_suffix)) {
    own->resize(own->size() - leaf_suffix.size());
    own_dir->resize(own_dir->size() - leaf_suffix.size());
    if (own->empty()) *own = "/";
  }
  const std::string v2_root = *own == "/" ? "" : *own;
  return TreeLocation{absl::StrCat(*own_dir, "/", kJobs),
                      absl::StrCat(v2_root, "/", kJobs), *own_dir};
}

// Moves this process into <root>/cmdctld so that <root> holds no process
// and can give controllers to <root>/jobs.
void MoveIntoLeaf(const std::string& root) {
  const std::string leaf = absl::StrCat(root, "/", kLeaf);
  if (mkdir(leaf.c_str(), 0755) != 0 && errno != EEXIST) {
    LOG(WARNING) << "cannot create " << leaf << " (" << ErrnoText(errno)
                 << "): cmdctld stays in " << root;
    return;
  }
  absl::StatusOr<UniqueFd> dir = OpenAt(AT_FDCWD, leaf, kDirFlags);
  absl::Status moved =
      dir.ok() ? WriteFile(dir->get(), "cgroup.procs", "0") : dir.status();
  if (!moved.ok()) {
    LOG(WARNING) << "cannot move cmdctld into " << leaf << ": " << moved;
  }
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

std::unique_ptr<CgroupTree> CgroupTree::Open(const std::string& jobs_parent) {
  std::optional<TreeLocation> where = Locate(jobs_parent);
  if (!where) return nullptr;
  std::string missing_why;
  if (!where->root.empty()) {
    MoveIntoLeaf(where->root);
    absl::StatusOr<UniqueFd> root = OpenAt(AT_FDCWD, where->root, kDirFlags);
    if (root.ok()) missing_why = EnableControllers(root->get(), where->root);
  }
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
  const std::string more = EnableControllers(dir->get(), where->dir);
  if (missing_why.empty()) missing_why = more;
  const absl::flat_hash_set<std::string> enabled =
      ReadControllers(dir->get(), "cgroup.subtree_control");
  CgroupControllers controllers{
      enabled.contains("cpu"), enabled.contains("memory"),
      enabled.contains("pids"), enabled.contains("io")};
  LOG(INFO) << "jobs get their own cgroup under " << where->dir
            << " (controllers: "
            << (enabled.empty() ? "none" : absl::StrJoin(enabled, " ")) << ")";
  return std::unique_ptr<CgroupTree>(new CgroupTree(
      *std::move(dir), std::move(where->dir), std::move(where->v2_path),
      controllers, std::move(missing_why)));
}

absl::Status CheckLimitsAgainst(const ResourceLimits& l,
                                const CgroupControllers& have,
                                const std::string& where) {
  struct Need {
    bool wanted;
    bool have;
    const char* controller;
    const char* field;
  };
  const Need needs[] = {
      {l.memory_bytes > 0, have.memory, "memory", "memory_bytes"},
      {l.cpu_millicores > 0, have.cpu, "cpu", "cpu_millicores"},
      {l.pids > 0, have.pids, "pids", "pids"},
      {l.io_read_bytes_per_second > 0 || l.io_write_bytes_per_second > 0,
       have.io, "io", "io_*_bytes_per_second"},
  };
  for (const Need& n : needs) {
    if (n.wanted && !n.have) {
      return absl::FailedPreconditionError(absl::StrCat(
          "cannot enforce ", n.field, ": the ", n.controller,
          " controller is not available ", where, "; see docs/DEPLOYMENT.md"));
    }
  }
  return absl::OkStatus();
}

absl::Status CgroupTree::CheckLimits(const ResourceLimits& l) const {
  return CheckLimitsAgainst(
      l, controllers_,
      absl::StrCat(
          "to the job cgroups under ", path_,
          missing_why_.empty() ? "" : absl::StrCat(" (", missing_why_, ")")));
}

absl::Status CgroupTree::ApplyLimits(int dir, const ResourceLimits& l) {
  if (l.memory_bytes > 0) {
    for (auto [file, value] : {std::pair<const char*, std::string>{
                                   "memory.max", absl::StrCat(l.memory_bytes)},
                               {"memory.swap.max", "0"},
                               {"memory.oom.group", "1"}}) {
      // memory.swap.max is absent without swap accounting: nothing to stop.
      absl::Status s = WriteFile(dir, file, value);
      if (!s.ok() && !(absl::IsNotFound(s) && file[7] == 's')) return s;
    }
  }
  if (l.cpu_millicores > 0) {
    const int64_t quota =
        std::max(kMinCpuQuotaUs, l.cpu_millicores * kCpuPeriodUs / 1000);
    absl::Status s =
        WriteFile(dir, "cpu.max", absl::StrCat(quota, " ", kCpuPeriodUs));
    if (!s.ok()) return s;
  }
  if (l.pids > 0) {
    absl::Status s = WriteFile(dir, "pids.max", absl::StrCat(l.pids));
    if (!s.ok()) return s;
  }
  if (l.io_read_bytes_per_second > 0 || l.io_write_bytes_per_second > 0) {
    std::string rates;
    if (l.io_read_bytes_per_second > 0) {
      absl::StrAppend(&rates, " rbps=", l.io_read_bytes_per_second);
    }
    if (l.io_write_bytes_per_second > 0) {
      absl::StrAppend(&rates, " wbps=", l.io_write_bytes_per_second);
    }
    int applied = 0;
    std::string last_error;
    for (const std::string& device : BlockDevices()) {
      absl::Status s = WriteFile(dir, "io.max", device + rates);
      if (s.ok()) {
        ++applied;
      } else {
        last_error = std::string(s.message());  // e.g. no queue to throttle
      }
    }
    if (applied == 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          "cannot enforce io limits: io.max applies to no block device here",
          last_error.empty() ? "" : absl::StrCat(" (", last_error, ")")));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<JobCgroup>> CgroupTree::Create(
    const std::string& name, const ResourceLimits& limits) {
  if (absl::Status can = CheckLimits(limits); !can.ok()) return can;
  if (mkdirat(dir_.get(), name.c_str(), 0755) != 0) {
    return ErrnoStatus(errno, "creating the job's cgroup", kOurs);
  }
  absl::Cleanup remove = [&] {
    unlinkat(dir_.get(), name.c_str(), AT_REMOVEDIR);
  };
  absl::StatusOr<UniqueFd> dir = OpenAt(dir_.get(), name, kDirFlags, 0, kOurs);
  if (!dir.ok()) return dir.status();
  if (absl::Status applied = ApplyLimits(dir->get(), limits); !applied.ok()) {
    if (applied.code() == absl::StatusCode::kInternal) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot apply the job's limits: ", applied.message()));
    }
    return applied;
  }
  std::move(remove).Cancel();
  return std::unique_ptr<JobCgroup>(new JobCgroup(
      dir_.get(), name, absl::StrCat(v2_path_, "/", name), *std::move(dir)));
}

absl::StatusOr<std::unique_ptr<JobCgroup>> CgroupTree::OpenExisting(
    const std::string& name) {
  absl::StatusOr<UniqueFd> dir = OpenAt(dir_.get(), name, kDirFlags);
  if (!dir.ok()) return dir.status();
  return std::unique_ptr<JobCgroup>(new JobCgroup(
      dir_.get(), name, absl::StrCat(v2_path_, "/", name), *std::move(dir)));
}

absl::Status JobCgroup::Signal(int sig) {
  if (!dir_) return absl::OkStatus();  // removed: nothing is left
  absl::flat_hash_set<int> signalled;
  for (int pass = 0; pass < 8; ++pass) {
    absl::StatusOr<std::string> procs =
        ReadFileToString(dir_.get(), "cgroup.procs", 64 << 20, kOurs);
    if (!procs.ok()) {
      // The monitor removed the cgroup: the tree is gone.
      if (absl::IsNotFound(procs.status())) return absl::OkStatus();
      return procs.status();
    }
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
    if (errno == ENODEV || errno == ENOENT) return absl::OkStatus();  // gone
    return ErrnoStatus(errno, "writing cgroup.kill", kOurs);
  }
  return absl::OkStatus();
}

absl::StatusOr<ResourceUsage> JobCgroup::Usage() {
  ResourceUsage usage;
  if (!dir_) return usage;
  absl::StatusOr<std::string> cpu = ReadFileToString(dir_.get(), "cpu.stat");
  if (!cpu.ok()) return cpu.status();  // every v2 cgroup has it
  if (auto v = FlatKeyedValue(*cpu, "user_usec")) {
    usage.cpu_user = absl::Microseconds(*v);
  }
  if (auto v = FlatKeyedValue(*cpu, "system_usec")) {
    usage.cpu_system = absl::Microseconds(*v);
  }
  absl::StatusOr<std::string> peak =
      ReadFileToString(dir_.get(), "memory.peak");
  if (peak.ok()) {
    (void)absl::SimpleAtoi(absl::StripAsciiWhitespace(*peak),
                           &usage.memory_peak_bytes);
  }
  absl::StatusOr<std::string> io = ReadFileToString(dir_.get(), "io.stat");
  if (io.ok()) {
    const IoBytes bytes = SumIoStat(*io);
    usage.io_read_bytes = bytes.read;
    usage.io_write_bytes = bytes.write;
  }
  return usage;
}

absl::Status JobCgroup::KillAndRemove(absl::Duration wait) {
  if (!dir_) return absl::OkStatus();
  absl::Status killed = Kill();
  absl::StatusOr<UniqueFd> events =
      OpenAt(dir_.get(), "cgroup.events", O_RDONLY);
  const absl::Time deadline = absl::Now() + wait;
  while (events.ok()) {
    absl::StatusOr<std::string> text = PreadAll(events->get());
    bool populated = true;
    if (!text.ok() || !ParsePopulated(*text, populated) || !populated) break;
    const int64_t left = absl::ToInt64Milliseconds(deadline - absl::Now());
    if (left <= 0) break;
    struct pollfd p = {events->get(), POLLPRI, 0};
    poll(&p, 1, static_cast<int>(left));
  }
  dir_.reset();
  if (unlinkat(parent_fd_, name_.c_str(), AT_REMOVEDIR) != 0 &&
      errno != ENOENT) {
    return ErrnoStatus(errno, "removing the job's cgroup", kOurs);
  }
  return killed;
}

}  // namespace cmdctl

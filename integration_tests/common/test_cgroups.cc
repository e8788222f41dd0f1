#include "integration_tests/common/test_cgroups.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>

#include "absl/base/thread_annotations.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "os_adapter/os_util.h"

namespace cmdctl::test {
namespace {

constexpr char kPrefix[] = "cmdctl-it-";

std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

absl::Status WriteTo(const std::string& path, const std::string& value) {
  const int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("open ", path, ": ", strerror(errno)));
  }
  const ssize_t n = write(fd, value.data(), value.size());
  const int err = errno;
  close(fd);
  if (n != static_cast<ssize_t>(value.size())) {
    return absl::FailedPreconditionError(
        absl::StrCat("writing \"", value, "\" to ", path, ": ", strerror(err)));
  }
  return absl::OkStatus();
}

absl::Status MakeDir(const std::string& path) {
  if (mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) {
    return absl::FailedPreconditionError(
        absl::StrCat("mkdir ", path, ": ", strerror(errno)));
  }
  return absl::OkStatus();
}

// rmdir of every cgroup below `path`, deepest first, then of `path`.
void RemoveCgroupDirs(const std::string& path) {
  if (DIR* d = opendir(path.c_str())) {
    while (struct dirent* e = readdir(d)) {
      const std::string name = e->d_name;
      if (e->d_type == DT_DIR && name != "." && name != "..") {
        RemoveCgroupDirs(absl::StrCat(path, "/", name));
      }
    }
    closedir(d);
  }
  rmdir(path.c_str());
}

bool Populated(const std::string& cgroup) {
  const std::string events = ReadFileOrEmpty(cgroup + "/cgroup.events");
  return !events.empty() && !absl::StrContains(events, "populated 0");
}

class TestCgroups {
 public:
  static TestCgroups& Get() {
    static TestCgroups* cgroups = new TestCgroups();
    return *cgroups;
  }

  absl::StatusOr<std::string> Own() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock l(&mu_);
    return OwnLocked();
  }

  absl::Status Enable() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock l(&mu_);
    if (enabled_) return absl::OkStatus();
    absl::StatusOr<std::string> own = OwnLocked();
    if (!own.ok()) return own.status();
    const std::vector<std::string> offered = CgroupControllersOf(*own);
    std::vector<std::string> missing;
    for (const std::string& c : AllTestControllers()) {
      if (std::find(offered.begin(), offered.end(), c) == offered.end()) {
        missing.push_back(c);
      }
    }
    if (!missing.empty()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the test's cgroup ", *own, " lacks the ",
          absl::StrJoin(missing, ", "), " controller(s) (it offers: ",
          offered.empty() ? "none" : absl::StrJoin(offered, " "),
          "): limits can be tested only on a pure cgroup v2 host, e.g. in "
          "the VM of ci/vm-tests.sh"));
    }
    const std::string runner =
        absl::StrCat(*own, "/", kPrefix, getpid(), "-runner");
    if (absl::Status made = MakeDir(runner); !made.ok()) return made;
    if (absl::Status moved = WriteTo(runner + "/cgroup.procs", "0");
        !moved.ok()) {
      rmdir(runner.c_str());
      return moved;
    }
    std::vector<std::string> plus;
    for (const std::string& c : AllTestControllers()) plus.push_back("+" + c);
    absl::Status enabled =
        WriteTo(*own + "/cgroup.subtree_control", absl::StrJoin(plus, " "));
    if (!enabled.ok()) {
      // As it was: back into <own> (it enables no controller now).
      WriteTo(*own + "/cgroup.procs", "0").IgnoreError();
      rmdir(runner.c_str());
      return absl::FailedPreconditionError(absl::StrCat(
          enabled.message(),
          ": other processes share the test's cgroup (the no-internal-"
          "process rule); run the test alone in a cgroup, as "
          "ci/vm-tests.sh does"));
    }
    enabled_ = true;
    return absl::OkStatus();
  }

  absl::StatusOr<std::string> New(const std::string& name,
                                  const std::vector<std::string>& controllers)
      ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock l(&mu_);
    if (!controllers.empty() && !enabled_) {
      return absl::FailedPreconditionError(
          "NewTestCgroup with controllers needs EnableTestControllers first");
    }
    absl::StatusOr<std::string> own = OwnLocked();
    if (!own.ok()) return own.status();
    const std::string outer =
        absl::StrCat(*own, "/", kPrefix, getpid(), "-", ++made_);
    if (absl::Status made = MakeDir(outer); !made.ok()) return made;
    if (!controllers.empty()) {
      std::vector<std::string> plus;
      for (const std::string& c : controllers) plus.push_back("+" + c);
      absl::Status enabled =
          WriteTo(outer + "/cgroup.subtree_control", absl::StrJoin(plus, " "));
      if (!enabled.ok()) {
        rmdir(outer.c_str());
        return enabled;
      }
    }
    const std::string inner = absl::StrCat(outer, "/", name);
    if (absl::Status made = MakeDir(inner); !made.ok()) {
      rmdir(outer.c_str());
      return made;
    }
    return inner;
  }

 private:
  TestCgroups() = default;

  absl::StatusOr<std::string> OwnLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (own_.has_value()) return *own_;
    const std::optional<CgroupMount> mount =
        FindCgroup2Mount(ReadFileOrEmpty("/proc/self/mountinfo"));
    const std::optional<std::string> path =
        FindCgroup2Path(ReadFileOrEmpty("/proc/self/cgroup"));
    std::optional<std::string> dir;
    if (mount && path) dir = CgroupDirectory(*mount, *path);
    if (dir) {
      own_ = *dir;
    } else {
      own_ = absl::NotFoundError(
          "this process is in no cgroup v2 hierarchy mounted here");
    }
    return *own_;
  }

  absl::Mutex mu_;
  std::optional<absl::StatusOr<std::string>> own_ ABSL_GUARDED_BY(mu_);
  bool enabled_ ABSL_GUARDED_BY(mu_) = false;
  int made_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace

bool CgroupControllersRequired() {
  const char* v = getenv("CMDCTL_REQUIRE_CGROUP_CONTROLLERS");
  return v != nullptr && std::string(v) == "1";
}

absl::StatusOr<std::string> OwnCgroup() { return TestCgroups::Get().Own(); }

absl::Status EnableTestControllers() { return TestCgroups::Get().Enable(); }

absl::StatusOr<std::string> NewTestCgroup(
    const std::string& name, const std::vector<std::string>& controllers) {
  return TestCgroups::Get().New(name, controllers);
}

std::vector<std::string> CgroupControllersOf(const std::string& cgroup) {
  return absl::StrSplit(ReadFileOrEmpty(cgroup + "/cgroup.controllers"),
                        absl::ByAnyChar(" \n"), absl::SkipEmpty());
}

void RemoveTestCgroup(const std::string& cgroup) {
  if (cgroup.empty()) return;
  const std::string outer = cgroup.substr(0, cgroup.rfind('/'));
  if (!absl::StrContains(outer.substr(outer.rfind('/')), kPrefix)) return;
  WriteTo(outer + "/cgroup.kill", "1").IgnoreError();
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (Populated(outer) && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  RemoveCgroupDirs(outer);
}

}  // namespace cmdctl::test

// Build-tree binaries that unprivileged test users can execute, wherever the
// checkout lives.
//
// Some integration tests run a binary of the build tree as an unprivileged
// test user: a job's program (the probe), or cmdctld itself (with its
// launcher) as a non-root server. A checkout under a directory those users
// cannot traverse (root's home, a `mktemp -d`: mode 0700) makes that exec
// fail with EACCES, and the test would see only "exited 127". So such tests
// run copies instead: UserRunnableCopy copies the binary into one fresh
// directory per test process, below a base every user can traverse and exec
// from, and removes it when the process exits.
#ifndef CMDCTL_INTEGRATION_TESTS_COMMON_RUNNABLE_COPY_H_
#define CMDCTL_INTEGRATION_TESTS_COMMON_RUNNABLE_COPY_H_

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace cmdctl::test {

// One directory of copies, made on the first Copy and removed with its
// contents by the destructor (in the process that made it, not in a forked
// child). Thread-safe.
class RunnableCopies {
 public:
  RunnableCopies() = default;
  ~RunnableCopies();
  RunnableCopies(const RunnableCopies&) = delete;
  RunnableCopies& operator=(const RunnableCopies&) = delete;

  // See UserRunnableCopy.
  absl::StatusOr<std::string> Copy(const std::string& binary);

 private:
  absl::Mutex mu_;
  std::string dir_ ABSL_GUARDED_BY(mu_);
  pid_t owner_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<std::string, std::string> copies_ ABSL_GUARDED_BY(mu_);
};

// The path of a copy of `binary` (an absolute path) that every user can
// execute, made on the first call for it in this process; every copy of the
// process lives in the same directory under its original file name (so
// cmdctld finds cmdctl-launcher next to itself). The directory is made
// under the first of $TMPDIR, /tmp, /var/tmp that every user can traverse
// and that is not mounted noexec, and removed at exit. FAILED_PRECONDITION
// when there is none, naming each base, what is wrong with it and the fix.
// Thread-safe. (One RunnableCopies per process.)
absl::StatusOr<std::string> UserRunnableCopy(const std::string& binary);

// OK when every user can execute `path`: every directory above it has the
// x bit for others and is not on a noexec mount, and the file has x for
// others. Otherwise FAILED_PRECONDITION naming the first obstacle.
absl::Status CheckRunnableByEveryone(const std::string& path);

// For tests of this helper: makes a fresh directory (mode 0755) under the
// first of `bases` that passes the checks above. The error is the one
// UserRunnableCopy returns.
absl::StatusOr<std::string> MakeUserRunnableDir(
    const std::vector<std::string>& bases);

}  // namespace cmdctl::test

#endif  // CMDCTL_INTEGRATION_TESTS_COMMON_RUNNABLE_COPY_H_

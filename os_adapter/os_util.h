// Small pure helpers of the Linux adapter, unit-tested without processes:
// launcher failures to absl::Status, child status decoding, and the cgroup
// v2 paths from /proc/self/mountinfo and /proc/self/cgroup.
#ifndef CMDCTL_OS_ADAPTER_OS_UTIL_H_
#define CMDCTL_OS_ADAPTER_OS_UTIL_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "domain/types.h"
#include "os_adapter/launch_protocol.h"

namespace cmdctl {

// What a launcher failure (stage, errno) means to the caller of Start
// (ProcessHost::Start's contract).
absl::Status LaunchFailureToStatus(LaunchStage stage, int err,
                                   absl::string_view program,
                                   absl::string_view working_dir);

// Decodes a waitid() result (siginfo si_code and si_status) once into an
// ExitInfo: CLD_EXITED -> exited with code; CLD_KILLED/CLD_DUMPED -> killed
// by signal. nullopt for stop/continue notifications.
std::optional<ExitInfo> DecodeChildStatus(int code, int status);

struct CgroupMount {
  std::string mount_point;  // e.g. /sys/fs/cgroup/unified
  std::string root;         // the mount's root inside the hierarchy, e.g. /
};

// The first cgroup2 mount of a /proc/<pid>/mountinfo text (octal escapes
// such as \040 decoded); nullopt when there is none.
std::optional<CgroupMount> FindCgroup2Mount(absl::string_view mountinfo);

// The v2 path ("0::<path>") of a /proc/<pid>/cgroup text; nullopt when the
// process is in no v2 hierarchy.
std::optional<std::string> FindCgroup2Path(absl::string_view proc_cgroup);

// The directory of the cgroup `path` (as /proc/<pid>/cgroup shows it) under
// `mount`; nullopt when `path` lies outside the mount's root.
std::optional<std::string> CgroupDirectory(const CgroupMount& mount,
                                           const std::string& path);

}  // namespace cmdctl

#endif  // CMDCTL_OS_ADAPTER_OS_UTIL_H_

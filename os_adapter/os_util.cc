#include "os_adapter/os_util.h"

#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include <cerrno>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/errno_status.h"

namespace cmdctl {
namespace {

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string UnescapeMountField(absl::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      const char a = s[i + 1], b = s[i + 2], c = s[i + 3];
      if (a >= '0' && a <= '3' && b >= '0' && b <= '7' && c >= '0' &&
          c <= '7') {
        out.push_back(
            static_cast<char>((a - '0') * 64 + (b - '0') * 8 + (c - '0')));
        i += 3;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

}  // namespace

absl::Status LaunchFailureToStatus(LaunchStage stage, int err,
                                   absl::string_view program,
                                   absl::string_view working_dir) {
  const std::string text = ErrnoText(err);
  if (IsResourceErrno(err)) {
    return absl::ResourceExhaustedError(
        absl::StrCat(LaunchStageName(stage), ": ", text));
  }
  switch (stage) {
    case LaunchStage::kExec:
      if (err == ENOENT || err == ENOTDIR) {
        return absl::NotFoundError(
            absl::StrCat("program not found: ", program, " (", text, ")"));
      }
      if (err == E2BIG) {
        return absl::InvalidArgumentError(
            absl::StrCat("arguments and environment too large for ", program));
      }
      return absl::FailedPreconditionError(
          absl::StrCat("cannot execute ", program, ": ", text));
    case LaunchStage::kValidate:
      return absl::InvalidArgumentError(absl::StrCat(
          "refused at the privilege boundary: a NUL byte in the request, a "
          "relative working directory or a malformed environment entry"));
    case LaunchStage::kWorkingDir:
      return absl::FailedPreconditionError(absl::StrCat(
          "cannot enter working directory ",
          working_dir.empty() ? "(home)" : working_dir, ": ", text));
    case LaunchStage::kOutput:
      return absl::FailedPreconditionError(absl::StrCat(
          "cannot create the job's output files as the user: ", text,
          err == ELOOP || err == ENOTDIR || err == EEXIST
              ? " (is a path component a symlink or not a directory?)"
              : ""));
    default:
      return absl::InternalError(
          absl::StrCat("launcher failed ", LaunchStageName(stage), ": ", text));
  }
}

std::optional<ExitInfo> DecodeChildStatus(int code, int status) {
  switch (code) {
    case CLD_EXITED:
      return ExitInfo::Exited(status);
    case CLD_KILLED:
    case CLD_DUMPED:
      return ExitInfo::Signaled(status);
    default:
      return std::nullopt;
  }
}

std::optional<CgroupMount> FindCgroup2Mount(absl::string_view mountinfo) {
  for (absl::string_view line : absl::StrSplit(mountinfo, '\n')) {
    // id parent major:minor root mount-point options [optional...] - fstype
    // source super-options
    std::vector<absl::string_view> f = absl::StrSplit(line, ' ');
    size_t dash = 0;
    while (dash < f.size() && f[dash] != "-") ++dash;
    if (dash < 6 || dash + 1 >= f.size()) continue;
    if (f[dash + 1] != "cgroup2") continue;
    return CgroupMount{UnescapeMountField(f[4]), UnescapeMountField(f[3])};
  }
  return std::nullopt;
}

std::optional<std::string> FindCgroup2Path(absl::string_view proc_cgroup) {
  for (absl::string_view line : absl::StrSplit(proc_cgroup, '\n')) {
    if (absl::StartsWith(line, "0::")) {
      std::string path(line.substr(3));
      if (path.empty() || path[0] != '/') return std::nullopt;
      return path;
    }
  }
  return std::nullopt;
}

std::optional<std::string> CgroupDirectory(const CgroupMount& mount,
                                           const std::string& path) {
  std::string rel;
  if (mount.root == "/") {
    rel = path;
  } else if (path == mount.root) {
    rel = "/";
  } else if (absl::StartsWith(path, mount.root + "/")) {
    rel = path.substr(mount.root.size());
  } else {
    return std::nullopt;
  }
  if (rel == "/") return mount.mount_point;
  return mount.mount_point + rel;
}

}  // namespace cmdctl

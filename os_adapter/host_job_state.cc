#include "os_adapter/host_job_state.h"

#include <fcntl.h>

#include <map>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/file_util.h"

namespace cmdctl {
namespace {

constexpr char kVersion[] = "cmdctl-host-state 1";

template <typename T>
bool ParseNumber(const std::map<std::string, std::string>& fields,
                 const char* key, T& out) {
  auto it = fields.find(key);
  return it != fields.end() && absl::SimpleAtoi(it->second, &out);
}

}  // namespace

std::string EncodeHostJobState(const HostJobState& s) {
  std::string out = absl::StrCat(kVersion, "\n");
  auto add = [&out](absl::string_view key, absl::string_view value) {
    absl::StrAppend(&out, key, "=", absl::CEscape(value), "\n");
  };
  add("monitor_pid", absl::StrCat(s.monitor_pid));
  add("monitor_start", absl::StrCat(s.monitor_start));
  add("boot_id", s.boot_id);
  add("uid", absl::StrCat(s.uid));
  add("gid", absl::StrCat(s.gid));
  add("login", s.login);
  add("home", s.home);
  add("output_dir", s.output_dir);
  add("cgroup_parent", s.cgroup_parent);
  for (int i = 0; i < 2; ++i) {
    add(absl::StrCat("dev", i), absl::StrCat(s.dev[i]));
    add(absl::StrCat("ino", i), absl::StrCat(s.ino[i]));
    add(absl::StrCat("handle", i), s.handle[i]);
  }
  return out;
}

absl::StatusOr<HostJobState> DecodeHostJobState(const std::string& text) {
  const auto bad = [] {
    return absl::InvalidArgumentError("not a host state of this host");
  };
  std::vector<absl::string_view> lines =
      absl::StrSplit(text, '\n', absl::SkipEmpty());
  if (lines.empty() || lines[0] != kVersion) return bad();
  std::map<std::string, std::string> fields;
  for (size_t i = 1; i < lines.size(); ++i) {
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(lines[i], absl::MaxSplits('=', 1));
    std::string value;
    if (!absl::CUnescape(kv.second, &value)) return bad();
    fields[std::string(kv.first)] = std::move(value);
  }
  HostJobState s;
  if (!ParseNumber(fields, "monitor_pid", s.monitor_pid) ||
      !ParseNumber(fields, "monitor_start", s.monitor_start) ||
      !ParseNumber(fields, "uid", s.uid) ||
      !ParseNumber(fields, "gid", s.gid) ||
      !ParseNumber(fields, "dev0", s.dev[0]) ||
      !ParseNumber(fields, "ino0", s.ino[0]) ||
      !ParseNumber(fields, "dev1", s.dev[1]) ||
      !ParseNumber(fields, "ino1", s.ino[1])) {
    return bad();
  }
  for (const char* key :
       {"boot_id", "login", "home", "output_dir", "cgroup_parent"}) {
    if (!fields.count(key)) return bad();
  }
  s.boot_id = fields["boot_id"];
  s.login = fields["login"];
  s.home = fields["home"];
  s.output_dir = fields["output_dir"];
  s.cgroup_parent = fields["cgroup_parent"];
  // Absent in states written before handles were kept.
  s.handle[0] = fields["handle0"];
  s.handle[1] = fields["handle1"];
  return s;
}

std::string FileHandleOf(int fd) {
  // MAX_HANDLE_SZ (128) bytes of handle: more than any file system uses.
  struct {
    struct file_handle head;
    unsigned char bytes[128];
  } handle;
  handle.head.handle_bytes = sizeof(handle.bytes);
  int mount_id = 0;
  if (name_to_handle_at(fd, "", &handle.head, &mount_id, AT_EMPTY_PATH) != 0) {
    return "";
  }
  return absl::StrCat(handle.head.handle_type, ":",
                      absl::BytesToHexString(absl::string_view(
                          reinterpret_cast<const char*>(handle.head.f_handle),
                          handle.head.handle_bytes)));
}

absl::StatusOr<uint64_t> ProcessStartTime(pid_t pid) {
  absl::StatusOr<std::string> stat =
      ReadFileToString(AT_FDCWD, absl::StrCat("/proc/", pid, "/stat"), 4096);
  if (!stat.ok()) return absl::NotFoundError(absl::StrCat("no process ", pid));
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so
  // count fields after the last ')'.
  const size_t close = stat->rfind(')');
  if (close == std::string::npos) {
    return absl::InternalError("malformed /proc/<pid>/stat");
  }
  std::vector<absl::string_view> fields = absl::StrSplit(
      absl::string_view(*stat).substr(close + 1), ' ', absl::SkipEmpty());
  // fields[0] is field 3 (state); starttime is field 22.
  uint64_t start = 0;
  if (fields.size() < 20 || !absl::SimpleAtoi(fields[19], &start)) {
    return absl::InternalError("malformed /proc/<pid>/stat");
  }
  return start;
}

std::string BootId() {
  absl::StatusOr<std::string> id =
      ReadFileToString(AT_FDCWD, "/proc/sys/kernel/random/boot_id", 128);
  if (!id.ok()) return "";
  return std::string(absl::StripAsciiWhitespace(*id));
}

}  // namespace cmdctl

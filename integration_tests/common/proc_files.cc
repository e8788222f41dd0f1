#include "integration_tests/common/proc_files.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"

namespace cmdctl::test {

std::string ReadProcFile(const std::string& path) {
  std::string out;
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0) out.append(buf, n);
  close(fd);
  return out;
}

std::vector<ProcessInfo> ListProcesses() {
  std::vector<ProcessInfo> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
    const std::string stat = ReadProcFile(entry.path() / "stat");
    const size_t close = stat.rfind(')');
    if (close == std::string::npos || close + 2 >= stat.size()) continue;
    std::vector<std::string> f = absl::StrSplit(stat.substr(close + 2), ' ');
    if (f.size() < 2 || f[0].empty()) continue;
    ProcessInfo p;
    p.pid = std::atoi(name.c_str());
    p.state = f[0][0];
    p.ppid = std::atoi(f[1].c_str());
    p.cmdline = ReadProcFile(entry.path() / "cmdline");
    out.push_back(std::move(p));
  }
  return out;
}

bool AnyProcessMentions(const std::string& needle) {
  for (const ProcessInfo& p : ListProcesses()) {
    if (absl::StrContains(p.cmdline, needle)) return true;
  }
  return false;
}

}  // namespace cmdctl::test

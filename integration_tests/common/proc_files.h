// Reading /proc in the integration tests: whole files, and the processes
// there now.
#ifndef CMDCTL_INTEGRATION_TESTS_COMMON_PROC_FILES_H_
#define CMDCTL_INTEGRATION_TESTS_COMMON_PROC_FILES_H_

#include <sys/types.h>

#include <string>
#include <vector>

namespace cmdctl::test {

// The whole file at `path`; empty if it cannot be read.
std::string ReadProcFile(const std::string& path);

// A process as /proc/<pid>/stat and /cmdline show it.
struct ProcessInfo {
  pid_t pid = 0;
  char state = '?';  // R, S, Z...
  pid_t ppid = 0;
  std::string cmdline;  // NUL-separated arguments
};

// Every process there is now (those that end while being read are left
// out).
std::vector<ProcessInfo> ListProcesses();

// True when some process has `needle` in its command line.
bool AnyProcessMentions(const std::string& needle);

}  // namespace cmdctl::test

#endif  // CMDCTL_INTEGRATION_TESTS_COMMON_PROC_FILES_H_

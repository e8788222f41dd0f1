#include "bench/measure.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

extern char** environ;

namespace cmdctl::bench {

int64_t MonotonicNanos() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

double Quantile(std::vector<double> samples, double q) {
  if (samples.empty()) return std::nan("");
  std::sort(samples.begin(), samples.end());
  size_t rank = static_cast<size_t>(std::ceil(q * samples.size()));
  if (rank > 0) --rank;
  return samples[std::min(rank, samples.size() - 1)];
}

absl::StatusOr<ProcSample> SampleProc(pid_t pid) {
  ProcSample s;
  std::ifstream stat(absl::StrCat("/proc/", pid, "/stat"));
  std::string line;
  if (!std::getline(stat, line)) {
    return absl::NotFoundError(absl::StrCat("no process ", pid));
  }
  // Fields after the parenthesised command name; utime, stime are fields
  // 14, 15 (1-based) of the whole line.
  size_t close = line.rfind(')');
  std::vector<std::string> f =
      absl::StrSplit(line.substr(close + 2), ' ', absl::SkipEmpty());
  if (f.size() < 13) return absl::InternalError("short /proc/pid/stat");
  double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  s.cpu_seconds = (std::stod(f[11]) + std::stod(f[12])) / ticks;
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  while (std::getline(status, line)) {
    auto value = [&line](absl::string_view key, int64_t* out) {
      absl::string_view v = line;
      if (!absl::ConsumePrefix(&v, key)) return;
      v = absl::StripAsciiWhitespace(v);
      absl::ConsumeSuffix(&v, " kB");
      (void)absl::SimpleAtoi(v, out);
    };
    value("VmRSS:", &s.rss_kib);
    value("VmHWM:", &s.hwm_kib);
    int64_t threads = 0;
    value("Threads:", &threads);
    if (threads > 0) s.threads = static_cast<int>(threads);
  }
  return s;
}

absl::StatusOr<int> CountFds(pid_t pid) {
  std::error_code ec;
  int n = 0;
  for (std::filesystem::directory_iterator
           it(absl::StrCat("/proc/", pid, "/fd"), ec),
       end;
       !ec && it != end; it.increment(ec)) {
    ++n;
  }
  if (ec) {
    return absl::NotFoundError(
        absl::StrCat("/proc/", pid, "/fd: ", ec.message()));
  }
  return n;
}

std::vector<std::pair<std::string, std::string>> DescribeMachine() {
  std::vector<std::pair<std::string, std::string>> out;
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (absl::StartsWith(line, "model name")) {
      out.emplace_back("cpu_model", std::string(absl::StripAsciiWhitespace(
                                        line.substr(line.find(':') + 1))));
      break;
    }
  }
  out.emplace_back("cores", absl::StrCat(sysconf(_SC_NPROCESSORS_ONLN)));
  struct utsname u;
  if (uname(&u) == 0) {
    out.emplace_back("kernel",
                     absl::StrCat(u.sysname, " ", u.release, " ", u.machine));
    out.emplace_back("hostname", u.nodename);
  }
  std::ifstream meminfo("/proc/meminfo");
  while (std::getline(meminfo, line)) {
    if (absl::StartsWith(line, "MemTotal:")) {
      out.emplace_back("memory", std::string(absl::StripAsciiWhitespace(
                                     line.substr(strlen("MemTotal:")))));
      break;
    }
  }
  std::ifstream os("/etc/os-release");
  while (std::getline(os, line)) {
    if (absl::StartsWith(line, "PRETTY_NAME=")) {
      std::string v = line.substr(strlen("PRETTY_NAME="));
      v.erase(std::remove(v.begin(), v.end(), '"'), v.end());
      out.emplace_back("os", v);
    }
  }
  return out;
}

absl::StatusOr<pid_t> Spawn(const std::vector<std::string>& argv, int stdout_fd,
                            int stderr_fd) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  if (stdout_fd >= 0) {
    posix_spawn_file_actions_adddup2(&fa, stdout_fd, 1);
  } else {
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  }
  if (stderr_fd >= 0) {
    posix_spawn_file_actions_adddup2(&fa, stderr_fd, 2);
  } else {
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  }
  std::vector<char*> args;
  for (const std::string& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid;
  int err = posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (err != 0) {
    return absl::InternalError(
        absl::StrCat("spawn ", argv[0], ": ", strerror(err)));
  }
  return pid;
}

int WaitPid(pid_t pid, double* cpu_seconds) {
  int status = 0;
  struct rusage ru {};
  while (wait4(pid, &status, 0, &ru) < 0 && errno == EINTR) {
  }
  if (cpu_seconds != nullptr) {
    *cpu_seconds = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
                   ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
  }
  return status;
}

absl::StatusOr<int> RunToEnd(const std::vector<std::string>& argv,
                             int stdout_fd, int stderr_fd,
                             double* cpu_seconds) {
  absl::StatusOr<pid_t> pid = Spawn(argv, stdout_fd, stderr_fd);
  if (!pid.ok()) return pid.status();
  int status = WaitPid(*pid, cpu_seconds);
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}

}  // namespace cmdctl::bench

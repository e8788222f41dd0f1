// Small measuring tools for the benchmarks: percentiles, a process's CPU and
// memory from /proc, the machine's description, and spawning peers.
#ifndef CMDCTL_BENCH_MEASURE_H_
#define CMDCTL_BENCH_MEASURE_H_

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace cmdctl::bench {

using Clock = std::chrono::steady_clock;

inline double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// CLOCK_MONOTONIC in nanoseconds: the clock cmdctl_bench_job stamps with.
int64_t MonotonicNanos();

// The q-quantile (0..1) of `samples` by nearest rank; NaN when empty.
double Quantile(std::vector<double> samples, double q);

// What /proc says about one process.
struct ProcSample {
  double cpu_seconds = 0;  // utime + stime.
  int64_t rss_kib = 0;     // VmRSS.
  int64_t hwm_kib = 0;     // VmHWM: peak RSS over the process's life.
  int threads = 0;
};
absl::StatusOr<ProcSample> SampleProc(pid_t pid);

// How many file descriptors the process has open (entries of /proc/pid/fd).
absl::StatusOr<int> CountFds(pid_t pid);

// CPU model, cores, kernel, memory, as "key" -> "value".
std::vector<std::pair<std::string, std::string>> DescribeMachine();

// Starts argv[0] (looked up in PATH) with stdin from /dev/null, stdout to
// stdout_fd (or /dev/null when -1) and stderr to stderr_fd (or /dev/null).
absl::StatusOr<pid_t> Spawn(const std::vector<std::string>& argv,
                            int stdout_fd = -1, int stderr_fd = -1);

// Waits for pid; returns its wait status. With cpu_seconds, also the
// child's user+system CPU time.
int WaitPid(pid_t pid, double* cpu_seconds = nullptr);

// Spawn + WaitPid; returns the exit code, or 128+signal.
absl::StatusOr<int> RunToEnd(const std::vector<std::string>& argv,
                             int stdout_fd = -1, int stderr_fd = -1,
                             double* cpu_seconds = nullptr);

}  // namespace cmdctl::bench

#endif  // CMDCTL_BENCH_MEASURE_H_

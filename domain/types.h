// Value types shared by the domain, its OS seam and the layers above.
#ifndef CMDCTL_DOMAIN_TYPES_H_
#define CMDCTL_DOMAIN_TYPES_H_

#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"

namespace cmdctl {

// SPEC §3 JobState, without UNSPECIFIED. The only transitions are
// kRunning -> kExited | kSignaled | kStopped | kLost; every ended state is
// final. kLost: the job has ended but how is unknown (never a success).
enum class JobState { kRunning, kExited, kSignaled, kStopped, kLost };

enum class OutputStream { kStdout, kStderr };

// How the main process of a job ended, decoded once by the OS adapter.
struct ExitInfo {
  static ExitInfo Exited(int code) { return ExitInfo{false, code, 0}; }
  static ExitInfo Signaled(int signal) { return ExitInfo{true, 0, signal}; }

  bool signaled = false;
  int exit_code = 0;  // valid when !signaled
  int signal = 0;     // valid when signaled
};

// SPEC §3 ResourceLimits: what a job's cgroup enforces. 0 = no limit.
struct ResourceLimits {
  int64_t memory_bytes = 0;
  int64_t cpu_millicores = 0;  // 1000 = one CPU
  int64_t pids = 0;
  int64_t io_read_bytes_per_second = 0;
  int64_t io_write_bytes_per_second = 0;

  bool operator==(const ResourceLimits& o) const {
    return memory_bytes == o.memory_bytes &&
           cpu_millicores == o.cpu_millicores && pids == o.pids &&
           io_read_bytes_per_second == o.io_read_bytes_per_second &&
           io_write_bytes_per_second == o.io_write_bytes_per_second;
  }
  bool operator!=(const ResourceLimits& o) const { return !(*this == o); }
};

// SPEC §3 ResourceUsage: what the job's tree has used (live while it runs,
// final once it has ended).
struct ResourceUsage {
  absl::Duration cpu_user = absl::ZeroDuration();
  absl::Duration cpu_system = absl::ZeroDuration();
  int64_t memory_peak_bytes = 0;
  int64_t io_read_bytes = 0;
  int64_t io_write_bytes = 0;
};

// One output stream's totals: bytes [discarded, written) are stored.
struct StreamTotals {
  int64_t written = 0;    // bytes the job wrote in all (the end offset)
  int64_t discarded = 0;  // dropped from the front by the output cap
  // A write to the stored file failed (disk full, I/O error): the stored
  // stream ends early, at `written`, though the job wrote more.
  bool incomplete = false;
};

// Everything the OS needs to start one job. Strings are validated by the
// domain before they reach the host: no NUL bytes, non-empty program, env keys
// non-empty without '='.
struct ProcessSpec {
  std::string job_id;   // names the job's output directory and cgroup
  std::string program;  // looked up in the clean PATH when it has no '/'
  std::vector<std::string> args;  // argv[1..]; argv[0] is `program`
  std::string run_as;             // unix login
  std::string working_dir;        // empty: the run-as user's home
  // Added to (and overriding) the clean environment of SPEC §5.
  std::vector<std::pair<std::string, std::string>> env;
  ResourceLimits limits;         // as applied (server defaults included)
  int64_t max_output_bytes = 0;  // per stream; 0: no cap
};

// A point-in-time copy of a job's record (SPEC §3 ProcessStatus).
struct JobStatus {
  std::string job_id;
  std::string owner;
  std::string run_as;
  std::string command;
  std::vector<std::string> args;
  JobState state = JobState::kRunning;
  int pid = 0;
  int exit_code = 0;
  int signal = 0;
  absl::Time started_at = absl::InfinitePast();
  absl::Time ended_at = absl::InfinitePast();  // InfinitePast while running
  bool stop_requested = false;
  ResourceLimits limits;                          // as applied
  absl::Duration timeout = absl::ZeroDuration();  // 0: none
  ResourceUsage usage;
  bool oom_killed = false;
  bool timed_out = false;
  // Indexed by OutputStream (stdout, stderr): live while running.
  std::array<StreamTotals, 2> output;
  const StreamTotals& totals(OutputStream s) const {
    return output[static_cast<int>(s)];
  }
  // The stored output ended early: a write failed (disk full, I/O error).
  bool output_incomplete() const {
    return output[0].incomplete || output[1].incomplete;
  }
};

inline int StreamIndex(OutputStream s) { return static_cast<int>(s); }

}  // namespace cmdctl

#endif  // CMDCTL_DOMAIN_TYPES_H_

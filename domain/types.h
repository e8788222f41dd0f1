// Value types shared by the domain, its OS seam and the layers above.
#ifndef CMDCTL_DOMAIN_TYPES_H_
#define CMDCTL_DOMAIN_TYPES_H_

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
};

}  // namespace cmdctl

#endif  // CMDCTL_DOMAIN_TYPES_H_

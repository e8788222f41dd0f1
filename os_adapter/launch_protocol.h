// The private protocol between LinuxProcessHost (in cmdctld) and the
// cmdctl-launcher executable it spawns for each job.
//
// The host spawns the launcher with one unix stream socket as fd 3 and
// /dev/null as fds 0-2. Over that socket the host sends one LaunchRequest
// (EncodeLaunchRequest) with the fds its flags name attached (SCM_RIGHTS),
// and the launcher answers as its mode says:
//   kLaunch:  the launcher becomes the job's monitor (monitor.h): it forks
//             the job, and replies LaunchReply{kOutputReady} with the read
//             fds of the stdout and stderr files attached, then
//             LaunchReply{kStarted, pid of the job} once the program has
//             been executed, and closes the socket; it stays the job's
//             parent until the job's tree has ended.
//   kOpenOutput: as the user, opens the job's two output files (never
//             following a link) and replies kOutputReady with read fds.
//   kRemoveOutput: as the user, removes the job's output files and its
//             directory (never following a link) and replies kDone.
// Any failure is LaunchReply{kFailed, stage, errno}, the last reply.
//
// Plain C++ without Abseil: the launcher links nothing but libc.
#ifndef CMDCTL_OS_ADAPTER_LAUNCH_PROTOCOL_H_
#define CMDCTL_OS_ADAPTER_LAUNCH_PROTOCOL_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace cmdctl {

// The fd number of the control socket in the launcher.
inline constexpr int kLauncherSocketFd = 3;

// Upper bound of an encoded request (argv + env beyond this would fail execve
// with E2BIG anyway).
inline constexpr uint32_t kMaxLaunchRequestBytes = 8u << 20;

struct LaunchRequest {
  enum Mode : uint32_t { kLaunch = 1, kOpenOutput = 2, kRemoveOutput = 3 };
  uint32_t mode = kLaunch;
  // Drop to uid/gid/groups before anything else runs as the user. False only
  // when the host is not root and the job runs as the host's own user.
  bool drop_privileges = true;
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::vector<uint32_t> groups;   // supplementary groups of the user's entry
  std::string home;               // the user's home directory (absolute)
  std::string working_dir;        // absolute; empty: home
  std::string job_id;             // output directory name
  std::string program;            // as requested (searched in PATH if no '/')
  std::vector<std::string> argv;  // argv[0] included
  std::vector<std::string> envp;  // "KEY=VALUE", complete
  // Per stream: past this many bytes the oldest are dropped (0: never).
  int64_t max_output_bytes = 0;
  // Attached fds, in this order.
  bool has_cgroup_parent_fd = false;  // the job's cgroup is <fd>/<job_id>
  bool has_output_dir_fd = false;     // the job's output directory is
                                      // <fd>/<job_id> instead of
                                      // ~/.local/state/cmdctl/jobs/<job_id>
  bool has_run_dir_fd = false;        // the monitor's state directory
};

std::string EncodeLaunchRequest(const LaunchRequest& request);
// nullopt when `bytes` is not exactly one well-formed request.
std::optional<LaunchRequest> DecodeLaunchRequest(const std::string& bytes);

// Where the launcher was when something failed.
enum class LaunchStage : uint32_t {
  kProtocol = 1,        // reading the request
  kCgroup = 2,          // joining the job's cgroup
  kDropPrivileges = 3,  // setgroups/setresgid/setresuid or the check after
  kNoNewPrivs = 4,
  kWorkingDir = 5,  // chdir into working_dir (or home)
  kOutput = 6,      // creating the output directory or files
  kStdio = 7,       // /dev/null, dup2 onto 0-2
  kExec = 8,        // execve of every PATH candidate
  kValidate = 9,    // the request is not one a job can be made of (EINVAL)
  kMonitor = 10,    // setting up the monitor (pipes, fork, state files)
  kRemove = 11,     // removing the output files
};

const char* LaunchStageName(LaunchStage stage);

struct LaunchReply {
  enum Kind : uint32_t {
    kOutputReady = 1,
    kFailed = 2,
    kStarted = 3,
    kDone = 4
  };
  uint32_t kind = 0;
  uint32_t stage = 0;  // LaunchStage, for kFailed
  int32_t error = 0;   // errno, for kFailed
  int32_t pid = 0;     // the job's main process, for kStarted
};

}  // namespace cmdctl

#endif  // CMDCTL_OS_ADAPTER_LAUNCH_PROTOCOL_H_

// The private protocol between LinuxProcessHost (in cmdctld) and the
// cmdctl-launcher executable it spawns for each job.
//
// The host spawns the launcher with one unix stream socket as fd 3 and
// /dev/null as fds 0-2. Over that socket:
//   host -> launcher: one LaunchRequest (EncodeLaunchRequest), with the job's
//                     cgroup.procs fd and/or output directory fd attached
//                     (SCM_RIGHTS) as the request's flags say;
//   launcher -> host: LaunchReply{kOutputReady} with the read fds of the
//                     stdout and stderr files attached, then either EOF (the
//                     socket is close-on-exec: the program was executed) or
//                     LaunchReply{kFailed, stage, errno}.
// A kFailed reply may also come first, before any output file exists.
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
  // Attached fds, in this order.
  bool has_cgroup_procs_fd = false;  // write "0" to join the job's cgroup
  bool has_output_dir_fd = false;    // create the files in this directory
                                     // instead of ~/.local/state/...
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
};

const char* LaunchStageName(LaunchStage stage);

struct LaunchReply {
  enum Kind : uint32_t { kOutputReady = 1, kFailed = 2 };
  uint32_t kind = 0;
  uint32_t stage = 0;  // LaunchStage, for kFailed
  int32_t error = 0;   // errno, for kFailed
};

}  // namespace cmdctl

#endif  // CMDCTL_OS_ADAPTER_LAUNCH_PROTOCOL_H_

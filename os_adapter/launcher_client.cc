#include "os_adapter/launcher_client.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <optional>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "common/errno_status.h"
#include "os_adapter/fd_passing.h"
#include "os_adapter/launcher_pool.h"
#include "os_adapter/os_util.h"
#include "os_adapter/syscalls.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

namespace cmdctl {
namespace {

// The room in a launcher's argv[1] for the job's id. Ids are 36 characters
// (a UUID); room for longer ones too.
constexpr size_t kShownJobIdBytes = 128;

// Start waits this long for the launcher to report (exec of a binary on a
// hung network file system, say) before it kills the launcher.
constexpr int kLauncherTimeoutSeconds = 30;

absl::Status Machinery(int err, absl::string_view what) {
  return ErrnoStatus(err, what, ErrnoCause::kMachinery);
}

// posix_spawn's file actions and attributes, built and checked.
class SpawnSetup {
 public:
  SpawnSetup() {
    posix_spawn_file_actions_init(&actions_);
    posix_spawnattr_init(&attr_);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions_);
    posix_spawnattr_destroy(&attr_);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;

  // 0-2 on /dev/null, `socket` as kLauncherSocketFd, every other fd closed;
  // a new session, an empty signal mask and default dispositions.
  absl::Status Prepare(int socket) {
    sigset_t empty, all;
    sigemptyset(&empty);
    sigfillset(&all);
    int rc = 0;
    for (int fd = 0; fd <= 2 && rc == 0; ++fd) {
      rc = posix_spawn_file_actions_addopen(&actions_, fd, "/dev/null",
                                            fd == 0 ? O_RDONLY : O_WRONLY, 0);
    }
    if (rc == 0) {
      rc = posix_spawn_file_actions_adddup2(&actions_, socket,
                                            kLauncherSocketFd);
    }
    if (rc == 0) {
      rc = posix_spawn_file_actions_addclosefrom_np(&actions_,
                                                    kLauncherSocketFd + 1);
    }
    if (rc == 0) rc = posix_spawnattr_setsigmask(&attr_, &empty);
    if (rc == 0) rc = posix_spawnattr_setsigdefault(&attr_, &all);
    if (rc == 0) {
      rc = posix_spawnattr_setflags(&attr_, POSIX_SPAWN_SETSID |
                                                POSIX_SPAWN_SETSIGMASK |
                                                POSIX_SPAWN_SETSIGDEF);
    }
    return rc == 0 ? absl::OkStatus() : Machinery(rc, "posix_spawn setup");
  }

  const posix_spawn_file_actions_t* actions() const { return &actions_; }
  const posix_spawnattr_t* attr() const { return &attr_; }

 private:
  posix_spawn_file_actions_t actions_;
  posix_spawnattr_t attr_;
};

// Sends the request (length-prefixed) with `fds` attached to its first byte.
bool SendRequest(int sock, const std::string& body,
                 const std::vector<int>& fds) {
  const uint32_t len = static_cast<uint32_t>(body.size());
  struct iovec iov[2] = {{const_cast<uint32_t*>(&len), sizeof(len)},
                         {const_cast<char*>(body.data()), body.size()}};
  const ssize_t n = SendWithFds(sock, iov, 2, fds.data(), fds.size());
  if (n < 0) return false;
  // The rest (a large request), without the fds.
  size_t sent = static_cast<size_t>(n);
  const size_t total = sizeof(len) + body.size();
  if (sent < sizeof(len)) {
    errno = EPROTO;
    return false;
  }
  while (sent < total) {
    const size_t off = sent - sizeof(len);
    const ssize_t w =
        send(sock, body.data() + off, body.size() - off, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return false;
    sent += static_cast<size_t>(w);
  }
  return true;
}

// One reply from the launcher. nullopt with errno 0 on EOF.
std::optional<LaunchReply> ReceiveReply(int sock, std::vector<UniqueFd>& fds) {
  LaunchReply reply;
  bool truncated = false;
  std::vector<int> raw;
  const ssize_t n =
      ReceiveWithFds(sock, &reply, sizeof(reply), &raw, &truncated);
  const int err = errno;
  for (int fd : raw) fds.emplace_back(fd);
  if (truncated) {
    // Our buffer holds every fd the protocol passes, so the kernel cut the
    // fds short for want of room in our fd table.
    errno = EMFILE;
    return std::nullopt;
  }
  if (n == 0) {
    errno = 0;
    return std::nullopt;
  }
  if (n != sizeof(reply)) {
    errno = n > 0 ? EPROTO : err;
    return std::nullopt;
  }
  return reply;
}

// The launcher is our child: kill it if it still runs, then reap it (or
// learn that the reaper did: ECHILD).
void KillAndReap(int pidfd) {
  PidfdSendSignal(pidfd, SIGKILL);
  siginfo_t si;
  while (waitid(static_cast<idtype_t>(P_PIDFD), pidfd, &si, WEXITED) < 0 &&
         errno == EINTR) {
  }
}

// A launcher for one request: the pool's spare, else a new one.
absl::StatusOr<SpawnedLauncher> TakeLauncher(const LaunchContext& context) {
  if (context.pool != nullptr) return context.pool->Take();
  return SpawnLauncher(context.launcher_path, context.reaper);
}

// Sends `request` to a launcher for it. A spare that died while it waited
// (killed by someone, say) cannot take it: then once more with a new one.
// On failure nothing is left.
absl::StatusOr<SpawnedLauncher> SpawnAndSend(const LaunchRequest& request,
                                             const LaunchContext& context) {
  const std::string body = EncodeLaunchRequest(request);
  if (body.size() > kMaxLaunchRequestBytes) {
    return absl::InvalidArgumentError("arguments and environment too large");
  }
  absl::StatusOr<SpawnedLauncher> spawned = TakeLauncher(context);
  if (!spawned.ok()) return spawned.status();
  for (bool fresh = context.pool == nullptr;; fresh = true) {
    absl::Cleanup reap = [&] { KillAndReapLauncher(*spawned); };
    struct timeval tv = {kLauncherTimeoutSeconds, 0};
    if (setsockopt(spawned->sock.get(), SOL_SOCKET, SO_RCVTIMEO, &tv,
                   sizeof(tv)) != 0) {
      return Machinery(errno, "setsockopt(SO_RCVTIMEO)");
    }
    if (SendRequest(spawned->sock.get(), body, context.attach_fds)) {
      std::move(reap).Cancel();
      return spawned;
    }
    const int err = errno;
    if (fresh || (err != EPIPE && err != ECONNRESET)) {
      return Machinery(err, "sending the launch request");
    }
    std::move(reap).Invoke();
    spawned = SpawnLauncher(context.launcher_path, context.reaper);
    if (!spawned.ok()) return spawned.status();
  }
}

// What a missing or failed reply means to the caller of Start.
absl::Status ReplyFailure(const std::optional<LaunchReply>& reply,
                          const LaunchRequest& request, const char* when) {
  if (reply && reply->kind == LaunchReply::kFailed) {
    return LaunchFailureToStatus(static_cast<LaunchStage>(reply->stage),
                                 reply->error, request.program,
                                 request.working_dir);
  }
  if (!reply && (errno == EAGAIN || errno == EWOULDBLOCK)) {
    return absl::DeadlineExceededError(
        absl::StrCat("the launcher did not report within ",
                     kLauncherTimeoutSeconds, "s ", when));
  }
  if (!reply && errno != 0 && IsResourceErrno(errno)) {
    return Machinery(errno, absl::StrCat("receiving from the launcher ", when));
  }
  return absl::InternalError(
      absl::StrCat("the launcher ended ", when, " without a report"));
}

}  // namespace

absl::StatusOr<SpawnedLauncher> SpawnLauncher(const std::string& launcher_path,
                                              ChildReaper* reaper) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    return Machinery(errno, "socketpair");
  }
  SpawnedLauncher spawned;
  spawned.sock.reset(sv[0]);
  UniqueFd child_end(sv[1]);
  SpawnSetup setup;
  if (absl::Status s = setup.Prepare(child_end.get()); !s.ok()) return s;
  // argv[1] is room for the job's id, which the launcher writes there once
  // it has its request (launcher_main.cc).
  std::string arg0 = "cmdctl-launcher";
  std::string arg1(kShownJobIdBytes, ' ');
  char* argv[] = {arg0.data(), arg1.data(), nullptr};
  char* envp[] = {nullptr};
  // The reaper (if any) reaps nothing while the guard is held, so the pid
  // is still our unreaped child when the pidfd pins it. Nobody claims the
  // launcher's exit: the reaper reaps it whenever it ends, or KillAndReap
  // does.
  ChildReaper::SpawnGuard guard(reaper);
  const int rc = posix_spawn(&spawned.pid, launcher_path.c_str(),
                             setup.actions(), setup.attr(), argv, envp);
  if (rc != 0) return Machinery(rc, "spawning the launcher");
  spawned.pidfd.reset(PidfdOpen(spawned.pid));
  if (!spawned.pidfd) {
    const int err = errno;
    kill(spawned.pid, SIGKILL);  // still our unreaped child
    return Machinery(err, "pidfd_open");
  }
  return spawned;
}

void KillAndReapLauncher(const SpawnedLauncher& launcher) {
  if (launcher.pidfd) KillAndReap(launcher.pidfd.get());
}

absl::StatusOr<LaunchedJob> RunLauncher(const LaunchRequest& request,
                                        const LaunchContext& context) {
  absl::StatusOr<SpawnedLauncher> spawned = SpawnAndSend(request, context);
  if (!spawned.ok()) return spawned.status();
  absl::Cleanup reap = [&] { KillAndReapLauncher(*spawned); };
  std::vector<UniqueFd> output;
  std::optional<LaunchReply> reply = ReceiveReply(spawned->sock.get(), output);
  if (!reply || reply->kind != LaunchReply::kOutputReady ||
      output.size() != 2) {
    return ReplyFailure(reply, request, "before creating the output");
  }
  std::vector<UniqueFd> unexpected;
  reply = ReceiveReply(spawned->sock.get(), unexpected);
  if (!reply || reply->kind != LaunchReply::kStarted || reply->pid <= 0) {
    return ReplyFailure(reply, request, "before executing");
  }
  std::move(reap).Cancel();
  LaunchedJob job;
  job.monitor_pid = spawned->pid;
  job.monitor_pidfd = std::move(spawned->pidfd);
  job.job_pid = reply->pid;
  job.stdout_fd = std::move(output[0]);
  job.stderr_fd = std::move(output[1]);
  return job;
}

absl::StatusOr<std::vector<UniqueFd>> RunLauncherTask(
    const LaunchRequest& request, const LaunchContext& context) {
  absl::StatusOr<SpawnedLauncher> spawned = SpawnAndSend(request, context);
  if (!spawned.ok()) return spawned.status();
  // It ends by itself right after its reply; this only reaps it.
  absl::Cleanup reap = [&] { KillAndReapLauncher(*spawned); };
  std::vector<UniqueFd> fds;
  std::optional<LaunchReply> reply = ReceiveReply(spawned->sock.get(), fds);
  const LaunchReply::Kind want = request.mode == LaunchRequest::kOpenOutput
                                     ? LaunchReply::kOutputReady
                                     : LaunchReply::kDone;
  const size_t want_fds = want == LaunchReply::kOutputReady ? 2 : 0;
  if (!reply || reply->kind != want || fds.size() != want_fds) {
    return ReplyFailure(reply, request, "before doing its task");
  }
  return fds;
}

}  // namespace cmdctl

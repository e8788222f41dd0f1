#include "os_adapter/linux_process_host.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>

#include "absl/cleanup/cleanup.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "glog/logging.h"
#include "os_adapter/exec_env.h"
#include "os_adapter/fd_passing.h"
#include "os_adapter/launch_protocol.h"
#include "os_adapter/os_util.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

namespace cmdctl {

// ---------------------------------------------------------------------------
// Small syscall wrappers: EINTR retried here, errno preserved for the caller.
namespace {

constexpr uint64_t kWakeToken = 1;
constexpr uint64_t kTimerToken = 2;
constexpr uint64_t kInotifyToken = 3;
constexpr uint64_t kSigchldToken = 4;
constexpr uint64_t kPidfdTag = 0;
constexpr uint64_t kEventsTag = 1;
constexpr uint64_t kTagMask = 7;

// Start waits this long for the launcher to report (exec of a binary on a
// hung network file system, say) before it kills the launcher.
constexpr int kLauncherTimeoutSeconds = 30;

int PidfdOpen(pid_t pid) {
  return static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
}

int PidfdSendSignal(int pidfd, int sig) {
  return static_cast<int>(
      syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0));
}

void CloseFd(int& fd) {
  if (fd >= 0) close(fd);
  fd = -1;
}

int64_t MonotonicNanos() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// Reads a small file through an fd already open (from offset 0).
std::optional<std::string> PreadAll(int fd) {
  std::string out;
  char buf[4096];
  off_t off = 0;
  while (true) {
    const ssize_t n = pread(fd, buf, sizeof(buf), off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return std::nullopt;
    if (n == 0) return out;
    out.append(buf, static_cast<size_t>(n));
    off += n;
  }
}

std::optional<std::string> ReadSmallFile(int dirfd, const char* path) {
  const int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::optional<std::string> text = PreadAll(fd);
  const int err = errno;
  close(fd);
  errno = err;
  return text;
}

bool WriteAll(int fd, const char* data, size_t n) {
  while (n > 0) {
    const ssize_t w = write(fd, data, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return false;
    data += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

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
std::optional<LaunchReply> ReceiveReply(int sock, std::vector<int>& fds) {
  LaunchReply reply;
  bool truncated = false;
  const ssize_t n =
      ReceiveWithFds(sock, &reply, sizeof(reply), &fds, &truncated);
  if (n == 0) {
    errno = 0;
    return std::nullopt;
  }
  if (n != sizeof(reply)) {
    if (n > 0) errno = EPROTO;
    return std::nullopt;
  }
  return reply;
}

// The SIGCHLD handler of a reap_orphans host: wakes its loop.
std::atomic<int> g_sigchld_fd{-1};
std::atomic<bool> g_reaper_taken{false};

void OnSigchld(int) {
  const int saved = errno;
  const int fd = g_sigchld_fd.load(std::memory_order_relaxed);
  if (fd >= 0) {
    const uint64_t one = 1;
    (void)!write(fd, &one, sizeof(one));
  }
  errno = saved;
}

bool ParsePopulated(const std::string& events, bool& populated) {
  for (absl::string_view line : absl::StrSplit(events, '\n')) {
    if (absl::ConsumePrefix(&line, "populated ")) {
      populated = line != "0";
      return true;
    }
  }
  return false;
}

}  // namespace

std::string DefaultLauncherPath() {
  char buf[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return "cmdctl-launcher";
  std::string exe(buf, static_cast<size_t>(n));
  return exe.substr(0, exe.rfind('/') + 1) + "cmdctl-launcher";
}

// ---------------------------------------------------------------------------

struct LinuxProcessHost::User {
  std::string login;
  uid_t uid;
  gid_t gid;
  std::string home;
  std::string shell;
  std::vector<gid_t> groups;
};

struct LinuxProcessHost::Job {
  // Immutable once registered.
  std::string id;
  pid_t pid = 0;
  int stdout_fd = -1;
  int stderr_fd = -1;
  std::string cgroup_v2_path;   // empty: process-group fallback
  std::string output_paths[2];  // /proc/self/fd/<stdout_fd>, <stderr_fd>

  // Loop thread only once registered (Start fills them in before).
  std::shared_ptr<ProcessObserver> observer;
  int pidfd = -1;
  int events_fd = -1;  // cgroup.events
  std::optional<ExitInfo> exit;
  bool finished = false;

  // Output watches, guarded by the host's watch_mu_: the wd of each stream's
  // latest one-shot watch (-1: none), and whether the job has finished (no
  // watch is added any more).
  int wd[2] = {-1, -1};
  bool watch_closed = false;

  // The tree: signalled from any thread, torn down on the loop thread.
  absl::Mutex mu;
  bool tree_gone ABSL_GUARDED_BY(mu) = false;
  int cgroup_fd ABSL_GUARDED_BY(mu) = -1;

  ~Job() {
    CloseFd(stdout_fd);
    CloseFd(stderr_fd);
    CloseFd(pidfd);
    CloseFd(events_fd);
    absl::MutexLock l(&mu);
    CloseFd(cgroup_fd);
  }
};

LinuxProcessHost::LinuxProcessHost(LinuxProcessHostOptions options)
    : options_(std::move(options)),
      is_root_(geteuid() == 0),
      own_uid_(geteuid()) {}

absl::StatusOr<std::unique_ptr<LinuxProcessHost>> LinuxProcessHost::Create(
    LinuxProcessHostOptions options) {
  std::unique_ptr<LinuxProcessHost> host(
      new LinuxProcessHost(std::move(options)));
  absl::Status status = host->Init();
  if (!status.ok()) return status;
  return host;
}

absl::Status LinuxProcessHost::Init() {
  struct passwd pw, *found = nullptr;
  std::vector<char> buf(16384);
  if (getpwuid_r(own_uid_, &pw, buf.data(), buf.size(), &found) == 0 &&
      found != nullptr) {
    own_login_ = pw.pw_name;
  } else {
    own_login_ = absl::StrCat("uid ", own_uid_);
  }

  const std::string& launcher = options_.launcher_path;
  if (launcher.empty() || launcher[0] != '/') {
    return absl::InvalidArgumentError(
        absl::StrCat("launcher path must be absolute: '", launcher, "'"));
  }
  if (access(launcher.c_str(), X_OK) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot execute the launcher ", launcher, ": ", strerror(errno)));
  }

  if (!options_.output_dir.empty()) {
    output_dir_fd_ =
        open(options_.output_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (output_dir_fd_ < 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot open --output_dir ", options_.output_dir, ": ",
                       strerror(errno)));
    }
    struct stat st;
    if (fstat(output_dir_fd_, &st) != 0 || st.st_uid != own_uid_ ||
        (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          "--output_dir ", options_.output_dir, " must be owned by ",
          own_login_, " and writable by nobody else"));
    }
  }

  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  timer_fd_ = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
  inotify_fd_ = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (epoll_fd_ < 0 || wake_fd_ < 0 || timer_fd_ < 0 || inotify_fd_ < 0) {
    return ErrnoToStatus(errno, "creating the event loop's fds");
  }
  auto add = [this](int fd, uint64_t token) {
    struct epoll_event ev = {};
    ev.events = EPOLLIN;
    ev.data.u64 = token;
    return epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
  };
  if (add(wake_fd_, kWakeToken) != 0 || add(timer_fd_, kTimerToken) != 0 ||
      add(inotify_fd_, kInotifyToken) != 0) {
    return ErrnoToStatus(errno, "epoll_ctl");
  }

  if (options_.reap_orphans) {
    if (g_reaper_taken.exchange(true)) {
      return absl::FailedPreconditionError(
          "only one host per process may reap orphans");
    }
    sigchld_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (sigchld_fd_ < 0) return ErrnoToStatus(errno, "eventfd");
    if (add(sigchld_fd_, kSigchldToken) != 0) {
      return ErrnoToStatus(errno, "epoll_ctl");
    }
    g_sigchld_fd.store(sigchld_fd_);
    struct sigaction sa = {};
    sa.sa_handler = OnSigchld;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
    if (sigaction(SIGCHLD, &sa, nullptr) != 0) {
      return ErrnoToStatus(errno, "sigaction(SIGCHLD)");
    }
    if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) {
      return ErrnoToStatus(errno, "prctl(PR_SET_CHILD_SUBREAPER)");
    }
  }

  if (options_.use_cgroups) SetUpCgroups();

  loop_thread_ = std::thread([this] { Loop(); });
  if (options_.reap_orphans) {
    // Children that ended before the handler was installed.
    const uint64_t one = 1;
    (void)!write(sigchld_fd_, &one, sizeof(one));
  }
  return absl::OkStatus();
}

void LinuxProcessHost::SetUpCgroups() {
  const std::optional<CgroupMount> mount = FindCgroup2Mount(
      ReadSmallFile(AT_FDCWD, "/proc/self/mountinfo").value_or(""));
  if (!mount) {
    LOG(WARNING) << "no cgroup v2 mount: jobs are tracked by process group "
                    "only (see docs/OS_ADAPTER.md)";
    return;
  }
  std::string dir = options_.cgroup_parent;
  std::string v2_path;
  if (dir.empty()) {
    const std::optional<std::string> own = FindCgroup2Path(
        ReadSmallFile(AT_FDCWD, "/proc/self/cgroup").value_or(""));
    std::optional<std::string> own_dir;
    if (own) own_dir = CgroupDirectory(*mount, *own);
    if (!own_dir) {
      LOG(WARNING) << "cannot locate this process's cgroup v2: process "
                      "groups only";
      return;
    }
    dir = *own_dir == "/" ? "/cmdctl" : *own_dir + "/cmdctl";
    v2_path = (*own == "/" ? "" : *own) + "/cmdctl";
  } else {
    const std::string& mp = mount->mount_point;
    if (dir.compare(0, mp.size(), mp) != 0 ||
        (dir.size() > mp.size() && dir[mp.size()] != '/')) {
      LOG(WARNING) << "cgroup parent " << dir << " is not under the cgroup2 "
                   << "mount " << mp << ": process groups only";
      return;
    }
    v2_path = (mount->root == "/" ? "" : mount->root) + dir.substr(mp.size());
  }
  if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    LOG(WARNING) << "cannot create cgroup " << dir << " (" << strerror(errno)
                 << "): process groups only";
    return;
  }
  const int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    LOG(WARNING) << "cannot open cgroup " << dir << ": process groups only";
    return;
  }
  // A child cgroup must be creatable and movable-into (writable procs).
  const std::string probe = absl::StrCat("probe-", getpid());
  bool usable = mkdirat(fd, probe.c_str(), 0755) == 0;
  if (usable) {
    const int procs =
        openat(fd, (probe + "/cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC);
    usable = procs >= 0;
    if (procs >= 0) close(procs);
    unlinkat(fd, probe.c_str(), AT_REMOVEDIR);
  }
  if (!usable) {
    LOG(WARNING) << "cannot create job cgroups under " << dir
                 << ": process groups only";
    close(fd);
    return;
  }
  cgroup_parent_fd_ = fd;
  cgroup_parent_ = dir;
  cgroup_parent_v2_path_ = v2_path;
  LOG(INFO) << "jobs get their own cgroup under " << dir;
}

LinuxProcessHost::~LinuxProcessHost() {
  if (loop_thread_.joinable()) {
    std::vector<std::shared_ptr<Job>> jobs;
    {
      absl::MutexLock l(&mu_);
      shutting_down_ = true;
      for (const auto& [id, job] : jobs_) jobs.push_back(job);
    }
    for (const auto& job : jobs) {
      absl::MutexLock l(&job->mu);
      if (!job->tree_gone) KillTree(*job).IgnoreError();
    }
    {
      // The loop keeps reaping and removing cgroups meanwhile.
      absl::MutexLock l(&mu_);
      auto done = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return unfinished_ == 0;
      };
      mu_.AwaitWithTimeout(absl::Condition(&done), absl::Seconds(5));
      stopping_ = true;
    }
    const uint64_t one = 1;
    (void)!write(wake_fd_, &one, sizeof(one));
    loop_thread_.join();
  }
  if (options_.reap_orphans && sigchld_fd_ >= 0) {
    g_sigchld_fd.store(-1);
    signal(SIGCHLD, SIG_DFL);
    prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
    g_reaper_taken.store(false);
  }
  {
    absl::MutexLock l(&mu_);
    jobs_.clear();
    by_pid_.clear();
  }
  {
    absl::MutexLock l(&watch_mu_);
    by_watch_.clear();
  }
  CloseFd(epoll_fd_);
  CloseFd(wake_fd_);
  CloseFd(timer_fd_);
  CloseFd(inotify_fd_);
  CloseFd(sigchld_fd_);
  CloseFd(output_dir_fd_);
  CloseFd(cgroup_parent_fd_);
}

// ---------------------------------------------------------------------------
// Start

absl::StatusOr<LinuxProcessHost::User> LinuxProcessHost::LookupUser(
    const std::string& login) const {
  struct passwd pw, *found = nullptr;
  std::vector<char> buf(16384);
  int rc;
  while ((rc = getpwnam_r(login.c_str(), &pw, buf.data(), buf.size(),
                          &found)) == ERANGE) {
    buf.resize(buf.size() * 2);
  }
  if (rc != 0 && rc != ENOENT && rc != ESRCH) {
    return HostErrnoStatus(rc, absl::StrCat("looking up user ", login));
  }
  if (found == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("unknown user: ", login));
  }
  User user;
  user.login = pw.pw_name;
  user.uid = pw.pw_uid;
  user.gid = pw.pw_gid;
  user.home = pw.pw_dir != nullptr ? pw.pw_dir : "";
  user.shell = pw.pw_shell != nullptr ? pw.pw_shell : "";
  int ngroups = 32;
  std::vector<gid_t> groups(ngroups);
  while (getgrouplist(user.login.c_str(), user.gid, groups.data(), &ngroups) <
         0) {
    groups.resize(ngroups + 16);
    ngroups = static_cast<int>(groups.size());
  }
  groups.resize(ngroups);
  user.groups = std::move(groups);
  if (user.home.empty() || user.home[0] != '/') {
    return absl::FailedPreconditionError(
        absl::StrCat("user ", login, " has no absolute home directory"));
  }
  return user;
}

absl::StatusOr<StartedProcess> LinuxProcessHost::Start(
    const ProcessSpec& spec, std::shared_ptr<ProcessObserver> observer) {
  const std::string& id = spec.job_id;
  if (id.empty() || id == "." || id == ".." ||
      id.find('/') != std::string::npos || id.size() > 200) {
    return absl::InvalidArgumentError(absl::StrCat("bad job id '", id, "'"));
  }
  if (spec.program.empty()) {
    return absl::InvalidArgumentError("empty program");
  }
  // The domain validates these; execve would silently cut at a NUL.
  auto has_nul = [](const std::string& s) {
    return s.find('\0') != std::string::npos;
  };
  bool bad = has_nul(spec.program) || has_nul(spec.run_as) ||
             has_nul(spec.working_dir);
  for (const std::string& arg : spec.args) bad = bad || has_nul(arg);
  for (const auto& [key, value] : spec.env) {
    bad = bad || has_nul(key) || has_nul(value) || key.empty() ||
          key.find('=') != std::string::npos;
  }
  if (bad) {
    return absl::InvalidArgumentError(
        "NUL byte in the request, or an empty env name or one with '='");
  }
  if (!spec.working_dir.empty() && spec.working_dir[0] != '/') {
    return absl::InvalidArgumentError(absl::StrCat(
        "working_dir must be an absolute path: ", spec.working_dir));
  }
  absl::StatusOr<User> user = LookupUser(spec.run_as);
  if (!user.ok()) return user.status();
  if (!is_root_ && user->uid != own_uid_) {
    return absl::PermissionDeniedError(absl::StrCat(
        "cmdctld runs as ", own_login_, " and can only run jobs as ",
        own_login_, ", not as ", spec.run_as));
  }
  {
    absl::MutexLock l(&mu_);
    if (jobs_.contains(id)) {
      return absl::AlreadyExistsError(absl::StrCat("job ", id, " exists"));
    }
  }
  auto job = std::make_shared<Job>();
  job->id = id;
  job->observer = std::move(observer);
  absl::Status launched = Launch(spec, *user, *job);
  if (!launched.ok()) return launched;
  const int pid = job->pid;
  Register(std::move(job));
  return StartedProcess{pid};
}

absl::Status LinuxProcessHost::Launch(const ProcessSpec& spec, const User& user,
                                      Job& job) {
  const std::string& id = spec.job_id;
  // Everything made for this job, undone unless the launch succeeds.
  int cgroup_fd = -1, procs_fd = -1, events_fd = -1, outdir_fd = -1;
  int sock = -1, pidfd = -1;
  bool made_cgroup = false, made_outdir = false;
  pid_t pid = 0;
  std::vector<int> output_fds;
  bool ok = false;
  absl::Cleanup cleanup = [&] {
    CloseFd(sock);
    if (!ok && pidfd >= 0) {
      // The launcher exits by itself after reporting; make sure, then reap
      // it (or learn the reaper did: ECHILD).
      PidfdSendSignal(pidfd, SIGKILL);
      siginfo_t si;
      while (waitid(static_cast<idtype_t>(P_PIDFD), pidfd, &si, WEXITED) < 0 &&
             errno == EINTR) {
      }
    }
    if (!ok && options_.reap_orphans && pid > 0) {
      absl::MutexLock l(&mu_);
      starting_.erase(pid);
    }
    CloseFd(procs_fd);
    CloseFd(outdir_fd);
    if (!ok) {
      CloseFd(pidfd);
      CloseFd(events_fd);
      CloseFd(cgroup_fd);
      for (int& fd : output_fds) CloseFd(fd);
      if (made_cgroup) unlinkat(cgroup_parent_fd_, id.c_str(), AT_REMOVEDIR);
      // The launcher removed the files it made; the directory is ours.
      if (made_outdir) unlinkat(output_dir_fd_, id.c_str(), AT_REMOVEDIR);
    }
  };

  if (cgroup_parent_fd_ >= 0) {
    if (mkdirat(cgroup_parent_fd_, id.c_str(), 0755) != 0) {
      return HostErrnoStatus(errno, "creating the job's cgroup");
    }
    made_cgroup = true;
    cgroup_fd = openat(cgroup_parent_fd_, id.c_str(),
                       O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (cgroup_fd >= 0) {
      procs_fd = openat(cgroup_fd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
      events_fd = openat(cgroup_fd, "cgroup.events", O_RDONLY | O_CLOEXEC);
    }
    if (cgroup_fd < 0 || procs_fd < 0 || events_fd < 0) {
      return HostErrnoStatus(errno, "opening the job's cgroup");
    }
  }
  if (output_dir_fd_ >= 0) {
    if (mkdirat(output_dir_fd_, id.c_str(), 0700) != 0) {
      return HostErrnoStatus(errno, "creating the job's output directory");
    }
    made_outdir = true;
    outdir_fd = openat(output_dir_fd_, id.c_str(),
                       O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (outdir_fd < 0 || fchown(outdir_fd, user.uid, user.gid) != 0 ||
        fchmod(outdir_fd, 0700) != 0) {
      return HostErrnoStatus(errno, "preparing the job's output directory");
    }
  }

  LaunchRequest request;
  request.drop_privileges = is_root_;
  request.uid = user.uid;
  request.gid = user.gid;
  request.groups.assign(user.groups.begin(), user.groups.end());
  request.home = user.home;
  request.working_dir = spec.working_dir;
  request.job_id = id;
  request.program = spec.program;
  request.argv.push_back(spec.program);
  request.argv.insert(request.argv.end(), spec.args.begin(), spec.args.end());
  request.envp = BuildEnvironment(user.login, user.home, user.shell, spec.env);
  request.has_cgroup_procs_fd = procs_fd >= 0;
  request.has_output_dir_fd = outdir_fd >= 0;
  const std::string body = EncodeLaunchRequest(request);
  if (body.size() > kMaxLaunchRequestBytes) {
    return absl::InvalidArgumentError("arguments and environment too large");
  }

  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    return HostErrnoStatus(errno, "socketpair");
  }
  sock = sv[0];
  {
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, sv[1], kLauncherSocketFd);
    posix_spawn_file_actions_addclosefrom_np(&actions, kLauncherSocketFd + 1);
    sigset_t empty, all;
    sigemptyset(&empty);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr, &empty);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID |
                                        POSIX_SPAWN_SETSIGMASK |
                                        POSIX_SPAWN_SETSIGDEF);
    std::string arg0 = "cmdctl-launcher";
    std::string arg1 = id;
    char* argv[] = {arg0.data(), arg1.data(), nullptr};
    char* envp[] = {nullptr};
    int rc;
    {
      absl::ReaderMutexLock spawn_lock(&spawn_mu_);
      rc = posix_spawn(&pid, options_.launcher_path.c_str(), &actions, &attr,
                       argv, envp);
      if (rc == 0 && options_.reap_orphans) {
        absl::MutexLock l(&mu_);
        starting_[pid] = std::nullopt;
      }
    }
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    close(sv[1]);
    if (rc != 0) {
      pid = 0;
      return HostErrnoStatus(rc, "spawning the launcher");
    }
  }
  // The launcher is our unreaped child: its pid cannot be reused yet.
  pidfd = PidfdOpen(pid);
  if (pidfd < 0) return HostErrnoStatus(errno, "pidfd_open");
  struct timeval tv = {kLauncherTimeoutSeconds, 0};
  setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));

  std::vector<int> attached;
  if (procs_fd >= 0) attached.push_back(procs_fd);
  if (outdir_fd >= 0) attached.push_back(outdir_fd);
  if (!SendRequest(sock, body, attached)) {
    return HostErrnoStatus(errno, "sending the launch request");
  }
  CloseFd(procs_fd);
  CloseFd(outdir_fd);

  auto failure = [&](const std::optional<LaunchReply>& reply,
                     const char* when) -> absl::Status {
    if (reply && reply->kind == LaunchReply::kFailed) {
      return LaunchFailureToStatus(static_cast<LaunchStage>(reply->stage),
                                   reply->error, spec.program,
                                   spec.working_dir);
    }
    if (!reply && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return absl::DeadlineExceededError(
          absl::StrCat("the launcher did not report within ",
                       kLauncherTimeoutSeconds, "s ", when));
    }
    return absl::InternalError(
        absl::StrCat("the launcher ended ", when, " without a report"));
  };
  std::optional<LaunchReply> reply = ReceiveReply(sock, output_fds);
  if (!reply || reply->kind != LaunchReply::kOutputReady ||
      output_fds.size() != 2) {
    return failure(reply, "before creating the output");
  }
  std::vector<int> none;
  reply = ReceiveReply(sock, none);
  for (int& fd : none) CloseFd(fd);
  if (reply || errno != 0) return failure(reply, "before executing");

  ok = true;
  job.pid = pid;
  job.pidfd = pidfd;
  job.stdout_fd = output_fds[0];
  job.stderr_fd = output_fds[1];
  job.events_fd = events_fd;
  if (cgroup_fd >= 0) {
    job.cgroup_v2_path = absl::StrCat(cgroup_parent_v2_path_, "/", id);
  }
  absl::MutexLock l(&job.mu);
  job.cgroup_fd = cgroup_fd;
  return absl::OkStatus();
}

void LinuxProcessHost::Register(std::shared_ptr<Job> job) {
  // Once the job is published (by_pid_, or the pidfd in epoll without
  // reap_orphans) the loop may end it at any moment and close its fds: every
  // fd goes into epoll before that. Early events are harmless: cgroup.events
  // is only acted upon after the main exit, and with reap_orphans an exit
  // reaped before publication is parked in starting_.
  Job* raw = job.get();
  auto add = [this, raw](int fd, uint32_t events, uint64_t tag) {
    struct epoll_event ev = {};
    ev.events = events;
    ev.data.u64 = reinterpret_cast<uint64_t>(raw) | tag;
    // Fails only when the kernel is out of memory for epoll items.
    CHECK_EQ(epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev), 0)
        << "epoll_ctl: " << strerror(errno);
  };
  if (job->events_fd >= 0) add(job->events_fd, EPOLLPRI, kEventsTag);
  // The pidfd also wakes the reaper if SIGCHLD were lost (a library resetting
  // its disposition, a sanitizer deferring it).
  if (options_.reap_orphans) add(job->pidfd, EPOLLIN, kPidfdTag);

  // No inotify watch yet: WatchOutput adds one only while a reader waits.
  job->output_paths[0] = absl::StrCat("/proc/self/fd/", job->stdout_fd);
  job->output_paths[1] = absl::StrCat("/proc/self/fd/", job->stderr_fd);
  std::optional<ExitInfo> early_exit;
  {
    absl::MutexLock l(&mu_);
    jobs_[job->id] = job;
    ++unfinished_;
    if (options_.reap_orphans) {
      auto it = starting_.find(job->pid);
      if (it != starting_.end() && it->second) {
        early_exit = it->second;
      } else {
        by_pid_[job->pid] = job;  // published: the reaper may end it now
      }
      starting_.erase(job->pid);
    }
  }
  if (early_exit) {
    const ExitInfo exit = *early_exit;
    Post([this, raw, exit] { OnMainExit(*raw, exit); });
  } else if (!options_.reap_orphans) {
    add(job->pidfd, EPOLLIN, kPidfdTag);  // published: may end it now
  }
}

// ---------------------------------------------------------------------------
// Signalling

std::shared_ptr<LinuxProcessHost::Job> LinuxProcessHost::FindJob(
    const std::string& job_id) {
  absl::MutexLock l(&mu_);
  auto it = jobs_.find(job_id);
  return it == jobs_.end() ? nullptr : it->second;
}

absl::Status LinuxProcessHost::SignalTree(Job& job, int sig) {
  if (job.tree_gone) return absl::OkStatus();
  if (job.cgroup_fd < 0) {
    // Fallback: the session's process group (pgid == the main pid, which
    // stays reserved while any member of the group lives).
    if (kill(-job.pid, sig) != 0 && errno != ESRCH) {
      return HostErrnoStatus(errno, "killpg");
    }
    return absl::OkStatus();
  }
  // Every process of the cgroup. A pid read from cgroup.procs is pinned with
  // a pidfd and then checked to still be in this cgroup, so a recycled pid
  // is never signalled. Passes repeat while they find processes forked
  // meanwhile (bounded: a fork bomb is for Kill's cgroup.kill).
  absl::flat_hash_set<int> signalled;
  for (int pass = 0; pass < 8; ++pass) {
    std::optional<std::string> procs =
        ReadSmallFile(job.cgroup_fd, "cgroup.procs");
    if (!procs) return HostErrnoStatus(errno, "reading cgroup.procs");
    bool found_new = false;
    for (absl::string_view line :
         absl::StrSplit(*procs, '\n', absl::SkipEmpty())) {
      int pid;
      if (!absl::SimpleAtoi(line, &pid) || pid <= 0) continue;
      if (!signalled.insert(pid).second) continue;
      found_new = true;
      const int pidfd = PidfdOpen(pid);
      if (pidfd < 0) continue;  // already gone
      const std::string cgroup_file = absl::StrCat("/proc/", pid, "/cgroup");
      const std::optional<std::string> cgroup =
          ReadSmallFile(AT_FDCWD, cgroup_file.c_str());
      if (cgroup && FindCgroup2Path(*cgroup) == job.cgroup_v2_path) {
        PidfdSendSignal(pidfd, sig);
      }
      close(pidfd);
    }
    if (!found_new) break;
  }
  return absl::OkStatus();
}

absl::Status LinuxProcessHost::KillTree(Job& job) {
  if (job.tree_gone) return absl::OkStatus();
  if (job.cgroup_fd >= 0) {
    const int fd = openat(job.cgroup_fd, "cgroup.kill", O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
      const bool written = WriteAll(fd, "1", 1);
      const int err = errno;
      close(fd);
      if (written) return absl::OkStatus();
      return HostErrnoStatus(err, "writing cgroup.kill");
    }
    // Kernels before 5.14 have no cgroup.kill: signal each process.
  }
  return SignalTree(job, SIGKILL);
}

absl::Status LinuxProcessHost::Terminate(const std::string& job_id) {
  std::shared_ptr<Job> job = FindJob(job_id);
  if (job == nullptr) {
    return absl::NotFoundError(absl::StrCat("no job ", job_id));
  }
  absl::MutexLock l(&job->mu);
  return SignalTree(*job, SIGTERM);
}

absl::Status LinuxProcessHost::Kill(const std::string& job_id) {
  std::shared_ptr<Job> job = FindJob(job_id);
  if (job == nullptr) {
    return absl::NotFoundError(absl::StrCat("no job ", job_id));
  }
  absl::MutexLock l(&job->mu);
  return KillTree(*job);
}

// ---------------------------------------------------------------------------
// Output

absl::StatusOr<std::string> LinuxProcessHost::ReadOutput(
    const std::string& job_id, OutputStream stream, int64_t offset,
    size_t max_bytes) {
  if (offset < 0) return absl::InvalidArgumentError("negative offset");
  std::shared_ptr<Job> job = FindJob(job_id);
  if (job == nullptr) {
    return absl::NotFoundError(absl::StrCat("no job ", job_id));
  }
  const int fd =
      stream == OutputStream::kStdout ? job->stdout_fd : job->stderr_fd;
  // Allocate only for what is there (the file may grow meanwhile: the
  // caller reads again).
  struct stat st;
  if (fstat(fd, &st) != 0) return HostErrnoStatus(errno, "fstat of job output");
  const size_t available =
      st.st_size > offset ? static_cast<size_t>(st.st_size - offset) : 0;
  const size_t want = std::min(max_bytes, available);
  std::string data(want, '\0');
  size_t got = 0;
  while (got < want) {
    const ssize_t n = pread(fd, data.data() + got, want - got,
                            static_cast<off_t>(offset + got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return HostErrnoStatus(errno, "reading job output");
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  data.resize(got);
  return data;
}

absl::StatusOr<int64_t> LinuxProcessHost::OutputSize(const std::string& job_id,
                                                     OutputStream stream) {
  std::shared_ptr<Job> job = FindJob(job_id);
  if (job == nullptr) {
    return absl::NotFoundError(absl::StrCat("no job ", job_id));
  }
  const int fd =
      stream == OutputStream::kStdout ? job->stdout_fd : job->stderr_fd;
  struct stat st;
  if (fstat(fd, &st) != 0) return HostErrnoStatus(errno, "fstat of job output");
  return static_cast<int64_t>(st.st_size);
}

absl::Status LinuxProcessHost::WatchOutput(const std::string& job_id) {
  std::shared_ptr<Job> job = FindJob(job_id);
  if (job == nullptr) {
    return absl::NotFoundError(absl::StrCat("no job ", job_id));
  }
  // A one-shot IN_MODIFY watch per stream: the kernel reports the first
  // write after this call and then removes the watch (IN_IGNORED follows),
  // so a job costs nothing per write while nobody waits for its output.
  // inotify_add_watch on a watch still armed keeps its wd (the mask is
  // replaced, IN_ONESHOT included); after it fired, it makes a new one.
  // Always asking the kernel (rather than trusting wd[]) makes the arming
  // exact even while a fired watch's events are still queued. watch_mu_ is
  // held from inotify_add_watch until by_watch_ knows the wd, so the loop
  // never reads an event for a wd it cannot map.
  absl::MutexLock l(&watch_mu_);
  if (job->watch_closed) return absl::OkStatus();  // ended: OnExit is due
  for (int s = 0; s < 2; ++s) {
    const int wd = inotify_add_watch(inotify_fd_, job->output_paths[s].c_str(),
                                     IN_MODIFY | IN_ONESHOT);
    if (wd < 0) {
      const int err = errno;
      return HostErrnoStatus(err, "inotify_add_watch on job output");
    }
    // A previous wd that fired stays in by_watch_ until its IN_IGNORED.
    job->wd[s] = wd;
    by_watch_[wd] = job;
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// Time and timers

absl::Time LinuxProcessHost::Now() { return absl::Now(); }

TimerId LinuxProcessHost::RunAfter(absl::Duration delay,
                                   std::function<void()> fn) {
  const int64_t delay_ns = delay <= absl::ZeroDuration()
                               ? 0
                               : (delay > absl::Hours(24 * 365 * 100)
                                      ? int64_t{1} << 62
                                      : absl::ToInt64Nanoseconds(delay));
  absl::MutexLock l(&mu_);
  const TimerId id = next_timer_id_++;
  timers_[id] = std::move(fn);
  timer_heap_.push(Timer{MonotonicNanos() + delay_ns, id});
  if (timer_heap_.top().id == id) ArmTimerLocked();
  return id;
}

void LinuxProcessHost::CancelTimer(TimerId id) {
  absl::MutexLock l(&mu_);
  timers_.erase(id);  // its heap entry is skipped when it comes up
}

void LinuxProcessHost::ArmTimerLocked() {
  while (!timer_heap_.empty() && !timers_.contains(timer_heap_.top().id)) {
    timer_heap_.pop();
  }
  struct itimerspec spec = {};
  if (!timer_heap_.empty()) {
    const int64_t at = std::max<int64_t>(timer_heap_.top().deadline_ns, 1);
    spec.it_value.tv_sec = at / 1000000000;
    spec.it_value.tv_nsec = at % 1000000000;
  }
  timerfd_settime(timer_fd_, TFD_TIMER_ABSTIME, &spec, nullptr);
}

void LinuxProcessHost::RunDueTimers() {
  uint64_t expirations;
  (void)!read(timer_fd_, &expirations, sizeof(expirations));
  std::vector<std::function<void()>> due;
  {
    absl::MutexLock l(&mu_);
    const int64_t now = MonotonicNanos();
    while (!timer_heap_.empty() && timer_heap_.top().deadline_ns <= now) {
      auto it = timers_.find(timer_heap_.top().id);
      timer_heap_.pop();
      if (it == timers_.end()) continue;
      due.push_back(std::move(it->second));
      timers_.erase(it);
    }
    ArmTimerLocked();
  }
  for (auto& fn : due) fn();
}

// ---------------------------------------------------------------------------
// The event loop

void LinuxProcessHost::Post(std::function<void()> fn) {
  {
    absl::MutexLock l(&mu_);
    posted_.push_back(std::move(fn));
  }
  const uint64_t one = 1;
  (void)!write(wake_fd_, &one, sizeof(one));
}

void LinuxProcessHost::RunPosted() {
  uint64_t count;
  (void)!read(wake_fd_, &count, sizeof(count));
  std::vector<std::function<void()>> fns;
  {
    absl::MutexLock l(&mu_);
    fns.swap(posted_);
  }
  for (auto& fn : fns) fn();
}

void LinuxProcessHost::Loop() {
  struct epoll_event events[64];
  while (true) {
    const int n = epoll_wait(epoll_fd_, events, 64, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      LOG(FATAL) << "epoll_wait: " << strerror(errno);
    }
    for (int i = 0; i < n; ++i) {
      const uint64_t token = events[i].data.u64;
      switch (token) {
        case kWakeToken:
          RunPosted();
          break;
        case kTimerToken:
          RunDueTimers();
          break;
        case kInotifyToken:
          DrainInotify();
          break;
        case kSigchldToken:
          ReapChildren();
          break;
        default: {
          Job* job = reinterpret_cast<Job*>(token & ~kTagMask);
          if ((token & kTagMask) == kPidfdTag) {
            if (options_.reap_orphans) {
              ReapChildren();  // reaps this main process among others
            } else {
              OnPidfdReadable(*job);
            }
          } else {
            CheckTreeGone(*job);
          }
        }
      }
    }
    absl::MutexLock l(&mu_);
    if (stopping_) return;
  }
}

void LinuxProcessHost::DrainInotify() {
  alignas(struct inotify_event) char buf[8192];
  std::vector<int> modified;
  std::vector<int> removed;  // IN_IGNORED: a one-shot fired, or rm_watch
  bool overflow = false;
  while (true) {
    const ssize_t n = read(inotify_fd_, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    for (ssize_t off = 0; off < n;) {
      const auto* ev = reinterpret_cast<const struct inotify_event*>(buf + off);
      if (ev->mask & IN_Q_OVERFLOW) overflow = true;
      if (ev->mask & IN_MODIFY) modified.push_back(ev->wd);
      if (ev->mask & IN_IGNORED) removed.push_back(ev->wd);
      off += static_cast<ssize_t>(sizeof(struct inotify_event) + ev->len);
    }
  }
  std::vector<std::shared_ptr<Job>> jobs;
  {
    absl::MutexLock l(&watch_mu_);
    if (overflow) {
      // Events were lost: every job with a watch may have new output.
      for (const auto& [wd, job] : by_watch_) jobs.push_back(job);
    } else {
      for (int wd : modified) {
        auto it = by_watch_.find(wd);
        if (it != by_watch_.end()) jobs.push_back(it->second);
      }
    }
    // After the lookups: a wd's IN_IGNORED follows its IN_MODIFY.
    for (int wd : removed) {
      auto it = by_watch_.find(wd);
      if (it == by_watch_.end()) continue;
      Job& job = *it->second;
      for (int& current : job.wd) {
        if (current == wd) current = -1;
      }
      by_watch_.erase(it);
    }
  }
  Job* last = nullptr;
  for (const auto& job : jobs) {
    if (job.get() == last) continue;  // coalesce runs of the same job
    last = job.get();
    if (!job->finished && job->observer != nullptr) job->observer->OnOutput();
  }
}

void LinuxProcessHost::ReapChildren() {
  uint64_t count;
  (void)!read(sigchld_fd_, &count, sizeof(count));  // nonblocking
  std::vector<std::pair<std::shared_ptr<Job>, ExitInfo>> exits;
  {
    absl::WriterMutexLock spawn_lock(&spawn_mu_);
    while (true) {
      siginfo_t si = {};
      if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG) != 0) {
        if (errno == EINTR) continue;
        break;  // ECHILD: no children
      }
      if (si.si_pid == 0) break;
      const std::optional<ExitInfo> exit =
          DecodeChildStatus(si.si_code, si.si_status);
      if (!exit) continue;
      absl::MutexLock l(&mu_);
      if (auto it = by_pid_.find(si.si_pid); it != by_pid_.end()) {
        exits.emplace_back(it->second, *exit);
        by_pid_.erase(it);
      } else if (auto st = starting_.find(si.si_pid); st != starting_.end()) {
        st->second = *exit;
      }
      // Anything else: a reparented orphan, now reaped.
    }
  }
  for (auto& [job, exit] : exits) OnMainExit(*job, exit);
}

void LinuxProcessHost::OnPidfdReadable(Job& job) {
  if (job.pidfd < 0) return;
  siginfo_t si = {};
  int rc;
  do {
    rc = waitid(static_cast<idtype_t>(P_PIDFD), job.pidfd, &si,
                WEXITED | WNOHANG);
  } while (rc < 0 && errno == EINTR);
  std::optional<ExitInfo> exit;
  if (rc == 0 && si.si_pid == 0) return;  // not yet
  if (rc == 0) exit = DecodeChildStatus(si.si_code, si.si_status);
  if (!exit) {
    LOG(ERROR) << "job " << job.id << ": cannot learn how pid " << job.pid
               << " ended (" << strerror(errno) << ")";
    exit = ExitInfo::Exited(255);
  }
  OnMainExit(job, *exit);
}

void LinuxProcessHost::OnMainExit(Job& job, ExitInfo exit) {
  if (job.exit) return;
  job.exit = exit;
  if (job.pidfd >= 0) {
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, job.pidfd, nullptr);
    CloseFd(job.pidfd);
  }
  bool fallback;
  {
    // Like systemd's KillMode=control-group: the job ends with its main
    // process; whatever it left behind is killed.
    absl::MutexLock l(&job.mu);
    fallback = job.cgroup_fd < 0;
    absl::Status killed = KillTree(job);
    if (!killed.ok()) LOG(ERROR) << "job " << job.id << ": " << killed;
  }
  if (fallback) {
    // Nothing tells us when the group's last member is gone: the job ends
    // now (see docs/OS_ADAPTER.md).
    FinishJob(job);
  } else {
    CheckTreeGone(job);
  }
}

void LinuxProcessHost::CheckTreeGone(Job& job) {
  if (job.finished || job.events_fd < 0) return;
  // Reading cgroup.events also re-arms its EPOLLPRI notification.
  std::optional<std::string> events = PreadAll(job.events_fd);
  bool populated = true;
  if (!events || !ParsePopulated(*events, populated)) {
    LOG(ERROR) << "job " << job.id << ": cannot read cgroup.events";
    return;
  }
  if (!populated && job.exit) FinishJob(job);
}

void LinuxProcessHost::FinishJob(Job& job) {
  if (job.finished) return;
  job.finished = true;
  if (job.events_fd >= 0) {
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, job.events_fd, nullptr);
    CloseFd(job.events_fd);
  }
  {
    absl::MutexLock l(&job.mu);
    job.tree_gone = true;
    if (job.cgroup_fd >= 0) {
      CloseFd(job.cgroup_fd);
      if (unlinkat(cgroup_parent_fd_, job.id.c_str(), AT_REMOVEDIR) != 0) {
        LOG(ERROR) << "job " << job.id
                   << ": rmdir of its cgroup: " << strerror(errno);
      }
    }
  }
  {
    // No watch from now on; remove one still armed (its IN_IGNORED then
    // finds nothing to map). OnOutput is never called after OnExit: the
    // loop checks `finished` before calling it.
    absl::MutexLock l(&watch_mu_);
    job.watch_closed = true;
    for (int& wd : job.wd) {
      if (wd < 0) continue;
      by_watch_.erase(wd);
      inotify_rm_watch(inotify_fd_, wd);  // EINVAL if it has just fired
      wd = -1;
    }
  }
  bool notify;
  {
    absl::MutexLock l(&mu_);
    by_pid_.erase(job.pid);
    --unfinished_;
    notify = !shutting_down_;
  }
  if (options_.reap_orphans) {
    // Orphans of this job were killed with it; reap them without waiting for
    // SIGCHLD.
    Post([this] { ReapChildren(); });
  }
  std::shared_ptr<ProcessObserver> observer = std::move(job.observer);
  if (notify && observer != nullptr) observer->OnExit(*job.exit, Now());
}

}  // namespace cmdctl

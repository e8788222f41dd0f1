#include "integration_tests/common/server_process.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstddef>
#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "integration_tests/common/runnable_copy.h"
#include "os_adapter/host_job_state.h"
#include "os_adapter/monitor_files.h"

extern char** environ;

namespace cmdctl::test {
namespace {

std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Tail(const std::string& s, size_t n) {
  return s.size() <= n ? s : s.substr(s.size() - n);
}

std::vector<char*> Argv(std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  return argv;
}

// Spawns with a clean signal mask and default dispositions.
absl::StatusOr<pid_t> Spawn(std::vector<std::string> args,
                            posix_spawn_file_actions_t* actions) {
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  std::vector<char*> argv = Argv(args);
  pid_t pid = -1;
  const int err =
      posix_spawn(&pid, argv[0], actions, &attr, argv.data(), environ);
  posix_spawnattr_destroy(&attr);
  if (err != 0) {
    return absl::InternalError(
        absl::StrCat("posix_spawn ", args[0], ": ", strerror(err)));
  }
  return pid;
}

// fork + exec with the given ids (posix_spawn cannot change users); stdin
// from /dev/null, stdout and stderr to `log_path`.
absl::StatusOr<pid_t> SpawnAs(std::vector<std::string> args,
                              const std::string& log_path, uid_t uid,
                              gid_t gid) {
  std::vector<char*> argv = Argv(args);
  const int log =
      open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log < 0) return absl::InternalError(absl::StrCat("open ", log_path));
  if (fchown(log, uid, gid) != 0) {
    close(log);
    return absl::InternalError("fchown log");
  }
  const pid_t pid = fork();
  if (pid < 0) {
    close(log);
    return absl::InternalError(absl::StrCat("fork: ", strerror(errno)));
  }
  if (pid == 0) {
    // Async-signal-safe calls only.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    const int devnull = open("/dev/null", O_RDONLY);
    if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(log, 1) < 0 ||
        dup2(log, 2) < 0 || setgroups(0, nullptr) != 0 || setgid(gid) != 0 ||
        setuid(uid) != 0) {
      _exit(126);
    }
    execve(argv[0], argv.data(), environ);
    _exit(127);
  }
  close(log);
  return pid;
}

// Why exec may have failed (the child exits 127, or 126 when it could not
// even drop privileges), so that a test never reports a bare 127.
std::string ExecFailureHint(const ServerProcessOptions& options, int status) {
  if (!WIFEXITED(status)) return "";
  if (WEXITSTATUS(status) == 126) return " (could not switch to the user)";
  if (WEXITSTATUS(status) != 127) return "";
  std::string hint = absl::StrCat(" (could not execute ", options.binary);
  if (options.run_as_uid >= 0) {
    absl::StrAppend(&hint, " as uid ", options.run_as_uid);
    if (absl::Status runnable = CheckRunnableByEveryone(options.binary);
        !runnable.ok()) {
      absl::StrAppend(&hint, ": ", runnable.message(),
                      "; run a test::UserRunnableCopy of it instead");
    }
  }
  return hint + ")";
}

}  // namespace

absl::StatusOr<std::unique_ptr<ServerProcess>> ServerProcess::Start(
    const ServerProcessOptions& options) {
  std::unique_ptr<ServerProcess> server(new ServerProcess());
  const std::string port_file = options.work_dir + "/cmdctld.port";
  unlink(port_file.c_str());
  server->log_path_ = options.work_dir + "/cmdctld.log";
  std::vector<std::string> args = {
      options.binary,
      "--listen=127.0.0.1:0",
      "--ca=" + options.ca_path,
      "--cert=" + options.cert_path,
      "--key=" + options.key_path,
      "--port_file=" + port_file,
  };
  // A state directory of this test's own (the default, /var/lib/cmdctl,
  // would be shared by every server the tests start), owned by the user the
  // server runs as.
  server->state_dir_ = options.work_dir + "/state";
  for (const std::string& flag : options.extra_flags) {
    if (absl::StartsWith(flag, "--state_dir=")) {
      server->state_dir_ = flag.substr(strlen("--state_dir="));
    }
  }
  if (mkdir(server->state_dir_.c_str(), 0700) == 0 && options.run_as_uid >= 0 &&
      chown(server->state_dir_.c_str(), options.run_as_uid,
            options.run_as_gid) != 0) {
    return absl::InternalError(absl::StrCat("chown ", server->state_dir_));
  }
  args.push_back("--state_dir=" + server->state_dir_);
  args.insert(args.end(), options.extra_flags.begin(),
              options.extra_flags.end());
  if (options.fd_limit > 0) {
    // prlimit execs cmdctld in its own process: the pid stays the server's.
    args.insert(args.begin(), {"/usr/bin/prlimit",
                               absl::StrCat("--nofile=", options.fd_limit, ":",
                                            options.fd_limit),
                               "--"});
  }
  if (!options.cgroup.empty()) {
    // The shell moves itself (so the server it becomes) into the cgroup.
    args.insert(args.begin(),
                {"/bin/sh", "-c", "echo $$ >\"$0/cgroup.procs\" && exec \"$@\"",
                 options.cgroup});
  }

  absl::StatusOr<pid_t> pid;
  if (options.run_as_uid >= 0) {
    pid = SpawnAs(args, server->log_path_, options.run_as_uid,
                  options.run_as_gid);
  } else {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, server->log_path_.c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    pid = Spawn(args, &actions);
    posix_spawn_file_actions_destroy(&actions);
  }
  if (!pid.ok()) return pid.status();
  server->pid_ = *pid;

  // Readiness: the port file appears (renamed into place, so complete).
  const absl::Time deadline = absl::Now() + options.start_timeout;
  while (absl::Now() < deadline) {
    int status = 0;
    if (waitpid(server->pid_, &status, WNOHANG) == server->pid_) {
      server->pid_ = -1;
      return absl::FailedPreconditionError(
          absl::StrCat("cmdctld exited (status ", status, ") at start",
                       ExecFailureHint(options, status), ":\n",
                       Tail(server->ReadLog(), 4000)));
    }
    std::string text = ReadFileOrEmpty(port_file);
    int port = 0;
    if (!text.empty() &&
        absl::SimpleAtoi(absl::StripAsciiWhitespace(text), &port) && port > 0) {
      server->port_ = port;
      return server;
    }
    usleep(10 * 1000);
  }
  server->Kill();
  return absl::DeadlineExceededError(absl::StrCat(
      "cmdctld did not write its port file:\n", Tail(server->ReadLog(), 4000)));
}

ServerProcess::~ServerProcess() {
  Kill();
  KillJobsOf(state_dir_);
}

void KillJobsOf(const std::string& state_dir) {
  if (state_dir.empty()) return;
  const std::string jobs = state_dir + "/jobs";
  DIR* d = opendir(jobs.c_str());
  if (d == nullptr) return;
  while (struct dirent* e = readdir(d)) {
    const std::string id = e->d_name;
    if (id == "." || id == "..") continue;
    const std::string dir = absl::StrCat(jobs, "/", id);
    // Only a job whose monitor still runs (the same process: pid and start
    // time) is running. An ended job's pids are stale: with pid_max at
    // 32768 they are soon another process's, and killing them would kill
    // a stranger (another test's server or monitor).
    absl::StatusOr<HostJobState> state =
        DecodeHostJobState(ReadFileOrEmpty(dir + "/host_state"));
    if (!state.ok() || state->monitor_pid <= 0) continue;
    absl::StatusOr<uint64_t> start = ProcessStartTime(state->monitor_pid);
    if (!start.ok() || *start != state->monitor_start) continue;
    // Its cgroup, whole; or its process group.
    if (!state->cgroup_parent.empty()) {
      const std::string kill_file =
          absl::StrCat(state->cgroup_parent, "/", id, "/cgroup.kill");
      const int fd = open(kill_file.c_str(), O_WRONLY | O_CLOEXEC);
      if (fd >= 0) {
        const bool killed = write(fd, "1", 1) == 1;
        close(fd);
        if (killed) continue;
      }
    }
    // The monitor, alive, has not reaped the job: its pid (the group's id)
    // is still the job's.
    const int fd = open((dir + "/status").c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      int32_t pid = 0;
      if (pread(fd, &pid, sizeof(pid), offsetof(MonitorStatus, job_pid)) ==
              sizeof(pid) &&
          pid > 0) {
        kill(-pid, SIGKILL);
      }
      close(fd);
    }
  }
  closedir(d);
}

std::string ServerProcess::address() const {
  return absl::StrCat("127.0.0.1:", port_);
}

std::string ServerProcess::ReadLog() const {
  return ReadFileOrEmpty(log_path_);
}

void ServerProcess::Signal(int sig) {
  if (pid_ > 0) kill(pid_, sig);
}

absl::StatusOr<int> ServerProcess::WaitForExit(absl::Duration timeout) {
  if (pid_ <= 0) return absl::FailedPreconditionError("not running");
  const absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    int status = 0;
    const pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      return status;
    }
    if (r < 0 && errno != EINTR) {
      return absl::InternalError(absl::StrCat("waitpid: ", strerror(errno)));
    }
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError("cmdctld did not exit in time");
    }
    usleep(10 * 1000);
  }
}

void ServerProcess::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  int status;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
}

absl::StatusOr<CommandResult> RunWithInput(const std::vector<std::string>& argv,
                                           const std::string& stdin_data,
                                           absl::Duration timeout) {
  int in[2], out[2];
  if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) {
    return absl::InternalError(absl::StrCat("pipe2: ", strerror(errno)));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in[0], 0);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_adddup2(&actions, out[1], 2);
  absl::StatusOr<pid_t> pid = Spawn(argv, &actions);
  posix_spawn_file_actions_destroy(&actions);
  close(in[0]);
  close(out[1]);
  if (!pid.ok()) {
    close(in[1]);
    close(out[0]);
    return pid.status();
  }
  signal(SIGPIPE, SIG_IGN);
  if (!stdin_data.empty()) {
    (void)!write(in[1], stdin_data.data(), stdin_data.size());
  }
  close(in[1]);
  CommandResult result;
  const absl::Time deadline = absl::Now() + timeout;
  char buf[4096];
  bool killed = false;
  for (;;) {
    const int ms =
        static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now()));
    if (ms <= 0) {
      kill(*pid, SIGKILL);
      killed = true;
      break;
    }
    struct pollfd p = {out[0], POLLIN, 0};
    const int r = poll(&p, 1, ms);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) continue;
    const ssize_t n = read(out[0], buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    result.output.append(buf, static_cast<size_t>(n));
  }
  close(out[0]);
  int status = 0;
  while (waitpid(*pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (killed) return absl::DeadlineExceededError("command timed out");
  result.exit_code =
      WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

absl::StatusOr<long long> CpuTicks(pid_t pid) {
  const std::string stat =
      ReadFileOrEmpty(absl::StrCat("/proc/", pid, "/stat"));
  // Fields after the command name (which may hold spaces) in parentheses.
  const size_t close_paren = stat.rfind(')');
  if (close_paren == std::string::npos) {
    return absl::NotFoundError(absl::StrCat("no /proc/", pid, "/stat"));
  }
  std::vector<std::string> fields =
      absl::StrSplit(stat.substr(close_paren + 2), ' ');
  // fields[0] is field 3 (state); utime is field 14, stime field 15.
  long long utime = 0, stime = 0;
  if (fields.size() < 13 || !absl::SimpleAtoi(fields[11], &utime) ||
      !absl::SimpleAtoi(fields[12], &stime)) {
    return absl::InternalError("cannot parse /proc/pid/stat");
  }
  return utime + stime;
}

absl::StatusOr<long long> RssKiB(pid_t pid) {
  const std::string status =
      ReadFileOrEmpty(absl::StrCat("/proc/", pid, "/status"));
  for (absl::string_view line : absl::StrSplit(status, '\n')) {
    if (absl::ConsumePrefix(&line, "VmRSS:")) {
      line = absl::StripAsciiWhitespace(line);
      absl::ConsumeSuffix(&line, " kB");
      long long kib = 0;
      if (absl::SimpleAtoi(line, &kib)) return kib;
    }
  }
  return absl::NotFoundError(absl::StrCat("no VmRSS for pid ", pid));
}

}  // namespace cmdctl::test

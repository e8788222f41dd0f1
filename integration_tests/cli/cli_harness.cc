#include "integration_tests/cli/cli_harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "glog/logging.h"

namespace cmdctl::test {
namespace {

std::vector<char*> CStrings(const std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (const std::string& s : strings)
    out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

// In a child before exec: the signals a test sends get their default
// actions (the test runner may have started us with some ignored).
void ResetSignalDispositions() {
  for (int signal : {SIGINT, SIGTERM, SIGHUP, SIGPIPE}) {
    ::signal(signal, SIG_DFL);
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
}

int DecodeStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// Waits for `pid` up to `timeout`; true with *status set if it exited.
bool WaitWithTimeout(pid_t pid, absl::Duration timeout, int* status) {
  const absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    const pid_t r = waitpid(pid, status, WNOHANG);
    if (r == pid) return true;
    if (r < 0 && errno != EINTR) return false;
    if (absl::Now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace

ProcessResult RunProcess(const std::vector<std::string>& argv,
                         const std::vector<std::string>& env,
                         absl::Duration timeout) {
  int out_pipe[2], err_pipe[2];
  PCHECK(pipe2(out_pipe, O_CLOEXEC) == 0);
  PCHECK(pipe2(err_pipe, O_CLOEXEC) == 0);
  std::vector<char*> c_argv = CStrings(argv);
  std::vector<char*> c_env = CStrings(env);
  const pid_t pid = fork();
  PCHECK(pid >= 0);
  if (pid == 0) {
    const int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null_fd < 0 || dup2(null_fd, 0) < 0 || dup2(out_pipe[1], 1) < 0 ||
        dup2(err_pipe[1], 2) < 0) {
      _exit(126);
    }
    ResetSignalDispositions();
    execve(c_argv[0], c_argv.data(), c_env.data());
    _exit(127);
  }
  close(out_pipe[1]);
  close(err_pipe[1]);
  ProcessResult result;
  struct pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open_fds = 2;
  const absl::Time deadline = absl::Now() + timeout;
  while (open_fds > 0) {
    const int wait_ms = static_cast<int>(std::max<int64_t>(
        0, absl::ToInt64Milliseconds(deadline - absl::Now())));
    const int n = poll(fds, 2, wait_ms);
    if (n < 0 && errno == EINTR) continue;
    PCHECK(n >= 0);
    if (n == 0) {
      result.timed_out = true;
      kill(pid, SIGKILL);
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buf[65536];
      const ssize_t got = read(fds[i].fd, buf, sizeof(buf));
      if (got > 0) {
        sinks[i]->append(buf, static_cast<size_t>(got));
      } else if (got == 0 || errno != EINTR) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  for (auto& fd : fds) {
    if (fd.fd >= 0) close(fd.fd);
  }
  int status = 0;
  if (!WaitWithTimeout(pid, result.timed_out ? absl::Seconds(10) : timeout,
                       &status)) {
    result.timed_out = true;
    kill(pid, SIGKILL);
    PCHECK(waitpid(pid, &status, 0) == pid);
  }
  result.exit_code = DecodeStatus(status);
  return result;
}

BackgroundProcess::BackgroundProcess(const std::vector<std::string>& argv,
                                     const std::string& log_path,
                                     bool own_process_group) {
  std::vector<char*> c_argv = CStrings(argv);
  const int log_fd =
      open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  PCHECK(log_fd >= 0) << log_path;
  pid_ = fork();
  PCHECK(pid_ >= 0);
  if (pid_ == 0) {
    const int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null_fd < 0 || dup2(null_fd, 0) < 0 || dup2(log_fd, 1) < 0 ||
        dup2(log_fd, 2) < 0) {
      _exit(126);
    }
    // cmdctld blocks SIGTERM itself; start with a default mask either way.
    ResetSignalDispositions();
    if (own_process_group) setpgid(0, 0);
    execv(c_argv[0], c_argv.data());
    _exit(127);
  }
  // Also here, so that the group exists before the caller signals it.
  if (own_process_group) setpgid(pid_, pid_);
  close(log_fd);
}

BackgroundProcess::~BackgroundProcess() { Stop(); }

bool BackgroundProcess::Running() {
  if (status_ != -1) return false;
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) == pid_) {
    status_ = DecodeStatus(status);
    return false;
  }
  return true;
}

int BackgroundProcess::Wait(absl::Duration timeout) {
  if (!Running()) return status_;
  int status = 0;
  if (!WaitWithTimeout(pid_, timeout, &status)) return -1;
  status_ = DecodeStatus(status);
  return status_;
}

int BackgroundProcess::Stop() {
  if (!Running()) return status_;
  kill(pid_, SIGTERM);
  int status = 0;
  if (!WaitWithTimeout(pid_, absl::Seconds(10), &status)) {
    kill(pid_, SIGKILL);
    PCHECK(waitpid(pid_, &status, 0) == pid_);
  }
  status_ = DecodeStatus(status);
  return status_;
}

int UnusedPort() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  PCHECK(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  PCHECK(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  socklen_t len = sizeof(addr);
  PCHECK(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  close(fd);
  return ntohs(addr.sin_port);
}

std::optional<std::string> WaitForLine(const std::string& file,
                                       const std::string& prefix,
                                       BackgroundProcess& process,
                                       absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    // Checked before reading, so that what an exited process wrote is read.
    const bool running = process.Running();
    std::ifstream in(file);
    std::stringstream content;
    content << in.rdbuf();
    const std::string text = content.str();
    size_t start = 0;
    for (size_t nl; (nl = text.find('\n', start)) != std::string::npos;
         start = nl + 1) {
      const std::string line = text.substr(start, nl - start);
      if (line.rfind(prefix, 0) == 0) return line.substr(prefix.size());
    }
    if (!running || absl::Now() > deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace cmdctl::test

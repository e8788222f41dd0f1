#include "os_adapter/monitor.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>
#include <optional>
#include <string>
#include <vector>

#include "os_adapter/fd_passing.h"
#include "os_adapter/launcher_job.h"
#include "os_adapter/launcher_util.h"
#include "os_adapter/monitor_files.h"

namespace cmdctl::launcher {
namespace {

constexpr int kPipeBytes = 1 << 20;  // F_SETPIPE_SZ: fewer wakeups per GiB
constexpr int64_t kBlock = 4096;     // holes are punched in whole blocks
// Without a cgroup, escapees of the process group may keep a pipe open
// after the main process ended; the monitor waits this long for them.
constexpr int kFallbackPipeWaitMs = 2000;

int64_t NowNanos() {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

std::string ReadAt(int dir, const char* name) {
  std::string out;
  const int fd = openat(dir, name, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return out;
  char buf[4096];
  for (;;) {
    const ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return out;
}

bool ReadPopulated(int events_fd) {
  char buf[256];
  const ssize_t n = pread(events_fd, buf, sizeof(buf) - 1, 0);
  if (n <= 0) return true;  // unreadable: keep waiting for the pipes
  buf[n] = '\0';
  const char* p = strstr(buf, "populated ");
  return p == nullptr || p[10] != '0';
}

// One output stream: its pipe, its file, where the next byte goes.
struct Stream {
  int pipe = -1;  // read end (non-blocking), -1 once closed
  int file = -1;  // write fd of the stored file
  int64_t written = 0;
  int64_t punched = 0;  // bytes below this are holes
  bool storing = true;  // false after a failed write: drain and drop
};

class Monitor {
 public:
  Monitor(const LaunchRequest& r, const MonitorSetup& setup,
          MonitorStatus* status)
      : cap_(r.max_output_bytes),
        setup_(setup),
        job_id_(r.job_id),
        status_(status) {
    // With a cap, a splice moves at most cap/16 so that the disk holds at
    // most ~1.125x the cap between two punches (SPEC §6 allows 1.25x).
    splice_max_ = cap_ > 0 ? std::clamp<int64_t>(cap_ / 16, kBlock, kPipeBytes)
                           : kPipeBytes;
  }

  int Run(pid_t job, int out_pipe, int err_pipe, int out_file, int err_file,
          int signal_fd, int cgroup_dir, int notify_fifo);

 private:
  void Drain(int s);
  void Notify();
  void ApplyCap(int s);
  void ReapChildren();
  void KillTree();
  EndReport Finish();

  const int64_t cap_;
  const MonitorSetup setup_;
  const std::string job_id_;
  MonitorStatus* const status_;
  int64_t splice_max_;
  Stream streams_[2];
  int devnull_ = -1;
  int notify_ = -1;  // the notify FIFO, read-write and non-blocking
  int cgroup_ = -1;
  int events_ = -1;
  pid_t job_ = 0;
  bool job_ended_ = false;
  int job_status_ = 0;
};

void Monitor::Drain(int s) {
  Stream& st = streams_[s];
  while (st.pipe >= 0) {
    ssize_t n;
    if (st.storing) {
      loff_t off = st.written;
      n = splice(st.pipe, nullptr, st.file, &off,
                 static_cast<size_t>(splice_max_),
                 SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    } else {
      n = splice(st.pipe, nullptr, devnull_, nullptr,
                 static_cast<size_t>(kPipeBytes), SPLICE_F_NONBLOCK);
    }
    if (n > 0) {
      if (st.storing) {
        st.written += n;
        status_->written[s].store(st.written, std::memory_order_seq_cst);
        ApplyCap(s);
        Notify();
      }
      continue;
    }
    if (n == 0) {  // every writer is gone
      close(st.pipe);
      st.pipe = -1;
      return;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN) return;
    if (!st.storing) {  // even /dev/null failed: stop reading this pipe
      close(st.pipe);
      st.pipe = -1;
      return;
    }
    // Disk full, file too large, an I/O error: the stored stream ends here;
    // the job keeps writing, into nothing.
    st.storing = false;
    status_->incomplete[s].store(1, std::memory_order_release);
  }
}

void Monitor::Notify() {
  // After the store of written[]: a reader that set the wish before it
  // looked at written[] is woken here, or saw the bytes itself.
  if (status_->want_notify.load(std::memory_order_seq_cst) != 0 &&
      status_->want_notify.exchange(0, std::memory_order_seq_cst) != 0) {
    // EAGAIN: the FIFO is full, so a wake-up is pending anyway.
    (void)!write(notify_, "x", 1);
  }
}

void Monitor::ApplyCap(int s) {
  Stream& st = streams_[s];
  if (cap_ <= 0) return;
  const int64_t start = status_->discarded[s].load(std::memory_order_relaxed);
  if (st.written - start <= cap_ + cap_ / 16) return;
  const int64_t new_start = (st.written - cap_) / kBlock * kBlock;
  if (new_start <= start) return;
  // Published first: a reader that loads it after its read knows which of
  // the bytes it read may already be gone.
  status_->discarded[s].store(new_start, std::memory_order_release);
  if (fallocate(st.file, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, st.punched,
                new_start - st.punched) == 0) {
    st.punched = new_start;
  }
}

void Monitor::ReapChildren() {
  for (;;) {
    int wstatus = 0;
    const pid_t pid = waitpid(-1, &wstatus, WNOHANG);
    if (pid < 0 && errno == EINTR) continue;
    if (pid <= 0) return;
    if (pid == job_ && !job_ended_) {
      job_ended_ = true;
      job_status_ = wstatus;
      KillTree();  // the job ends with its main process
    }
  }
}

void Monitor::KillTree() {
  if (cgroup_ >= 0) {
    const int fd = openat(cgroup_, "cgroup.kill", O_WRONLY | O_CLOEXEC);
    if (fd >= 0 && write(fd, "1", 1) == 1) {
      close(fd);
      return;
    }
    if (fd >= 0) close(fd);
    // Before Linux 5.14: one by one. Every process of the tree is our
    // descendant and we reap none meanwhile, so no pid here is recycled.
    const std::string procs = ReadAt(cgroup_, "cgroup.procs");
    for (size_t pos = 0; pos < procs.size();) {
      size_t nl = procs.find('\n', pos);
      if (nl == std::string::npos) nl = procs.size();
      const pid_t pid = atoi(procs.substr(pos, nl - pos).c_str());
      if (pid > 0) kill(pid, SIGKILL);
      pos = nl + 1;
    }
    return;
  }
  kill(-job_, SIGKILL);  // no cgroup: the job's process group
}

EndReport Monitor::Finish() {
  EndReport r;
  if (WIFSIGNALED(job_status_)) {
    r.signaled = true;
    r.signal = WTERMSIG(job_status_);
  } else {
    r.exit_code = WEXITSTATUS(job_status_);
  }
  r.ended_at_ns = NowNanos();
  struct rusage ru = {};
  getrusage(RUSAGE_CHILDREN, &ru);
  r.cpu_user_us = ru.ru_utime.tv_sec * 1000000LL + ru.ru_utime.tv_usec;
  r.cpu_system_us = ru.ru_stime.tv_sec * 1000000LL + ru.ru_stime.tv_usec;
  r.memory_peak_bytes = static_cast<int64_t>(ru.ru_maxrss) * 1024;
  if (cgroup_ >= 0) {
    const std::string cpu = ReadAt(cgroup_, "cpu.stat");
    if (auto v = FlatKeyedValue(cpu, "user_usec")) r.cpu_user_us = *v;
    if (auto v = FlatKeyedValue(cpu, "system_usec")) r.cpu_system_us = *v;
    const std::string peak = ReadAt(cgroup_, "memory.peak");
    if (!peak.empty()) r.memory_peak_bytes = atoll(peak.c_str());
    const std::string events = ReadAt(cgroup_, "memory.events");
    if (auto v = FlatKeyedValue(events, "oom_kill")) r.oom_killed = *v > 0;
    const IoBytes io = SumIoStat(ReadAt(cgroup_, "io.stat"));
    r.io_read_bytes = io.read;
    r.io_write_bytes = io.write;
  }
  for (int s = 0; s < 2; ++s) {
    r.written[s] = status_->written[s].load();
    r.discarded[s] = status_->discarded[s].load();
    r.incomplete[s] = status_->incomplete[s].load() != 0;
  }
  return r;
}

int Monitor::Run(pid_t job, int out_pipe, int err_pipe, int out_file,
                 int err_file, int signal_fd, int cgroup_dir, int notify_fifo) {
  job_ = job;
  notify_ = notify_fifo;
  cgroup_ = cgroup_dir;
  streams_[0].pipe = out_pipe;
  streams_[0].file = out_file;
  streams_[1].pipe = err_pipe;
  streams_[1].file = err_file;
  devnull_ = open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (cgroup_ >= 0) {
    events_ = openat(cgroup_, "cgroup.events", O_RDONLY | O_CLOEXEC);
  }
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  auto add = [ep](int fd, uint32_t events, uint64_t tag) {
    struct epoll_event ev = {};
    ev.events = events;
    ev.data.u64 = tag;
    return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  };
  if (ep < 0 || devnull_ < 0 || add(out_pipe, EPOLLIN, 0) != 0 ||
      add(err_pipe, EPOLLIN, 1) != 0 || add(signal_fd, EPOLLIN, 2) != 0 ||
      (events_ >= 0 && add(events_, EPOLLPRI, 3) != 0)) {
    // Cannot follow the job: it must not run unwatched.
    KillTree();
  }
  bool populated = cgroup_ >= 0;
  int64_t pipe_deadline_ns = 0;
  // A wake for output (most of them: ~21,000 per GiB followed) neither
  // reaps nor reads cgroup.events: reap after a SIGCHLD; read the events
  // after their notification (reading re-arms it) and on every pass once
  // the job has ended, the only time `populated` decides anything.
  bool reap = true, read_events = true;
  for (;;) {
    if (reap) ReapChildren();
    if (events_ >= 0 && (read_events || job_ended_)) {
      populated = ReadPopulated(events_);
    }
    reap = read_events = false;
    const bool pipes_open = streams_[0].pipe >= 0 || streams_[1].pipe >= 0;
    if (job_ended_ && !pipes_open && !populated) break;
    int timeout = -1;
    if (job_ended_ && cgroup_ < 0 && pipes_open) {
      const int64_t now = NowNanos();
      if (pipe_deadline_ns == 0) {
        pipe_deadline_ns = now + kFallbackPipeWaitMs * 1000000LL;
      }
      if (now >= pipe_deadline_ns) {  // escapees hold the pipes: give up
        for (Stream& st : streams_) {
          if (st.pipe >= 0) close(st.pipe);
          st.pipe = -1;
        }
        continue;
      }
      timeout = static_cast<int>((pipe_deadline_ns - now) / 1000000) + 1;
    }
    struct epoll_event events[8];
    const int n = epoll_wait(ep, events, 8, timeout);
    if (n < 0 && errno != EINTR) {
      // Nothing else to wait with: keep going without blocking for long.
      usleep(10000);
    }
    if (n <= 0) reap = read_events = true;  // a timeout or an error: look
    for (int i = 0; i < n; ++i) {
      const uint64_t tag = events[i].data.u64;
      if (tag <= 1) {
        Drain(static_cast<int>(tag));
      } else if (tag == 2) {
        struct signalfd_siginfo info[8];
        while (read(signal_fd, info, sizeof(info)) > 0) {
        }
        reap = true;
      } else {
        read_events = true;
      }
    }
  }
  EndReport report = Finish();
  const std::string text = EncodeEndReport(report);
  const int fd = openat(setup_.run_dir, "end.tmp",
                        O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  bool written = fd >= 0 && write(fd, text.data(), text.size()) ==
                                static_cast<ssize_t>(text.size());
  if (fd >= 0) close(fd);
  written = written && renameat(setup_.run_dir, "end.tmp", setup_.run_dir,
                                kEndFileName) == 0;
  if (cgroup_ >= 0) {
    close(cgroup_);
    if (events_ >= 0) close(events_);
    unlinkat(setup_.cgroup_parent, job_id_.c_str(), AT_REMOVEDIR);
  }
  return written ? 0 : 1;
}

// The notify FIFO, opened read-write so that it never blocks us nor gives
// EOF to the host while we live.
int CreateNotifyFifo(int run_dir) {
  if (mkfifoat(run_dir, kNotifyFifoName, 0600) != 0) {
    Fail(LaunchStage::kMonitor, errno);
  }
  const int fd =
      openat(run_dir, kNotifyFifoName, O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) Fail(LaunchStage::kMonitor, errno);
  return fd;
}

MonitorStatus* CreateStatusPage(int run_dir) {
  const int fd = openat(run_dir, kStatusFileName,
                        O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) Fail(LaunchStage::kMonitor, errno);
  if (ftruncate(fd, kStatusFileSize) != 0) Fail(LaunchStage::kMonitor, errno);
  void* page =
      mmap(nullptr, kStatusFileSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (page == MAP_FAILED) Fail(LaunchStage::kMonitor, errno);
  close(fd);
  auto* status = new (page) MonitorStatus();
  status->magic = MonitorStatus::kMagic;
  status->size = sizeof(MonitorStatus);
  return status;
}

// Waits for the job's child after a failed start (so its cgroup is empty
// when the host removes it), then reports and exits.
[[noreturn]] void FailStart(pid_t child, const LaunchReply& reply) {
  kill(child, SIGKILL);
  int wstatus;
  while (waitpid(child, &wstatus, 0) < 0 && errno == EINTR) {
  }
  if (reply.kind == LaunchReply::kFailed) {
    Fail(static_cast<LaunchStage>(reply.stage), reply.error);
  }
  Fail(LaunchStage::kProtocol, EPROTO);
}

}  // namespace

int RunMonitor(LaunchRequest& r, const MonitorSetup& setup) {
  int cgroup = -1, procs = -1;
  if (setup.cgroup_parent >= 0) {
    cgroup = openat(setup.cgroup_parent, r.job_id.c_str(),
                    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (cgroup < 0) Fail(LaunchStage::kCgroup, errno);
    procs = openat(cgroup, "cgroup.procs", O_WRONLY | O_CLOEXEC);
    if (procs < 0) Fail(LaunchStage::kCgroup, errno);
  }
  MonitorStatus* status = CreateStatusPage(setup.run_dir);
  const int notify = CreateNotifyFifo(setup.run_dir);
  int out[2], err[2], sv[2];
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0 ||
      socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    Fail(LaunchStage::kMonitor, errno);
  }
  fcntl(out[0], F_SETPIPE_SZ, kPipeBytes);  // best effort
  fcntl(err[0], F_SETPIPE_SZ, kPipeBytes);
  // The tree's orphans come to us; SIGCHLD arrives as a readable fd.
  sigset_t chld, none;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigemptyset(&none);
  const int signal_fd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
  if (signal_fd < 0 || sigprocmask(SIG_BLOCK, &chld, nullptr) != 0 ||
      prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
    Fail(LaunchStage::kMonitor, errno);
  }
  const pid_t child = fork();
  if (child < 0) Fail(LaunchStage::kMonitor, errno);
  if (child == 0) {
    signal(SIGPIPE, SIG_DFL);  // ignored dispositions survive execve
    sigprocmask(SIG_SETMASK, &none, nullptr);
    close(sv[0]);
    close(out[0]);
    close(err[0]);
    RunJobChild(r,
                JobChildSetup{sv[1], procs, setup.output_root, out[1], err[1]});
  }
  close(sv[1]);
  close(out[1]);
  close(err[1]);
  if (procs >= 0) close(procs);
  status->job_pid.store(child, std::memory_order_release);

  // The child's reports: its output files, then its exec (EOF) or failure.
  LaunchReply reply;
  std::vector<int> files;
  bool truncated = false;
  ssize_t n = ReceiveWithFds(sv[0], &reply, sizeof(reply), &files, &truncated);
  if (n != sizeof(reply) || reply.kind != LaunchReply::kOutputReady ||
      files.size() != 4) {
    for (int fd : files) close(fd);
    FailStart(child, n == sizeof(reply) ? reply : LaunchReply{});
  }
  LaunchReply ready;
  ready.kind = LaunchReply::kOutputReady;
  Reply(ready, files.data() + 2, 2);  // the read fds, for the host
  close(files[2]);
  close(files[3]);
  std::vector<int> none_expected;
  n = ReceiveWithFds(sv[0], &reply, sizeof(reply), &none_expected, &truncated);
  for (int fd : none_expected) close(fd);
  if (n != 0) FailStart(child, n == sizeof(reply) ? reply : LaunchReply{});
  close(sv[0]);
  LaunchReply started;
  started.kind = LaunchReply::kStarted;
  started.pid = child;
  Reply(started);
  close(kLauncherSocketFd);  // the host follows us by pidfd from now on
  SetReportSocket(-1);

  Monitor monitor(r, setup, status);
  for (int s : {out[0], err[0]}) {
    fcntl(s, F_SETFL, fcntl(s, F_GETFL) | O_NONBLOCK);
  }
  return monitor.Run(child, out[0], err[0], files[0], files[1], signal_fd,
                     cgroup, notify);
}

}  // namespace cmdctl::launcher

// cmdctl_bench_inotify_cost: what an IN_MODIFY watch on a job's output file
// costs while a fast writer fills it, with nobody reading the data: the
// writer's CPU and wall time, and the CPU and wake-ups of a watcher that
// drains inotify through epoll as cmdctld's host loop does.
//
//   cmdctl_bench_inotify_cost FILE [BYTES]   (default 1 GiB)
//
// Runs `head -c BYTES /dev/zero > FILE` without, then with, a watch on FILE
// and prints one line for each. FILE is removed afterwards.
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "bench/measure.h"

namespace cmdctl::bench {
namespace {

double CpuSeconds(const rusage& r) {
  return r.ru_utime.tv_sec + r.ru_utime.tv_usec / 1e6 + r.ru_stime.tv_sec +
         r.ru_stime.tv_usec / 1e6;
}

int Measure(const std::string& path, long long bytes, bool watch) {
  unlink(path.c_str());
  int fd = open(path.c_str(), O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    perror(path.c_str());
    return 1;
  }
  close(fd);
  int in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  epoll_ctl(ep, EPOLL_CTL_ADD, in, &ev);
  if (watch && inotify_add_watch(in, path.c_str(), IN_MODIFY) < 0) {
    perror("inotify_add_watch");
    return 1;
  }
  rusage self0{};
  getrusage(RUSAGE_SELF, &self0);
  auto t0 = Clock::now();
  absl::StatusOr<pid_t> pid = Spawn(
      {"sh", "-c",
       "head -c " + std::to_string(bytes) + " /dev/zero > '" + path + "'"});
  if (!pid.ok()) return 1;
  long wakeups = 0, events = 0;
  alignas(inotify_event) char buf[8192];
  int status = 0;
  for (;;) {
    epoll_event e;
    if (epoll_wait(ep, &e, 1, 20) > 0) {
      ++wakeups;
      ssize_t n;
      while ((n = read(in, buf, sizeof buf)) > 0) {
        events += n / static_cast<ssize_t>(sizeof(inotify_event));
      }
    }
    rusage child{};
    if (wait4(*pid, &status, WNOHANG, &child) == *pid) {
      double wall = SecondsSince(t0);
      rusage self1{};
      getrusage(RUSAGE_SELF, &self1);
      printf(
          "watch=%-3s writer: %.2f s wall, %.2f s CPU; watcher: %.3f s CPU, "
          "%ld wake-ups, %ld events\n",
          watch ? "yes" : "no", wall, CpuSeconds(child),
          CpuSeconds(self1) - CpuSeconds(self0), wakeups, events);
      break;
    }
  }
  close(in);
  close(ep);
  unlink(path.c_str());
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}

}  // namespace
}  // namespace cmdctl::bench

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    fprintf(stderr, "usage: cmdctl_bench_inotify_cost FILE [BYTES]\n");
    return 2;
  }
  long long bytes = argc == 3 ? atoll(argv[2]) : 1LL << 30;
  int rc = cmdctl::bench::Measure(argv[1], bytes, false);
  return rc | cmdctl::bench::Measure(argv[1], bytes, true);
}

// cmdctl_bench_job: the program the benchmarks run as a job, under cmdctld
// and under sshd alike, so both paths carry exactly the same bytes.
//
//   cmdctl_bench_job ticks DELAY_MS COUNT INTERVAL_US
//       Sleeps DELAY_MS (so a follower can attach), then writes COUNT lines,
//       each "<CLOCK_MONOTONIC nanoseconds>\n" in one write(2), INTERVAL_US
//       apart. The reader subtracts the value from its own CLOCK_MONOTONIC on
//       receipt (same host, same clock): that is the follow latency.
//   cmdctl_bench_job gate PATH BYTES
//       Waits until PATH exists (checked every 10 ms, at most 10 minutes),
//       then writes BYTES bytes of PatternByte(i) to stdout and exits 0.
//   cmdctl_bench_job term
//       Waits for SIGTERM and exits 0 on it.
//
// Plain POSIX on purpose: no library start-up cost, nothing that buffers.
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cstdint>

#include "bench/pattern.h"

namespace {

int64_t MonotonicNanos() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

bool WriteAll(const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = write(STDOUT_FILENO, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

void SleepUntil(int64_t deadline_ns) {
  struct timespec ts;
  ts.tv_sec = deadline_ns / 1000000000;
  ts.tv_nsec = deadline_ns % 1000000000;
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) ==
         EINTR) {
  }
}

int Ticks(long delay_ms, long count, long interval_us) {
  int64_t next = MonotonicNanos() + int64_t{delay_ms} * 1000000;
  for (long i = 0; i < count; ++i) {
    SleepUntil(next);
    char line[32];
    int len = snprintf(line, sizeof line, "%lld\n",
                       static_cast<long long>(MonotonicNanos()));
    if (!WriteAll(line, static_cast<size_t>(len))) return 1;
    next += int64_t{interval_us} * 1000;
  }
  return 0;
}

int Gate(const char* path, long long bytes) {
  for (int i = 0; access(path, F_OK) != 0; ++i) {
    if (i > 60000) return 3;  // 10 minutes: the bench is gone.
    SleepUntil(MonotonicNanos() + 10000000);
  }
  static char buf[1 << 16];
  long long offset = 0;
  while (offset < bytes) {
    size_t n = sizeof buf;
    if (static_cast<long long>(n) > bytes - offset) {
      n = static_cast<size_t>(bytes - offset);
    }
    for (size_t j = 0; j < n; ++j) {
      buf[j] = static_cast<char>(
          cmdctl::bench::PatternByte(static_cast<uint64_t>(offset) + j));
    }
    if (!WriteAll(buf, n)) return 1;
    offset += static_cast<long long>(n);
  }
  return 0;
}

void OnTerm(int) { _exit(0); }

int Term() {
  signal(SIGTERM, OnTerm);
  for (;;) pause();
}

int Usage() {
  fprintf(stderr,
          "usage: cmdctl_bench_job ticks DELAY_MS COUNT INTERVAL_US\n"
          "       cmdctl_bench_job gate PATH BYTES\n"
          "       cmdctl_bench_job term\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 5 && strcmp(argv[1], "ticks") == 0) {
    return Ticks(atol(argv[2]), atol(argv[3]), atol(argv[4]));
  }
  if (argc == 4 && strcmp(argv[1], "gate") == 0) {
    return Gate(argv[2], atoll(argv[3]));
  }
  if (argc == 2 && strcmp(argv[1], "term") == 0) return Term();
  return Usage();
}

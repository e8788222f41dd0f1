// What a job's monitor (the cmdctl-launcher process that stays the job's
// parent, monitor.h) leaves in its state directory,
// <state_dir>/jobs/<job_id>/, for the host to read, whether or not the host
// (cmdctld) runs meanwhile:
//   status  one page the monitor keeps current and the host maps read-only
//           (MonitorStatus): each stream's bytes written and dropped, and
//           whether a write failed;
//   end     the job's end (EndReport), written once the whole tree is gone,
//           atomically (a temporary file renamed into place);
//   notify  a FIFO: the monitor writes a byte to it when the job's output
//           grew while a reader waited (want_notify), so that waiting
//           readers cost nothing per write otherwise;
//   host_state  what the host wrote before the launch (its description of
//           the job), so that it can clean up a job it has no record of.
// The directory is root's (mode 0700): the job's user cannot touch it.
//
// Plain C++ without Abseil: the launcher links nothing but libc.
#ifndef CMDCTL_OS_ADAPTER_MONITOR_FILES_H_
#define CMDCTL_OS_ADAPTER_MONITOR_FILES_H_

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>

namespace cmdctl {

inline constexpr char kStatusFileName[] = "status";
inline constexpr char kEndFileName[] = "end";
inline constexpr char kHostStateFileName[] = "host_state";
inline constexpr char kNotifyFifoName[] = "notify";

// The shared page. The monitor is the only writer of the counters: each is
// stored after the bytes it counts are in the file; readers load them.
// written[s] only grows; discarded[s] only grows and is stored BEFORE the
// bytes below it are dropped, so a reader that loads it after a read knows
// which of the bytes it read were still there.
//
// want_notify is the readers' (the host's): a reader about to wait sets it,
// then looks at written[]; the monitor stores written[] after each write,
// then takes want_notify and, if it was set, writes a byte to the notify
// FIFO. All four accesses are sequentially consistent, so either the reader
// sees the new bytes or the monitor sees the wish: no wake-up is lost.
struct MonitorStatus {
  static constexpr uint32_t kMagic = 0x6d6f6e31;  // "mon1"
  uint32_t magic;
  uint32_t size;  // sizeof(MonitorStatus)
  std::atomic<int64_t> written[2];
  std::atomic<int64_t> discarded[2];
  std::atomic<uint32_t> incomplete[2];  // 1: a write of the stream failed
  std::atomic<int32_t> job_pid;         // the job's main process (its pgid)
  std::atomic<uint32_t> want_notify;    // 1: a reader waits for more
};
static_assert(std::atomic<int64_t>::is_always_lock_free);
static_assert(std::atomic<uint32_t>::is_always_lock_free);
static_assert(std::atomic<int32_t>::is_always_lock_free);
inline constexpr size_t kStatusFileSize = 4096;
static_assert(sizeof(MonitorStatus) <= kStatusFileSize);

// How the job ended, as its monitor saw it.
struct EndReport {
  bool signaled = false;
  int exit_code = 0;
  int signal = 0;
  int64_t ended_at_ns = 0;  // CLOCK_REALTIME when the tree was gone
  int64_t cpu_user_us = 0;
  int64_t cpu_system_us = 0;
  int64_t memory_peak_bytes = 0;
  int64_t io_read_bytes = 0;
  int64_t io_write_bytes = 0;
  bool oom_killed = false;
  int64_t written[2] = {0, 0};
  int64_t discarded[2] = {0, 0};
  bool incomplete[2] = {false, false};
};

// "key=value" lines; Decode accepts exactly what Encode writes (any other
// text, a truncated file included, is nullopt).
std::string EncodeEndReport(const EndReport& report);
std::optional<EndReport> DecodeEndReport(const std::string& text);

// Parsers of cgroup v2 files, shared by the monitor (the final usage) and
// the host (the live usage).
// The value of `key` in a flat-keyed file ("key value" lines, e.g. cpu.stat,
// memory.events); nullopt when absent or not a number.
std::optional<int64_t> FlatKeyedValue(const std::string& text,
                                      const std::string& key);
// io.stat's rbytes and wbytes summed over every device line.
struct IoBytes {
  int64_t read = 0;
  int64_t write = 0;
};
IoBytes SumIoStat(const std::string& text);

}  // namespace cmdctl

#endif  // CMDCTL_OS_ADAPTER_MONITOR_FILES_H_

// The host's own state of each job it holds (monitor_files.h says what a
// monitor keeps there): <state_dir>/jobs/<job_id>/, root's, mode 0700.
// Nothing here is a path the job's user controls.
#ifndef CMDCTL_OS_ADAPTER_RUN_DIR_H_
#define CMDCTL_OS_ADAPTER_RUN_DIR_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/unique_fd.h"
#include "os_adapter/monitor_files.h"

namespace cmdctl {

class RunDirectory {
 public:
  // Opens <state_dir>/jobs, making it (0700) if missing. FAILED_PRECONDITION
  // when state_dir is not a directory owned by this process's user and
  // writable by nobody else.
  static absl::StatusOr<std::unique_ptr<RunDirectory>> Open(
      const std::string& state_dir);

  int fd() const { return dir_.get(); }

  // Makes and opens the directory of a new job. ALREADY_EXISTS when it
  // exists; RESOURCE_EXHAUSTED (disk full) or INTERNAL otherwise.
  absl::StatusOr<UniqueFd> Create(const std::string& job_id);
  // Opens a job's directory. NOT_FOUND when there is none.
  absl::StatusOr<UniqueFd> OpenJob(const std::string& job_id);
  // Removes a job's directory and what is in it. OK when already gone.
  absl::Status Remove(const std::string& job_id);
  // The job ids that have a directory.
  std::vector<std::string> List();

  // The host state file of a job directory, replaced atomically.
  static absl::Status WriteHostState(int job_dir, const std::string& text);
  static absl::StatusOr<std::string> ReadHostState(int job_dir);
  // The monitor's end report; nullopt when absent or unreadable.
  static std::optional<EndReport> ReadEnd(int job_dir);
  // The read end of the monitor's notify FIFO (non-blocking).
  static absl::StatusOr<UniqueFd> OpenNotify(int job_dir);

 private:
  explicit RunDirectory(UniqueFd dir) : dir_(std::move(dir)) {}
  const UniqueFd dir_;
};

// The monitor's status page, mapped shared: the host reads the counters
// and sets want_notify. Thread-safe (atomics).
class MonitorStatusPage {
 public:
  // Maps <job_dir>/status. NOT_FOUND when there is none yet; INTERNAL when
  // it is not a status page.
  static absl::StatusOr<std::shared_ptr<MonitorStatusPage>> Map(int job_dir);
  ~MonitorStatusPage();
  MonitorStatusPage(const MonitorStatusPage&) = delete;
  MonitorStatusPage& operator=(const MonitorStatusPage&) = delete;

  const MonitorStatus& status() const { return *status_; }
  // Asks the monitor for a byte on the notify FIFO at the next growth.
  void WantNotify() const {
    status_->want_notify.store(1, std::memory_order_seq_cst);
  }

 private:
  explicit MonitorStatusPage(MonitorStatus* status) : status_(status) {}
  MonitorStatus* const status_;
};

}  // namespace cmdctl

#endif  // CMDCTL_OS_ADAPTER_RUN_DIR_H_

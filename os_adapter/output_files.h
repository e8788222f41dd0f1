// A job's stored output as the host reads it: read-only fds of its two
// files and what says which of their bytes are the job's output (the
// monitor's status page while the job runs, its final totals once it has
// ended), and the OutputReader over them.
//
// The host never opens a path the user controls as root: the fds came from
// the job's monitor or from a helper acting as the user, and reads are
// preads of them. The files are the user's, who may truncate them or punch
// holes in them: a read that finds fewer bytes than the job wrote, or a hole
// in the stored part, is DATA_LOSS for that stream, never another file's
// bytes and never a wait for bytes that will not come.
#ifndef CMDCTL_OS_ADAPTER_OUTPUT_FILES_H_
#define CMDCTL_OS_ADAPTER_OUTPUT_FILES_H_

#include <array>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/unique_fd.h"
#include "domain/process_host.h"
#include "domain/types.h"
#include "os_adapter/run_dir.h"

namespace cmdctl {

// The two files, shared by the host's record of the job and its readers.
// Immutable; thread-safe.
class JobOutputFiles {
 public:
  // A running job's: `page` says how far each stream is written and from
  // where it is still stored.
  JobOutputFiles(UniqueFd stdout_fd, UniqueFd stderr_fd,
                 std::shared_ptr<const MonitorStatusPage> page)
      : fds_{std::move(stdout_fd), std::move(stderr_fd)},
        page_(std::move(page)) {}
  // An ended job's, with its final totals.
  JobOutputFiles(UniqueFd stdout_fd, UniqueFd stderr_fd,
                 const std::array<StreamTotals, 2>& totals)
      : fds_{std::move(stdout_fd), std::move(stderr_fd)}, totals_(totals) {}

  int fd(OutputStream stream) const { return fds_[StreamIndex(stream)].get(); }
  // /proc/self/fd/<fd>: a path inotify resolves to the open file itself.
  std::string ProcPath(OutputStream stream) const;

  // [first stored byte, bytes written) now; no system call.
  StreamWindow Window(OutputStream stream) const;
  // The totals now (written, discarded, incomplete).
  std::array<StreamTotals, 2> Totals() const;
  // Arms the monitor's notification (OutputReader::Watch); a no-op for an
  // ended job's files.
  void Watch() const {
    if (page_ != nullptr) page_->WantNotify();
  }

 private:
  const UniqueFd fds_[2];
  const std::shared_ptr<const MonitorStatusPage> page_;  // null once ended
  const std::array<StreamTotals, 2> totals_ = {};
};

// An OutputReader over a job's files.
class FileOutputReader final : public OutputReader {
 public:
  explicit FileOutputReader(std::shared_ptr<const JobOutputFiles> files)
      : files_(std::move(files)) {}

  absl::StatusOr<StreamWindow> Window(OutputStream stream) override;
  absl::StatusOr<ReadResult> Read(OutputStream stream, int64_t offset,
                                  absl::Span<char> buffer) override;
  absl::Status Watch() override {
    files_->Watch();
    return absl::OkStatus();
  }

 private:
  // DATA_LOSS unless bytes [from, end) of the stream are all in its file
  // (no hole the cap did not punch) and the file is not shorter than `end`.
  absl::Status CheckStored(OutputStream stream, int64_t from, int64_t end);

  const std::shared_ptr<const JobOutputFiles> files_;
};

}  // namespace cmdctl

#endif  // CMDCTL_OS_ADAPTER_OUTPUT_FILES_H_

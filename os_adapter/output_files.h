// A job's stored output as the host reads it: the read-only fds of its two
// files (which the launcher made as the user and sent back), and the
// OutputReader over them. The host never opens a path the user controls:
// it only preads these fds, so a file swapped for a symlink is never served.
#ifndef CMDCTL_OS_ADAPTER_OUTPUT_FILES_H_
#define CMDCTL_OS_ADAPTER_OUTPUT_FILES_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/unique_fd.h"
#include "domain/process_host.h"
#include "domain/types.h"

namespace cmdctl {

// The two files, shared by the host's record of the job and its readers.
// Immutable; thread-safe.
class JobOutputFiles {
 public:
  JobOutputFiles(UniqueFd stdout_fd, UniqueFd stderr_fd)
      : fds_{std::move(stdout_fd), std::move(stderr_fd)} {}

  int fd(OutputStream stream) const {
    return fds_[stream == OutputStream::kStdout ? 0 : 1].get();
  }
  // /proc/self/fd/<fd>: a path inotify resolves to the open file itself.
  std::string ProcPath(OutputStream stream) const;

 private:
  const UniqueFd fds_[2];
};

// An OutputReader over a job's files. `watch` arms the job's notification.
class FileOutputReader final : public OutputReader {
 public:
  FileOutputReader(std::shared_ptr<const JobOutputFiles> files,
                   std::function<absl::Status()> watch)
      : files_(std::move(files)), watch_(std::move(watch)) {}

  absl::StatusOr<StreamWindow> Window(OutputStream stream) override;
  absl::StatusOr<ReadResult> Read(OutputStream stream, int64_t offset,
                                  absl::Span<char> buffer) override;
  absl::Status Watch() override { return watch_(); }

 private:
  const std::shared_ptr<const JobOutputFiles> files_;
  const std::function<absl::Status()> watch_;
};

}  // namespace cmdctl

#endif  // CMDCTL_OS_ADAPTER_OUTPUT_FILES_H_

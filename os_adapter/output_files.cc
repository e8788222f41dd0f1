#include "os_adapter/output_files.h"

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "common/errno_status.h"

namespace cmdctl {

std::string JobOutputFiles::ProcPath(OutputStream stream) const {
  return absl::StrCat("/proc/self/fd/", fd(stream));
}

absl::StatusOr<StreamWindow> FileOutputReader::Window(OutputStream stream) {
  struct stat st;
  if (fstat(files_->fd(stream), &st) != 0) {
    return ErrnoStatus(errno, "fstat of job output", ErrnoCause::kMachinery);
  }
  return StreamWindow{0, static_cast<int64_t>(st.st_size)};
}

absl::StatusOr<ReadResult> FileOutputReader::Read(OutputStream stream,
                                                  int64_t offset,
                                                  absl::Span<char> buffer) {
  if (offset < 0) return absl::InvalidArgumentError("negative offset");
  ssize_t n;
  do {
    n = pread(files_->fd(stream), buffer.data(), buffer.size(),
              static_cast<off_t>(offset));
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    return ErrnoStatus(errno, "reading job output", ErrnoCause::kMachinery);
  }
  return ReadResult{offset, static_cast<size_t>(n)};
}

}  // namespace cmdctl

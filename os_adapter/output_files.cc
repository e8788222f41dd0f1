#include "os_adapter/output_files.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/errno_status.h"

namespace cmdctl {
namespace {

const char* Name(OutputStream stream) {
  return stream == OutputStream::kStdout ? "stdout" : "stderr";
}

absl::Status Tampered(OutputStream stream) {
  return absl::DataLossError(absl::StrCat(
      "the job's ", Name(stream),
      " file was truncated or changed by its owner: the output is lost"));
}

}  // namespace

std::string JobOutputFiles::ProcPath(OutputStream stream) const {
  return absl::StrCat("/proc/self/fd/", fd(stream));
}

StreamWindow JobOutputFiles::Window(OutputStream stream) const {
  const int s = StreamIndex(stream);
  if (page_ == nullptr) {
    return StreamWindow{totals_[s].discarded, totals_[s].written};
  }
  const MonitorStatus& status = page_->status();
  // The end first: every byte below it is in the file; the start after it,
  // so a window is never inverted by a punch in between. (Sequentially
  // consistent: a waiting reader set want_notify before; monitor_files.h.)
  const int64_t end = status.written[s].load(std::memory_order_seq_cst);
  const int64_t start = status.discarded[s].load(std::memory_order_acquire);
  return StreamWindow{std::min(start, end), end};
}

std::array<StreamTotals, 2> JobOutputFiles::Totals() const {
  if (page_ == nullptr) return totals_;
  std::array<StreamTotals, 2> totals;
  const MonitorStatus& status = page_->status();
  for (int s = 0; s < 2; ++s) {
    totals[s].written = status.written[s].load(std::memory_order_acquire);
    totals[s].discarded = status.discarded[s].load(std::memory_order_acquire);
    totals[s].incomplete =
        status.incomplete[s].load(std::memory_order_acquire) != 0;
  }
  return totals;
}

absl::Status FileOutputReader::CheckStored(OutputStream stream, int64_t from,
                                           int64_t end) {
  const int fd = files_->fd(stream);
  while (from < end) {
    // The first hole at or after `from`; the end of the file counts as one.
    // (Only [from, end) is looked at: the cost follows the read, not the
    // file.)
    const off_t hole = lseek(fd, from, SEEK_HOLE);
    if (hole < 0 && errno != ENXIO) {
      return ErrnoStatus(errno, "seeking in job output",
                         ErrnoCause::kMachinery);
    }
    if (hole >= end) return absl::OkStatus();
    // A hole before `end`: the cap's, if it dropped more meanwhile.
    const int64_t start = files_->Window(stream).start;
    if (start <= from) return Tampered(stream);
    from = start;
  }
  // Nothing to look for holes in; the size still tells of a truncation.
  struct stat st;
  if (fstat(fd, &st) != 0) {
    return ErrnoStatus(errno, "fstat of job output", ErrnoCause::kMachinery);
  }
  return st.st_size < end ? Tampered(stream) : absl::OkStatus();
}

absl::StatusOr<StreamWindow> FileOutputReader::Window(OutputStream stream) {
  const StreamWindow window = files_->Window(stream);
  if (absl::Status stored = CheckStored(stream, window.end, window.end);
      !stored.ok()) {
    return stored;
  }
  return window;
}

absl::StatusOr<ReadResult> FileOutputReader::Read(OutputStream stream,
                                                  int64_t offset,
                                                  absl::Span<char> buffer) {
  if (offset < 0) return absl::InvalidArgumentError("negative offset");
  const StreamWindow window = files_->Window(stream);
  int64_t from = std::max(offset, window.start);
  if (from >= window.end || buffer.empty()) return ReadResult{from, 0};
  const size_t want =
      std::min<size_t>(buffer.size(), static_cast<size_t>(window.end - from));
  ssize_t n;
  do {
    n = pread(files_->fd(stream), buffer.data(), want,
              static_cast<off_t>(from));
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    return ErrnoStatus(errno, "reading job output", ErrnoCause::kMachinery);
  }
  // Fewer bytes than the job wrote there: the file was truncated.
  if (static_cast<size_t>(n) < want) return Tampered(stream);
  size_t size = static_cast<size_t>(n);
  // Bytes the cap dropped during the read are not the job's any more.
  const int64_t start = files_->Window(stream).start;
  if (start > from) {
    const size_t skip =
        std::min<size_t>(size, static_cast<size_t>(start - from));
    memmove(buffer.data(), buffer.data() + skip, size - skip);
    size -= skip;
    from += static_cast<int64_t>(skip);
  }
  if (absl::Status stored =
          CheckStored(stream, from, from + static_cast<int64_t>(size));
      !stored.ok()) {
    return stored;
  }
  return ReadResult{from, size};
}

}  // namespace cmdctl

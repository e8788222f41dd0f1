#include "os_adapter/output_space.h"

#include <cmath>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/units.h"

namespace cmdctl {
namespace {

constexpr double kMaxPercent = 50;

}  // namespace

absl::StatusOr<OutputSpaceFloor> ParseOutputSpaceFloor(absl::string_view text,
                                                       int64_t inodes) {
  OutputSpaceFloor floor;
  absl::string_view s = absl::StripAsciiWhitespace(text);
  if (absl::ConsumeSuffix(&s, "%")) {
    double percent = 0;
    if (!absl::SimpleAtod(s, &percent) || !(percent >= 0) ||
        percent > kMaxPercent) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--min_free_output_space: a size (256M) or a share of the file "
          "system (1%, at most 50%), not ",
          text));
    }
    floor.percent = percent;
  } else {
    absl::StatusOr<int64_t> bytes = ParseByteSize(s, "--min_free_output_space");
    if (!bytes.ok()) return bytes.status();
    floor.bytes = *bytes;
  }
  if (floor.bytes > 0 || floor.percent > 0) floor.inodes = inodes;
  return floor;
}

absl::Status CheckOutputSpace(const struct statvfs& st,
                              const OutputSpaceFloor& floor,
                              absl::string_view where) {
  const double block = static_cast<double>(st.f_frsize);
  const int64_t free_bytes =
      static_cast<int64_t>(static_cast<double>(st.f_bavail) * block);
  int64_t want_bytes = floor.bytes;
  std::string want_text = FormatByteSize(floor.bytes);
  if (floor.percent > 0) {
    const double size = static_cast<double>(st.f_blocks) * block;
    want_bytes = static_cast<int64_t>(std::ceil(size * floor.percent / 100));
    want_text = absl::StrCat(floor.percent, "% of ",
                             FormatByteSize(static_cast<int64_t>(size)));
  }
  // f_files 0: the file system does not count inodes (btrfs, some FUSE).
  const bool counts_inodes = st.f_files > 0;
  const int64_t free_inodes = static_cast<int64_t>(st.f_favail);
  const bool short_of_space = want_bytes > 0 && free_bytes < want_bytes;
  const bool short_of_inodes =
      counts_inodes && floor.inodes > 0 && free_inodes < floor.inodes;
  if (!short_of_space && !short_of_inodes) return absl::OkStatus();
  std::string message = absl::StrCat("no room for job output on ", where, ": ");
  if (short_of_space) {
    absl::StrAppend(&message, FormatByteSize(free_bytes),
                    " free, the floor is ", want_text);
  } else {
    absl::StrAppend(&message, free_inodes, " inodes free, the floor is ",
                    floor.inodes);
  }
  absl::StrAppend(&message, " (--min_free_output_space)");
  return absl::ResourceExhaustedError(message);
}

absl::Status CheckOutputSpaceOf(int dir_fd, const std::string& path,
                                const OutputSpaceFloor& floor,
                                absl::string_view where) {
  if (floor.none()) return absl::OkStatus();
  struct statvfs st;
  const int rc =
      dir_fd >= 0 ? fstatvfs(dir_fd, &st) : statvfs(path.c_str(), &st);
  if (rc != 0) return absl::OkStatus();
  return CheckOutputSpace(st, floor, where);
}

}  // namespace cmdctl

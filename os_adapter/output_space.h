// The free space a job's output file system must have before a start
// (issue 14; docs/OS_ADAPTER.md): below the floor, a job would start only to
// lose its output, so Start is RESOURCE_EXHAUSTED naming the file system.
// What a job writes once started is never limited by this (the monitor
// marks a stream that hit a full disk incomplete and drops the rest).
#ifndef CMDCTL_OS_ADAPTER_OUTPUT_SPACE_H_
#define CMDCTL_OS_ADAPTER_OUTPUT_SPACE_H_

#include <sys/statvfs.h>

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace cmdctl {

struct OutputSpaceFloor {
  // Free space for unprivileged users (statvfs f_bavail): at least `bytes`,
  // or, when `percent` > 0, that share of the file system's size. 0: none.
  int64_t bytes = 0;
  double percent = 0;
  // Free inodes (f_favail), where the file system counts them (a job makes
  // three: its directory and two files). 0: none.
  int64_t inodes = 0;

  bool none() const { return bytes <= 0 && percent <= 0 && inodes <= 0; }
};

// The floor of cmdctld's --min_free_output_space: "256M" (a size, as
// ParseByteSize), "1%" (a share of the size, up to 50%), or "0" (no check).
// Any floor also wants `inodes` free inodes.
absl::StatusOr<OutputSpaceFloor> ParseOutputSpaceFloor(absl::string_view text,
                                                       int64_t inodes);

// OK when `st` (a statvfs of the output file system) is above `floor`;
// else RESOURCE_EXHAUSTED: "no room for job output on <where>: ... free,
// the floor is ... (--min_free_output_space)".
absl::Status CheckOutputSpace(const struct statvfs& st,
                              const OutputSpaceFloor& floor,
                              absl::string_view where);

// The same for the file system of the open directory `dir_fd` (>= 0), else
// of `path`. A file system that cannot be asked (statvfs fails) passes: the
// start then says what is wrong with it.
absl::Status CheckOutputSpaceOf(int dir_fd, const std::string& path,
                                const OutputSpaceFloor& floor,
                                absl::string_view where);

}  // namespace cmdctl

#endif  // CMDCTL_OS_ADAPTER_OUTPUT_SPACE_H_

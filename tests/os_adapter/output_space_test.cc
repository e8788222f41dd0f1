// The output file system's floor (--min_free_output_space, issue 14): its
// flag's forms and the check against a file system's statvfs figures.
#include "os_adapter/output_space.h"

#include <sys/statvfs.h>

#include <cstring>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cmdctl {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kMiB = 1024 * 1024;

// A file system of `size` bytes with `free` bytes and `free_inodes` inodes
// free (of 100000), in 4 KiB blocks.
struct statvfs Fs(int64_t size, int64_t free, int64_t free_inodes = 50000) {
  struct statvfs st;
  std::memset(&st, 0, sizeof(st));
  st.f_frsize = st.f_bsize = 4096;
  st.f_blocks = size / 4096;
  st.f_bfree = st.f_bavail = free / 4096;
  st.f_files = 100000;
  st.f_ffree = st.f_favail = free_inodes;
  return st;
}

TEST(OutputSpaceFloorTest, ParsesSizesSharesAndZero) {
  absl::StatusOr<OutputSpaceFloor> floor = ParseOutputSpaceFloor("256M", 1024);
  ASSERT_TRUE(floor.ok()) << floor.status();
  EXPECT_EQ(floor->bytes, 256 * kMiB);
  EXPECT_EQ(floor->percent, 0);
  EXPECT_EQ(floor->inodes, 1024);
  floor = ParseOutputSpaceFloor("1.5%", 1024);
  ASSERT_TRUE(floor.ok()) << floor.status();
  EXPECT_EQ(floor->percent, 1.5);
  EXPECT_EQ(floor->bytes, 0);
  floor = ParseOutputSpaceFloor("0", 1024);
  ASSERT_TRUE(floor.ok()) << floor.status();
  EXPECT_TRUE(floor->none());  // 0: no check at all, inodes included
}

TEST(OutputSpaceFloorTest, RejectsWhatIsNotAFloor) {
  for (const char* bad : {"", "x", "-1M", "60%", "-1%", "%", "1%%"}) {
    absl::StatusOr<OutputSpaceFloor> floor = ParseOutputSpaceFloor(bad, 1024);
    EXPECT_EQ(floor.status().code(), absl::StatusCode::kInvalidArgument)
        << "'" << bad << "'";
  }
}

TEST(OutputSpaceCheckTest, AboveTheFloorPasses) {
  OutputSpaceFloor floor{256 * kMiB, 0, 1024};
  EXPECT_TRUE(CheckOutputSpace(Fs(10240 * kMiB, 300 * kMiB), floor, "fs").ok());
  EXPECT_TRUE(OutputSpaceFloor{}.none());
  EXPECT_TRUE(
      CheckOutputSpace(Fs(100 * kMiB, 0, 0), OutputSpaceFloor{}, "fs").ok());
}

TEST(OutputSpaceCheckTest, TooFewBytesIsResourceExhaustedNamingTheFs) {
  OutputSpaceFloor floor{256 * kMiB, 0, 1024};
  absl::Status s = CheckOutputSpace(Fs(10240 * kMiB, 100 * kMiB), floor,
                                    "--output_dir /srv/out");
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(s.message(), HasSubstr("--output_dir /srv/out"));
  EXPECT_THAT(s.message(), HasSubstr("100M free"));
  EXPECT_THAT(s.message(), HasSubstr("256M"));
  EXPECT_THAT(s.message(), HasSubstr("--min_free_output_space"));
}

TEST(OutputSpaceCheckTest, AShareIsOfTheFileSystemsSize) {
  OutputSpaceFloor floor{0, 1, 0};  // 1%
  // 1% of 10000 MiB is 100 MiB.
  EXPECT_TRUE(CheckOutputSpace(Fs(10000 * kMiB, 101 * kMiB), floor, "fs").ok());
  absl::Status s = CheckOutputSpace(Fs(10000 * kMiB, 99 * kMiB), floor, "fs");
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(s.message(), HasSubstr("1%"));
}

TEST(OutputSpaceCheckTest, TooFewInodesIsResourceExhausted) {
  OutputSpaceFloor floor{256 * kMiB, 0, 1024};
  absl::Status s =
      CheckOutputSpace(Fs(10240 * kMiB, 5000 * kMiB, 1000), floor, "fs");
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(s.message(), HasSubstr("1000 inodes free"));
  // A file system that does not count inodes (f_files 0) is not short.
  struct statvfs no_count = Fs(10240 * kMiB, 5000 * kMiB, 0);
  no_count.f_files = 0;
  EXPECT_TRUE(CheckOutputSpace(no_count, floor, "fs").ok());
}

TEST(OutputSpaceCheckTest, ChecksTheFileSystemOfAPath) {
  // Nothing on this machine has an exabyte free.
  OutputSpaceFloor floor{int64_t{1} << 60, 0, 0};
  EXPECT_EQ(CheckOutputSpaceOf(-1, "/", floor, "/").code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(CheckOutputSpaceOf(-1, "/", OutputSpaceFloor{1, 0, 0}, "/").ok());
}

}  // namespace
}  // namespace cmdctl

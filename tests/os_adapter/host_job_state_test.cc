#include "os_adapter/host_job_state.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gtest/gtest.h"

namespace cmdctl {
namespace {

HostJobState Sample() {
  HostJobState s;
  s.monitor_pid = 42;
  s.monitor_start = 123456;
  s.boot_id = "b00t";
  s.uid = 1001;
  s.gid = 1002;
  s.login = "alice";
  s.home = "/home/al ice\n";
  s.output_dir = "";
  s.cgroup_parent = "/sys/fs/cgroup/jobs";
  s.dev[0] = 7;
  s.ino[0] = 8;
  s.dev[1] = 9;
  s.ino[1] = 10;
  s.handle[0] = "1:0a0b";
  s.handle[1] = "1:0c0d";
  return s;
}

TEST(HostJobStateTest, RoundTripsEveryField) {
  absl::StatusOr<HostJobState> back =
      DecodeHostJobState(EncodeHostJobState(Sample()));
  ASSERT_TRUE(back.ok()) << back.status();
  const HostJobState want = Sample();
  EXPECT_EQ(back->monitor_pid, want.monitor_pid);
  EXPECT_EQ(back->monitor_start, want.monitor_start);
  EXPECT_EQ(back->home, want.home);
  EXPECT_EQ(back->cgroup_parent, want.cgroup_parent);
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(back->dev[i], want.dev[i]);
    EXPECT_EQ(back->ino[i], want.ino[i]);
    EXPECT_EQ(back->handle[i], want.handle[i]);
  }
}

TEST(HostJobStateTest, AStateWrittenBeforeHandlesHasNone) {
  std::string text = EncodeHostJobState(Sample());
  text = absl::StrReplaceAll(
      text, {{"handle0=1:0a0b\n", ""}, {"handle1=1:0c0d\n", ""}});
  ASSERT_EQ(text.find("handle"), std::string::npos);
  absl::StatusOr<HostJobState> back = DecodeHostJobState(text);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->handle[0], "");
  EXPECT_EQ(back->handle[1], "");
  EXPECT_EQ(back->ino[1], 10u);
}

TEST(HostJobStateTest, ForeignTextIsRejected) {
  EXPECT_FALSE(DecodeHostJobState("monitor_pid=1\n").ok());
  std::string text = EncodeHostJobState(Sample());
  text = absl::StrReplaceAll(text, {{"ino1=10\n", ""}});
  EXPECT_FALSE(DecodeHostJobState(text).ok());
}

class FileHandleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/cmdctl-handle-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
  }
  void TearDown() override {
    unlink(Path().c_str());
    rmdir(dir_.c_str());
  }
  std::string Path() const { return dir_ + "/f"; }
  int Create() {
    return open(Path().c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  }
  std::string dir_;
};

TEST_F(FileHandleTest, SameFileSameHandleOtherFileOtherHandle) {
  const int a = Create();
  ASSERT_GE(a, 0);
  const std::string handle = FileHandleOf(a);
  if (handle.empty()) GTEST_SKIP() << "no file handles on /tmp's file system";
  const int again = open(Path().c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(again, 0);
  EXPECT_EQ(FileHandleOf(again), handle);
  const std::string other_path = dir_ + "/g";
  const int other =
      open(other_path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  ASSERT_GE(other, 0);
  EXPECT_NE(FileHandleOf(other), handle);
  close(a);
  close(again);
  close(other);
  unlink(other_path.c_str());
}

TEST_F(FileHandleTest, AFileMadeInARemovedOnesInodeHasAnotherHandle) {
  // What a job's owner can do to its output: remove it and make a new file
  // that gets the same inode number (the file system reuses it at once).
  // The handle tells them apart. Tried until the number is reused.
  int reused = 0;
  for (int attempt = 0; attempt < 200 && reused < 3; ++attempt) {
    const int a = Create();
    ASSERT_GE(a, 0);
    struct stat sa;
    ASSERT_EQ(fstat(a, &sa), 0);
    const std::string handle = FileHandleOf(a);
    if (handle.empty()) GTEST_SKIP() << "no file handles here";
    close(a);
    ASSERT_EQ(unlink(Path().c_str()), 0);
    const int b = Create();
    ASSERT_GE(b, 0);
    struct stat sb;
    ASSERT_EQ(fstat(b, &sb), 0);
    if (sb.st_ino == sa.st_ino && sb.st_dev == sa.st_dev) {
      ++reused;
      EXPECT_NE(FileHandleOf(b), handle) << "inode " << sb.st_ino;
    }
    close(b);
    ASSERT_EQ(unlink(Path().c_str()), 0);
  }
  if (reused == 0) GTEST_SKIP() << "the file system never reused the inode";
}

}  // namespace
}  // namespace cmdctl

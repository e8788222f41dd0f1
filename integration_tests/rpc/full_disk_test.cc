// Issue 14, point 3: a full output file system. The output goes to a small
// tmpfs the test mounts; one job fills it: its status says the output is
// incomplete, the next start is refused by --min_free_output_space naming
// the file system, and RemoveProcess frees the space at once (the server
// keeps no fd on the deleted files).
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "integration_tests/rpc/hardening_fixture.h"

namespace cmdctl::test {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kMiB = 1024 * 1024;
constexpr int64_t kFsSize = 32 * kMiB;

int64_t FreeBytes(const std::string& path) {
  struct statvfs st;
  if (statvfs(path.c_str(), &st) != 0) return -1;
  return static_cast<int64_t>(st.f_bavail) * st.f_frsize;
}

class FullDiskTest : public HardeningTest {
 protected:
  void SetUp() override {
    HardeningTest::SetUp();
    mount_point_ = work_.path() + "/small";
    ASSERT_EQ(mkdir(mount_point_.c_str(), 0755), 0);
    if (mount("tmpfs", mount_point_.c_str(), "tmpfs", MS_NOSUID | MS_NODEV,
              "size=32m,mode=0755") != 0) {
      GTEST_SKIP() << "cannot mount a tmpfs here: " << strerror(errno);
    }
    mounted_ = true;
    out_dir_ = mount_point_ + "/out";
    ASSERT_EQ(mkdir(out_dir_.c_str(), 0755), 0);
  }

  // Always: the server (and its jobs) first, then the mount.
  void TearDown() override {
    server_.reset();
    if (mounted_) {
      EXPECT_EQ(umount2(mount_point_.c_str(), MNT_DETACH), 0);
    }
  }

  std::string mount_point_;
  bool mounted_ = false;
};

TEST_F(FullDiskTest, FullOutputIsIncompleteRefusedThenFreedByRemove) {
  StartServer({"--min_free_output_space=8M"});
  auto stub = Stub(Pki().alice);
  ASSERT_GT(FreeBytes(out_dir_), kFsSize - kMiB);

  // Writes twice the file system's size: it fills up, the job runs on.
  v1::RunProcessResponse filled;
  ASSERT_TRUE(
      Run(stub.get(), {"/usr/bin/head", "-c", "64M", "/dev/zero"}, &filled)
          .ok());
  v1::ProcessStatus status = WaitForEnd(stub.get(), filled.job_id());
  EXPECT_EQ(status.state(), v1::JOB_STATE_EXITED);
  EXPECT_EQ(status.exit_code(), 0);
  EXPECT_TRUE(status.output_incomplete());
  EXPECT_LT(status.stdout_bytes(), 64 * kMiB);
  EXPECT_LT(FreeBytes(out_dir_), kMiB);

  // Below the floor: nothing starts, and the error says where.
  v1::RunProcessResponse refused;
  grpc::Status start = Run(stub.get(), {"/bin/true"}, &refused);
  EXPECT_EQ(start.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(start.error_message(), HasSubstr("--output_dir " + out_dir_));
  EXPECT_THAT(start.error_message(), HasSubstr("--min_free_output_space"));
  EXPECT_EQ(DirEntries(out_dir_).size(), 1u);  // the full job's only

  // Removing the job frees its space now: no fd on a deleted file.
  ASSERT_TRUE(Remove(stub.get(), filled.job_id()).ok());
  EXPECT_GT(FreeBytes(out_dir_), kFsSize - kMiB);
  for (const std::string& target : ServerFdTargets()) {
    EXPECT_FALSE(absl::StrContains(target, "(deleted)")) << target;
  }

  // And jobs start again, their output complete.
  v1::RunProcessResponse next;
  ASSERT_TRUE(Run(stub.get(), {"/bin/echo", "hello"}, &next).ok());
  status = WaitForEnd(stub.get(), next.job_id());
  EXPECT_EQ(status.state(), v1::JOB_STATE_EXITED);
  EXPECT_FALSE(status.output_incomplete());
  EXPECT_EQ(status.stdout_bytes(), 6);
  EXPECT_TRUE(Remove(stub.get(), next.job_id()).ok());
}

TEST_F(FullDiskTest, FloorIsCheckedBeforeAnythingIsMade) {
  // The whole file system as the floor: no start can pass.
  StartServer({"--min_free_output_space=1G"});
  auto stub = Stub(Pki().alice);
  v1::RunProcessResponse response;
  grpc::Status start = Run(stub.get(), {"/bin/true"}, &response);
  EXPECT_EQ(start.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(start.error_message(), HasSubstr("--output_dir " + out_dir_));
  EXPECT_THAT(start.error_message(), HasSubstr("free"));
  EXPECT_TRUE(DirEntries(out_dir_).empty());
  EXPECT_TRUE(DirEntries(server().state_dir() + "/jobs").empty());
  v1::ListProcessesResponse list;
  ASSERT_TRUE(stub->ListProcesses(Context().get(), {}, &list).ok());
  EXPECT_EQ(list.processes_size(), 0);
}

}  // namespace
}  // namespace cmdctl::test

#include "os_adapter/os_util.h"

#include <signal.h>
#include <sys/wait.h>

#include <cerrno>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cmdctl {
namespace {

using ::testing::HasSubstr;

TEST(DecodeChildStatusTest, ExitedCarriesTheCode) {
  std::optional<ExitInfo> e = DecodeChildStatus(CLD_EXITED, 7);
  ASSERT_TRUE(e.has_value());
  EXPECT_FALSE(e->signaled);
  EXPECT_EQ(e->exit_code, 7);
}

TEST(DecodeChildStatusTest, KilledAndDumpedCarryTheSignal) {
  for (int code : {CLD_KILLED, CLD_DUMPED}) {
    std::optional<ExitInfo> e = DecodeChildStatus(code, SIGSEGV);
    ASSERT_TRUE(e.has_value());
    EXPECT_TRUE(e->signaled);
    EXPECT_EQ(e->signal, SIGSEGV);
  }
}

TEST(DecodeChildStatusTest, StopAndContinueAreNoEnd) {
  EXPECT_FALSE(DecodeChildStatus(CLD_STOPPED, SIGSTOP).has_value());
  EXPECT_FALSE(DecodeChildStatus(CLD_CONTINUED, SIGCONT).has_value());
}

constexpr char kHybridMountinfo[] =
    "25 30 0:23 / /sys rw,nosuid - sysfs sysfs rw\n"
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";

TEST(FindCgroup2MountTest, FindsTheUnifiedMountOnAHybridHost) {
  std::optional<CgroupMount> m = FindCgroup2Mount(kHybridMountinfo);
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->mount_point, "/sys/fs/cgroup/unified");
  EXPECT_EQ(m->root, "/");
}

TEST(FindCgroup2MountTest, HandlesOptionalFieldsAndEscapes) {
  std::optional<CgroupMount> m = FindCgroup2Mount(
      "29 23 0:26 /sub /sys/fs/my\\040cgroup rw,nosuid shared:4 master:1 - "
      "cgroup2 cgroup2 rw,nsdelegate\n");
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->mount_point, "/sys/fs/my cgroup");
  EXPECT_EQ(m->root, "/sub");
}

TEST(FindCgroup2MountTest, NoneOnAV1OnlyHost) {
  EXPECT_FALSE(FindCgroup2Mount(
                   "35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw\n")
                   .has_value());
  EXPECT_FALSE(FindCgroup2Mount("").has_value());
}

TEST(FindCgroup2PathTest, ReadsTheV2Line) {
  EXPECT_EQ(FindCgroup2Path("4:memory:/x\n0::/system.slice/cmdctld.service\n"),
            "/system.slice/cmdctld.service");
  EXPECT_EQ(FindCgroup2Path("0::/\n"), "/");
  EXPECT_FALSE(FindCgroup2Path("4:memory:/x\n").has_value());
}

TEST(CgroupDirectoryTest, JoinsMountAndPath) {
  CgroupMount root_mount{"/sys/fs/cgroup", "/"};
  EXPECT_EQ(CgroupDirectory(root_mount, "/"), "/sys/fs/cgroup");
  EXPECT_EQ(CgroupDirectory(root_mount, "/a/b"), "/sys/fs/cgroup/a/b");
}

TEST(CgroupDirectoryTest, StripsTheMountRoot) {
  CgroupMount sub{"/sys/fs/cgroup", "/a"};
  EXPECT_EQ(CgroupDirectory(sub, "/a/b"), "/sys/fs/cgroup/b");
  EXPECT_EQ(CgroupDirectory(sub, "/a"), "/sys/fs/cgroup");
  EXPECT_FALSE(CgroupDirectory(sub, "/ab").has_value());
  EXPECT_FALSE(CgroupDirectory(sub, "/other").has_value());
}

TEST(LaunchFailureToStatusTest, RequestRefusedAtTheBoundaryIsInvalidArgument) {
  EXPECT_EQ(
      LaunchFailureToStatus(LaunchStage::kValidate, EINVAL, "p", "").code(),
      absl::StatusCode::kInvalidArgument);
}

TEST(LaunchFailureToStatusTest, MissingProgramIsNotFound) {
  absl::Status s =
      LaunchFailureToStatus(LaunchStage::kExec, ENOENT, "nope", "");
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(s.message(), HasSubstr("nope"));
}

TEST(LaunchFailureToStatusTest, UnexecutableProgramIsFailedPrecondition) {
  for (int err : {EACCES, ENOEXEC, EISDIR, ETXTBSY, ELIBBAD}) {
    EXPECT_EQ(LaunchFailureToStatus(LaunchStage::kExec, err, "p", "").code(),
              absl::StatusCode::kFailedPrecondition)
        << err;
  }
}

TEST(LaunchFailureToStatusTest, WorkingDirIsFailedPrecondition) {
  absl::Status s =
      LaunchFailureToStatus(LaunchStage::kWorkingDir, EACCES, "p", "/root");
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("/root"));
}

TEST(LaunchFailureToStatusTest, PlantedSymlinkIsFailedPrecondition) {
  EXPECT_EQ(LaunchFailureToStatus(LaunchStage::kOutput, ELOOP, "p", "").code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(LaunchFailureToStatusTest, ExhaustionIsResourceExhaustedAtAnyStage) {
  EXPECT_EQ(LaunchFailureToStatus(LaunchStage::kOutput, ENOSPC, "p", "").code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(LaunchFailureToStatus(LaunchStage::kExec, ENOMEM, "p", "").code(),
            absl::StatusCode::kResourceExhausted);
}

TEST(LaunchFailureToStatusTest, PrivilegeDropFailureIsInternal) {
  EXPECT_EQ(LaunchFailureToStatus(LaunchStage::kDropPrivileges, EPERM, "p", "")
                .code(),
            absl::StatusCode::kInternal);
}

}  // namespace
}  // namespace cmdctl

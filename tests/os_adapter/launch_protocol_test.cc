#include "os_adapter/launch_protocol.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cmdctl {
namespace {

LaunchRequest Sample() {
  LaunchRequest r;
  r.drop_privileges = true;
  r.uid = 1001;
  r.gid = 1002;
  r.groups = {1002, 27, 100};
  r.home = "/home/alice";
  r.working_dir = "/tmp";
  r.job_id = "0f8c1a5e-1f6b-4c1e-9a55-5b2f3c4d5e6f";
  r.program = "ls";
  r.argv = {"ls", "-la", std::string("bin\0ary", 7), ""};
  r.envp = {"HOME=/home/alice", "X="};
  r.mode = LaunchRequest::kLaunch;
  r.max_output_bytes = int64_t{3} << 40;
  r.has_cgroup_parent_fd = true;
  r.has_output_dir_fd = false;
  r.has_run_dir_fd = true;
  return r;
}

TEST(LaunchProtocolTest, RequestRoundTrips) {
  const LaunchRequest in = Sample();
  std::optional<LaunchRequest> out =
      DecodeLaunchRequest(EncodeLaunchRequest(in));
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(out->drop_privileges, in.drop_privileges);
  EXPECT_EQ(out->uid, in.uid);
  EXPECT_EQ(out->gid, in.gid);
  EXPECT_EQ(out->groups, in.groups);
  EXPECT_EQ(out->home, in.home);
  EXPECT_EQ(out->working_dir, in.working_dir);
  EXPECT_EQ(out->job_id, in.job_id);
  EXPECT_EQ(out->program, in.program);
  EXPECT_EQ(out->argv, in.argv);
  EXPECT_EQ(out->envp, in.envp);
  EXPECT_EQ(out->mode, in.mode);
  EXPECT_EQ(out->max_output_bytes, in.max_output_bytes);
  EXPECT_EQ(out->has_cgroup_parent_fd, in.has_cgroup_parent_fd);
  EXPECT_EQ(out->has_output_dir_fd, in.has_output_dir_fd);
  EXPECT_EQ(out->has_run_dir_fd, in.has_run_dir_fd);
}

TEST(LaunchProtocolTest, UnknownModeAndNegativeCapAreRejected) {
  LaunchRequest r = Sample();
  r.mode = 7;
  EXPECT_FALSE(DecodeLaunchRequest(EncodeLaunchRequest(r)).has_value());
  r = Sample();
  r.max_output_bytes = -1;
  EXPECT_FALSE(DecodeLaunchRequest(EncodeLaunchRequest(r)).has_value());
  for (uint32_t mode :
       {LaunchRequest::kOpenOutput, LaunchRequest::kRemoveOutput}) {
    r = Sample();
    r.mode = mode;
    std::optional<LaunchRequest> out =
        DecodeLaunchRequest(EncodeLaunchRequest(r));
    ASSERT_TRUE(out.has_value());
    EXPECT_EQ(out->mode, mode);
  }
}

TEST(LaunchProtocolTest, EveryTruncationIsRejected) {
  const std::string bytes = EncodeLaunchRequest(Sample());
  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_FALSE(DecodeLaunchRequest(bytes.substr(0, n)).has_value()) << n;
  }
}

TEST(LaunchProtocolTest, TrailingBytesAreRejected) {
  EXPECT_FALSE(
      DecodeLaunchRequest(EncodeLaunchRequest(Sample()) + "x").has_value());
}

TEST(LaunchProtocolTest, WrongMagicIsRejected) {
  std::string bytes = EncodeLaunchRequest(Sample());
  bytes[0] ^= 1;
  EXPECT_FALSE(DecodeLaunchRequest(bytes).has_value());
}

TEST(LaunchProtocolTest, HugeCountsAreRejectedWithoutAllocating) {
  std::string bytes = EncodeLaunchRequest(LaunchRequest{});
  // The groups count sits after magic, mode, drop flag, uid and gid.
  bytes[20] = '\xff';
  bytes[21] = '\xff';
  bytes[22] = '\xff';
  bytes[23] = '\x7f';
  EXPECT_FALSE(DecodeLaunchRequest(bytes).has_value());
}

}  // namespace
}  // namespace cmdctl

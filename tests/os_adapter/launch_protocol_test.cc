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
  r.has_cgroup_procs_fd = true;
  r.has_output_dir_fd = false;
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
  EXPECT_EQ(out->has_cgroup_procs_fd, in.has_cgroup_procs_fd);
  EXPECT_EQ(out->has_output_dir_fd, in.has_output_dir_fd);
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
  // The groups count sits after magic, drop flag, uid and gid.
  bytes[16] = '\xff';
  bytes[17] = '\xff';
  bytes[18] = '\xff';
  bytes[19] = '\x7f';
  EXPECT_FALSE(DecodeLaunchRequest(bytes).has_value());
}

}  // namespace
}  // namespace cmdctl

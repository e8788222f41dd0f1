#include "rpc/proto_convert.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cmdctl {
namespace {

using ::testing::ElementsAre;

TEST(ProtoConvertTest, RunningJobHasNoEndTime) {
  JobStatus s;
  s.job_id = "id";
  s.owner = "alice";
  s.run_as = "svc";
  s.command = "ls";
  s.args = {"-l", "/"};
  s.pid = 42;
  s.started_at = absl::FromUnixMillis(1700000000123);
  v1::ProcessStatus p;
  ToProto(s, &p);
  EXPECT_EQ(p.job_id(), "id");
  EXPECT_EQ(p.owner(), "alice");
  EXPECT_EQ(p.run_as(), "svc");
  EXPECT_EQ(p.command(), "ls");
  EXPECT_THAT(p.args(), ElementsAre("-l", "/"));
  EXPECT_EQ(p.state(), v1::JOB_STATE_RUNNING);
  EXPECT_EQ(p.pid(), 42);
  EXPECT_EQ(p.started_at().seconds(), 1700000000);
  EXPECT_EQ(p.started_at().nanos(), 123000000);
  EXPECT_FALSE(p.has_ended_at());
}

TEST(ProtoConvertTest, EndedStatesMapOneToOne) {
  struct Case {
    JobState state;
    v1::JobState want;
  };
  for (const Case& c : {Case{JobState::kExited, v1::JOB_STATE_EXITED},
                        Case{JobState::kSignaled, v1::JOB_STATE_SIGNALED},
                        Case{JobState::kStopped, v1::JOB_STATE_STOPPED}}) {
    JobStatus s;
    s.state = c.state;
    s.exit_code = 7;
    s.signal = 9;
    s.stop_requested = true;
    s.started_at = absl::FromUnixSeconds(10);
    s.ended_at = absl::FromUnixSeconds(12);
    v1::ProcessStatus p;
    ToProto(s, &p);
    EXPECT_EQ(p.state(), c.want);
    EXPECT_EQ(p.exit_code(), 7);
    EXPECT_EQ(p.signal(), 9);
    EXPECT_TRUE(p.stop_requested());
    EXPECT_EQ(p.ended_at().seconds(), 12);
  }
}

TEST(ProtoConvertTest, RunRequestCarriesEverything) {
  v1::RunProcessRequest r;
  r.set_command("sh");
  r.add_args("-c");
  r.add_args("echo hi");
  r.set_run_as("bob");
  r.set_working_dir("/srv");
  (*r.mutable_env())["A"] = "1";
  RunRequest got = FromProto(r).value();
  EXPECT_EQ(got.command, "sh");
  EXPECT_THAT(got.args, ElementsAre("-c", "echo hi"));
  EXPECT_EQ(got.run_as, "bob");
  EXPECT_EQ(got.working_dir, "/srv");
  EXPECT_EQ(got.env.at("A"), "1");
}

TEST(ProtoConvertTest, GraceUnsetIsDefaultAndValuesConvert) {
  v1::StopProcessRequest r;
  absl::StatusOr<std::optional<absl::Duration>> g = GraceFromProto(r);
  ASSERT_TRUE(g.ok());
  EXPECT_FALSE(g->has_value());
  r.mutable_grace_period()->set_seconds(1);
  r.mutable_grace_period()->set_nanos(500000000);
  g = GraceFromProto(r);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(**g, absl::Milliseconds(1500));
  r.mutable_grace_period()->set_seconds(0);
  r.mutable_grace_period()->set_nanos(0);
  g = GraceFromProto(r);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(**g, absl::ZeroDuration());
}

TEST(ProtoConvertTest, NegativeGraceIsInvalid) {
  v1::StopProcessRequest r;
  r.mutable_grace_period()->set_nanos(-1);
  EXPECT_EQ(GraceFromProto(r).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace cmdctl

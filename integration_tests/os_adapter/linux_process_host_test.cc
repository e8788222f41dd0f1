// LinuxProcessHost with real processes, real users, real cgroups. Runs as
// root (like CI); makes its own users cmdctl-it-*.
// This file: how jobs start: identity, session, environment, fds, exits,
// refusals.
#include "integration_tests/os_adapter/host_fixture.h"

namespace cmdctl::host_test {
namespace {

using ::testing::HasSubstr;
using ::testing::UnorderedElementsAreArray;

TEST_F(LinuxProcessHostTest, UsesCgroupsWhereAWritableCgroup2IsMounted) {
  // The hybrid test machine has cgroup v2 at /sys/fs/cgroup/unified; a
  // container may mount it read-only (then the fallback is expected).
  const std::optional<CgroupMount> mount =
      FindCgroup2Mount(ReadProcFile("/proc/self/mountinfo"));
  if (!mount || access(mount->mount_point.c_str(), W_OK) != 0) {
    EXPECT_TRUE(host_->cgroup_parent().empty());
    GTEST_SKIP() << "no writable cgroup2 mount here";
  }
  EXPECT_FALSE(host_->cgroup_parent().empty());
  EXPECT_TRUE(absl::StartsWith(host_->cgroup_parent(), mount->mount_point));
}

TEST_F(LinuxProcessHostTest, JobRunsAsTheUserWithItsOwnGroupsOnly) {
  Result r = RunToEnd(Spec("cat", {"/proc/self/status"}));
  ASSERT_TRUE(ExitedWith(r.exit, 0)) << Describe(r.exit) << r.err;
  std::map<std::string, std::string> f = StatusFields(r.out);
  const std::string uid = std::to_string(alice_->uid);
  const std::string gid = std::to_string(alice_->gid);
  EXPECT_EQ(f["Uid"], absl::StrCat(uid, "\t", uid, "\t", uid, "\t", uid));
  EXPECT_EQ(f["Gid"], absl::StrCat(gid, "\t", gid, "\t", gid, "\t", gid));
  std::vector<std::string> groups =
      absl::StrSplit(f["Groups"], ' ', absl::SkipEmpty());
  EXPECT_THAT(groups,
              UnorderedElementsAreArray({gid, std::to_string(team_gid_)}));
  EXPECT_EQ(f["NoNewPrivs"], "1");
  EXPECT_EQ(f["CapEff"], "0000000000000000");
  EXPECT_EQ(f["CapPrm"], "0000000000000000");
  // Signal mask empty, no signal ignored.
  EXPECT_EQ(f["SigBlk"], "0000000000000000");
  EXPECT_EQ(f["SigIgn"], "0000000000000000");
}

TEST_F(LinuxProcessHostTest, JobIsInItsOwnSessionAndProcessGroup) {
  Result r = RunToEnd(Spec("cat", {"/proc/self/stat"}));
  ASSERT_TRUE(ExitedWith(r.exit, 0)) << Describe(r.exit);
  const size_t close = r.out.rfind(')');
  ASSERT_NE(close, std::string::npos);
  std::vector<std::string> f = absl::StrSplit(r.out.substr(close + 2), ' ');
  // Fields after the name: state ppid pgrp session ...
  const std::string pid = r.out.substr(0, r.out.find(' '));
  EXPECT_EQ(f[2], pid);
  EXPECT_EQ(f[3], pid);
}

TEST_F(LinuxProcessHostTest, EnvironmentIsExactlyTheWhitelistPlusRequest) {
  ProcessSpec spec = Spec("env");
  spec.env = {{"FOO", "bar baz"}, {"SHELL", "/bin/bash"}, {"EMPTY", ""}};
  // Something the server has in its own environment must not leak.
  setenv("CMDCTL_IT_SERVER_SECRET", "leak", 1);
  Result r = RunToEnd(spec);
  ASSERT_TRUE(ExitedWith(r.exit, 0)) << Describe(r.exit) << r.err;
  std::vector<std::string> lines =
      absl::StrSplit(r.out, '\n', absl::SkipEmpty());
  EXPECT_THAT(lines, UnorderedElementsAreArray({
                         absl::StrCat("HOME=", alice_->home),
                         std::string("USER=cmdctl-it-alice"),
                         std::string("LOGNAME=cmdctl-it-alice"),
                         std::string("SHELL=/bin/bash"),
                         std::string("PATH=/usr/local/bin:/usr/bin:/bin"),
                         std::string("FOO=bar baz"),
                         std::string("EMPTY="),
                     }));
}

TEST_F(LinuxProcessHostTest, OnlyFdsZeroToTwoWhileManyJobsStartConcurrently) {
  constexpr int kThreads = 8;
  constexpr int kJobsPerThread = 8;
  // A careless library in the server leaves an fd inheritable.
  const int leaky = open("/etc/passwd", O_RDONLY);
  ASSERT_GE(leaky, 3);
  // Run by the job's user: a copy it can reach, wherever the build tree is.
  absl::StatusOr<std::string> probe = test::UserRunnableCopy(CMDCTL_PROBE_PATH);
  ASSERT_TRUE(probe.ok()) << probe.status();
  std::vector<std::thread> threads;
  std::vector<std::vector<Result>> results(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([this, t, &results, &probe] {
      for (int i = 0; i < kJobsPerThread; ++i) {
        results[t].push_back(RunToEnd(Spec(*probe, {"fds"})));
      }
    });
  }
  for (auto& th : threads) th.join();
  for (const auto& per_thread : results) {
    for (const Result& r : per_thread) {
      EXPECT_TRUE(ExitedWith(r.exit, 0)) << Describe(r.exit) << r.err;
      EXPECT_EQ(r.out, "0 1 2\n");
    }
  }
  close(leaky);
}

TEST_F(LinuxProcessHostTest, StdinIsDevNullAndStdoutStderrAreTheFiles) {
  Result r = RunToEnd(
      Spec("sh", {"-c", "readlink /proc/self/fd/0; cat; echo to-err >&2"}));
  ASSERT_TRUE(ExitedWith(r.exit, 0)) << Describe(r.exit) << r.err;
  EXPECT_EQ(r.out, "/dev/null\n");
  EXPECT_EQ(r.err, "to-err\n");
}

TEST_F(LinuxProcessHostTest, WorkingDirDefaultsToHomeAndCanBeSet) {
  Result home = RunToEnd(Spec("pwd"));
  ASSERT_TRUE(ExitedWith(home.exit, 0)) << Describe(home.exit);
  EXPECT_EQ(home.out, alice_->home + "\n");

  ProcessSpec spec = Spec("pwd");
  spec.working_dir = "/tmp";
  Result tmp = RunToEnd(spec);
  ASSERT_TRUE(ExitedWith(tmp.exit, 0)) << Describe(tmp.exit);
  EXPECT_EQ(tmp.out, "/tmp\n");
}

TEST_F(LinuxProcessHostTest, ReportsExitCode) {
  Result r = RunToEnd(Spec("sh", {"-c", "exit 7"}));
  EXPECT_TRUE(ExitedWith(r.exit, 7)) << Describe(r.exit);
}

TEST_F(LinuxProcessHostTest, ReportsTheSignalThatEndedTheJob) {
  Result r = RunToEnd(Spec("sh", {"-c", "kill -SEGV $$"}));
  EXPECT_TRUE(SignaledWith(r.exit, SIGSEGV)) << Describe(r.exit);
}

TEST_F(LinuxProcessHostTest, MissingProgramIsNotFoundAndLeavesNothing) {
  for (const std::string program :
       {"cmdctl-it-no-such-program", "/nonexistent/program"}) {
    ProcessSpec spec = Spec(program);
    absl::StatusOr<StartedProcess> started =
        host_->Start(spec, std::make_shared<TestObserver>());
    EXPECT_EQ(started.status().code(), absl::StatusCode::kNotFound)
        << started.status();
    ExpectNothingLeft(spec.job_id, *alice_);
  }
}

TEST_F(LinuxProcessHostTest, NonExecutableProgramIsFailedPrecondition) {
  const std::string dir = "/tmp/cmdctl-it-nonexec";
  fs::create_directories(dir);
  fs::permissions(dir, fs::perms(0755));
  const std::string file = dir + "/tool";
  { std::ofstream(file) << "#!/bin/sh\necho hi\n"; }
  fs::permissions(file, fs::perms(0644));
  for (const std::string& program : {file, dir}) {
    ProcessSpec spec = Spec(program);
    absl::StatusOr<StartedProcess> started =
        host_->Start(spec, std::make_shared<TestObserver>());
    EXPECT_EQ(started.status().code(), absl::StatusCode::kFailedPrecondition)
        << program << ": " << started.status();
    ExpectNothingLeft(spec.job_id, *alice_);
  }
}

TEST_F(LinuxProcessHostTest, NonExecutableInPathBeatsNotFoundElsewhere) {
  const std::string dir = "/tmp/cmdctl-it-nonexec-path";
  fs::create_directories(dir);
  fs::permissions(dir, fs::perms(0755));
  { std::ofstream(dir + "/tool") << "#!/bin/sh\necho hi\n"; }
  fs::permissions(dir + "/tool", fs::perms(0644));
  ProcessSpec spec = Spec("tool");
  spec.env = {{"PATH", absl::StrCat(dir, ":/usr/bin:/bin")}};
  absl::StatusOr<StartedProcess> started =
      host_->Start(spec, std::make_shared<TestObserver>());
  EXPECT_EQ(started.status().code(), absl::StatusCode::kFailedPrecondition)
      << started.status();
  ExpectNothingLeft(spec.job_id, *alice_);
}

TEST_F(LinuxProcessHostTest, NulBytesAreInvalidArgument) {
  ProcessSpec in_arg = Spec("echo", {std::string("a\0b", 3)});
  EXPECT_EQ(
      host_->Start(in_arg, std::make_shared<TestObserver>()).status().code(),
      absl::StatusCode::kInvalidArgument);
  ExpectNothingLeft(in_arg.job_id, *alice_);
  ProcessSpec in_env = Spec("echo");
  in_env.env = {{"A", std::string("x\0y", 3)}};
  EXPECT_EQ(
      host_->Start(in_env, std::make_shared<TestObserver>()).status().code(),
      absl::StatusCode::kInvalidArgument);
  ExpectNothingLeft(in_env.job_id, *alice_);
}

TEST_F(LinuxProcessHostTest, BadUserAndWorkingDirAreRefusedBeforeSpawning) {
  ProcessSpec unknown = Spec("true", {}, "cmdctl-it-nobody-such");
  EXPECT_EQ(
      host_->Start(unknown, std::make_shared<TestObserver>()).status().code(),
      absl::StatusCode::kInvalidArgument);
  ExpectNothingLeft(unknown.job_id, *alice_);

  ProcessSpec relative = Spec("true");
  relative.working_dir = "tmp";
  EXPECT_EQ(
      host_->Start(relative, std::make_shared<TestObserver>()).status().code(),
      absl::StatusCode::kInvalidArgument);
  ExpectNothingLeft(relative.job_id, *alice_);
}

TEST_F(LinuxProcessHostTest, WorkingDirTheUserCannotEnterIsFailedPrecondition) {
  for (const char* dir : {"/root", "/nonexistent-dir"}) {
    ProcessSpec spec = Spec("true");
    spec.working_dir = dir;
    absl::StatusOr<StartedProcess> started =
        host_->Start(spec, std::make_shared<TestObserver>());
    EXPECT_EQ(started.status().code(), absl::StatusCode::kFailedPrecondition)
        << dir << ": " << started.status();
    ExpectNothingLeft(spec.job_id, *alice_);
  }
}

}  // namespace
}  // namespace cmdctl::host_test

// LinuxProcessHost with real processes, real users, real cgroups. Runs as
// root (like CI); makes its own users cmdctl-it-*.
// This file: output: bytes, files, notifications, planted symlinks, the output
// dir.
#include "integration_tests/os_adapter/host_fixture.h"

namespace cmdctl::host_test {
namespace {

using ::testing::HasSubstr;
using ::testing::UnorderedElementsAreArray;

TEST_F(LinuxProcessHostTest, BinaryOutputIsByteExact) {
  absl::StatusOr<std::string> probe = test::UserRunnableCopy(CMDCTL_PROBE_PATH);
  ASSERT_TRUE(probe.ok()) << probe.status();
  Result r = RunToEnd(Spec(*probe, {"bytes"}));
  ASSERT_TRUE(ExitedWith(r.exit, 0)) << Describe(r.exit);
  std::string up, down;
  for (int i = 0; i < 256; ++i) {
    up.push_back(static_cast<char>(i));
    down.push_back(static_cast<char>(255 - i));
  }
  EXPECT_EQ(r.out, up);
  EXPECT_EQ(r.err, down);
  EXPECT_EQ(*OutputSize(*host_, r.id, OutputStream::kStdout), 256);
  EXPECT_EQ(*OutputSize(*host_, r.id, OutputStream::kStderr), 256);
  // Reads from any offset, in any size.
  EXPECT_EQ(*ReadOutput(*host_, r.id, OutputStream::kStdout, 250, 100),
            up.substr(250));
  EXPECT_EQ(*ReadOutput(*host_, r.id, OutputStream::kStdout, 256, 100), "");
  EXPECT_EQ(*ReadOutput(*host_, r.id, OutputStream::kStdout, 1000, 100), "");
  // A huge max is no huge allocation.
  EXPECT_EQ(*ReadOutput(*host_, r.id, OutputStream::kStdout, 0, SIZE_MAX), up);
  EXPECT_EQ(
      ReadOutput(*host_, r.id, OutputStream::kStdout, -1, 10).status().code(),
      absl::StatusCode::kInvalidArgument);
}

TEST_F(LinuxProcessHostTest, UnknownJobIsNotFoundEverywhere) {
  const std::string id = NewJobId();
  EXPECT_EQ(
      ReadOutput(*host_, id, OutputStream::kStdout, 0, 10).status().code(),
      absl::StatusCode::kNotFound);
  EXPECT_EQ(OutputSize(*host_, id, OutputStream::kStderr).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(host_->Terminate(id).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(host_->Kill(id).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(WatchOutput(*host_, id).code(), absl::StatusCode::kNotFound);
}

TEST_F(LinuxProcessHostTest, OutputFilesAreTheUsersWithMode0600) {
  Result r = RunToEnd(Spec("echo", {"hello"}));
  ASSERT_TRUE(ExitedWith(r.exit, 0)) << Describe(r.exit);
  EXPECT_EQ(r.out, "hello\n");
  const std::string dir = JobDir(*alice_, r.id);
  struct stat st;
  ASSERT_EQ(stat(dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, alice_->uid);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  for (const char* name : {"stdout", "stderr"}) {
    ASSERT_EQ(lstat((dir + "/" + name).c_str(), &st), 0);
    EXPECT_TRUE(S_ISREG(st.st_mode));
    EXPECT_EQ(st.st_uid, alice_->uid);
    EXPECT_EQ(st.st_gid, alice_->gid);
    EXPECT_EQ(st.st_mode & 07777, 0600u) << name;
  }
  std::ifstream in(dir + "/stdout");
  std::string content((std::istreambuf_iterator<char>(in)),
                      std::istreambuf_iterator<char>());
  EXPECT_EQ(content, "hello\n");
}

TEST_F(LinuxProcessHostTest, OutputIsFollowedLiveThroughOnOutput) {
  // The job waits for the test to see its first line before writing the
  // second, and keeps running after it until told to end: only a live
  // notification (armed by WatchOutput) lets the test see "second".
  const std::string flag = absl::StrCat("/tmp/cmdctl-it-flag-", NewJobId());
  const std::string flag2 = flag + "-end";
  ProcessSpec spec = Spec(
      "sh",
      {"-c", absl::StrCat("echo first; while [ ! -e ", flag,
                          " ]; do sleep 0.05; done; echo second; ",
                          "while [ ! -e ", flag2, " ]; do sleep 0.05; done")});
  auto observer = std::make_shared<TestObserver>();
  ASSERT_TRUE(host_->Start(spec, observer).ok());
  ASSERT_TRUE(WaitForStdout(*host_, *observer, spec.job_id, "first\n"));
  EXPECT_FALSE(observer->ended());
  { std::ofstream(flag) << ""; }
  ASSERT_TRUE(WaitForStdout(*host_, *observer, spec.job_id, "second\n"));
  EXPECT_FALSE(observer->ended());
  EXPECT_GE(observer->outputs(), 1);
  { std::ofstream(flag2) << ""; }
  EXPECT_TRUE(ExitedWith(observer->WaitForExit(), 0));
  EXPECT_EQ(ReadAll(*host_, spec.job_id, OutputStream::kStdout),
            "first\nsecond\n");
  fs::remove(flag);
  fs::remove(flag2);
}

TEST_F(LinuxProcessHostTest, NoNotificationAndNoOnOutputWhileNobodyWaits) {
  // A job nobody follows costs the host nothing per write: no notification
  // is asked of its monitor, and no OnOutput is called.
  const std::string flag = absl::StrCat("/tmp/cmdctl-it-flag-", NewJobId());
  ProcessSpec spec = Spec(
      "sh", {"-c", absl::StrCat("i=0; while [ $i -lt 200 ]; do echo line $i; ",
                                "echo err $i >&2; i=$((i+1)); done; ",
                                "while [ ! -e ", flag,
                                " ]; do sleep 0.05; done; echo last")});
  auto observer = std::make_shared<TestObserver>();
  ASSERT_TRUE(host_->Start(spec, observer).ok());
  EXPECT_EQ(WantNotify(spec.job_id), 0u);
  { std::ofstream(flag) << ""; }
  ASSERT_TRUE(ExitedWith(observer->WaitForExit(), 0));
  EXPECT_EQ(observer->outputs(), 0);
  const std::string out = ReadAll(*host_, spec.job_id, OutputStream::kStdout);
  EXPECT_TRUE(absl::StrContains(out, "line 199\nlast\n")) << out;
  EXPECT_TRUE(absl::StrContains(
      ReadAll(*host_, spec.job_id, OutputStream::kStderr), "err 199\n"));
  fs::remove(flag);
}

TEST_F(LinuxProcessHostTest, WatchArmsOneNotificationWhileRunning) {
  const std::string flag = absl::StrCat("/tmp/cmdctl-it-flag-", NewJobId());
  const std::string flag2 = flag + "-end";
  // The job writes once the test has armed, then keeps running until the
  // test has seen the notification: it must come while the job runs.
  ProcessSpec spec =
      Spec("sh", {"-c", absl::StrCat("while [ ! -e ", flag,
                                     " ]; do sleep 0.05; done; echo done; ",
                                     "while [ ! -e ", flag2,
                                     " ]; do sleep 0.05; ", "done")});
  auto observer = std::make_shared<TestObserver>();
  ASSERT_TRUE(host_->Start(spec, observer).ok());
  EXPECT_EQ(WantNotify(spec.job_id), 0u);
  ASSERT_TRUE(WatchOutput(*host_, spec.job_id).ok());
  EXPECT_EQ(WantNotify(spec.job_id), 1u);
  ASSERT_TRUE(WatchOutput(*host_, spec.job_id).ok());
  EXPECT_EQ(WantNotify(spec.job_id), 1u);  // idempotent
  { std::ofstream(flag) << ""; }
  // The armed notification reports the write, while the job still runs,
  // and is spent by it (one-shot).
  EXPECT_GE(observer->WaitForOutputAfter(0, kTimeout), 1);
  EXPECT_FALSE(observer->ended());
  EXPECT_EQ(WantNotify(spec.job_id), 0u);
  { std::ofstream(flag2) << ""; }
  ASSERT_TRUE(ExitedWith(observer->WaitForExit(), 0));
  EXPECT_EQ(observer->outputs(), 1);
  // An ended job: OK, and nothing more is reported.
  EXPECT_TRUE(WatchOutput(*host_, spec.job_id).ok());
  EXPECT_EQ(ReadAll(*host_, spec.job_id, OutputStream::kStdout), "done\n");
  fs::remove(flag);
  fs::remove(flag2);
}

TEST_F(LinuxProcessHostTest, OneArmingReportsOneGrowthNotEveryWrite) {
  // Armed once, a job writing 500 lines to stdout and then one to stderr
  // raises one OnOutput (one-shot), not one per write.
  const std::string flag = absl::StrCat("/tmp/cmdctl-it-flag-", NewJobId());
  ProcessSpec spec = Spec(
      "sh",
      {"-c", absl::StrCat("while [ ! -e ", flag,
                          " ]; do sleep 0.05; done; i=0; while [ $i -lt 500 ]; "
                          "do echo line $i; i=$((i+1)); done; echo end >&2")});
  auto observer = std::make_shared<TestObserver>();
  ASSERT_TRUE(host_->Start(spec, observer).ok());
  ASSERT_TRUE(WatchOutput(*host_, spec.job_id).ok());
  { std::ofstream(flag) << ""; }
  ASSERT_TRUE(ExitedWith(observer->WaitForExit(), 0));
  EXPECT_EQ(observer->outputs(), 1);
  EXPECT_TRUE(absl::StrContains(
      ReadAll(*host_, spec.job_id, OutputStream::kStdout), "line 499\n"));
  EXPECT_EQ(ReadAll(*host_, spec.job_id, OutputStream::kStderr), "end\n");
  fs::remove(flag);
}

// mallory plants a symlink where the host will create the output directory.
// Each test has its own user, so that tests running in parallel never see
// each other's planted links.
class PlantedSymlinkTest : public LinuxProcessHostTest {
 protected:
  void UseUser(const std::string& login) {
    absl::StatusOr<test::TestUser> user = test::EnsureTestUser(login);
    ASSERT_TRUE(user.ok()) << user.status();
    user_ = *user;
    fs::remove_all(user_.home + "/.local/state/cmdctl");
  }
  void TearDown() override {
    if (!user_.home.empty())
      fs::remove_all(user_.home + "/.local/state/cmdctl");
  }

  void Plant(const std::string& relative_link, const std::string& target) {
    const std::string link = user_.home + "/" + relative_link;
    fs::create_directories(fs::path(link).parent_path());
    for (fs::path p = link; p.parent_path() != user_.home;) {
      p = p.parent_path();
      ASSERT_EQ(lchown(p.c_str(), user_.uid, user_.gid), 0);
    }
    // A directory the user may write to: only not following the link keeps
    // the files out of it.
    fs::create_directories(target);
    ASSERT_EQ(chown(target.c_str(), user_.uid, user_.gid), 0);
    fs::create_directory_symlink(target, link);
    ASSERT_EQ(lchown(link.c_str(), user_.uid, user_.gid), 0);
  }

  test::TestUser user_;
};

TEST_F(PlantedSymlinkTest, SymlinkInsteadOfStateDirIsNotFollowed) {
  UseUser("cmdctl-it-mal-state");
  const std::string target = "/tmp/cmdctl-it-planted-state";
  fs::remove_all(target);
  Plant(".local/state/cmdctl", target);
  ProcessSpec spec = Spec("echo", {"pwned"}, user_.login);
  absl::StatusOr<StartedProcess> started =
      host_->Start(spec, std::make_shared<TestObserver>());
  EXPECT_EQ(started.status().code(), absl::StatusCode::kFailedPrecondition)
      << started.status();
  EXPECT_TRUE(fs::is_empty(target));
  ExpectNothingLeft(spec.job_id, user_);
}

TEST_F(PlantedSymlinkTest, SymlinkInsteadOfJobsDirIsNotFollowed) {
  UseUser("cmdctl-it-mal-jobs");
  const std::string target = "/tmp/cmdctl-it-planted-jobs";
  fs::remove_all(target);
  Plant(".local/state/cmdctl/jobs", target);
  ProcessSpec spec = Spec("echo", {"pwned"}, user_.login);
  absl::StatusOr<StartedProcess> started =
      host_->Start(spec, std::make_shared<TestObserver>());
  EXPECT_EQ(started.status().code(), absl::StatusCode::kFailedPrecondition)
      << started.status();
  EXPECT_TRUE(fs::is_empty(target));
  ExpectNothingLeft(spec.job_id, user_);
}

TEST_F(PlantedSymlinkTest, OutputFileSwappedForSymlinkIsNeverServed) {
  UseUser("cmdctl-it-mal-swap");
  ProcessSpec spec = Spec("echo", {"original"}, user_.login);
  Result r = RunToEnd(spec);
  ASSERT_TRUE(ExitedWith(r.exit, 0)) << Describe(r.exit);
  // After the end, the user replaces the file with a link to a secret.
  const std::string file = JobDir(user_, spec.job_id) + "/stdout";
  fs::rename(file, file + ".old");
  fs::create_symlink("/etc/shadow", file);
  EXPECT_EQ(ReadAll(*host_, spec.job_id, OutputStream::kStdout), "original\n");
  EXPECT_EQ(*OutputSize(*host_, spec.job_id, OutputStream::kStdout), 9);
}

TEST(LinuxProcessHostOutputDirTest, JobDirectoryIsMadeForTheUser) {
  absl::StatusOr<test::TestUser> alice =
      test::EnsureTestUser("cmdctl-it-alice", {"cmdctl-it-team"});
  ASSERT_TRUE(alice.ok()) << alice.status();
  const std::string root = "/tmp/cmdctl-it-output-dir";
  fs::create_directories(root);
  ASSERT_EQ(chown(root.c_str(), 0, 0), 0);
  fs::permissions(root, fs::perms(0755));
  LinuxProcessHostOptions options = TestHostOptions();
  options.output_dir = root;
  absl::StatusOr<std::unique_ptr<LinuxProcessHost>> host =
      LinuxProcessHost::Create(options);
  ASSERT_TRUE(host.ok()) << host.status();
  ProcessSpec spec;
  spec.job_id = NewJobId();
  spec.program = "sh";
  spec.args = {"-c", "echo out; echo err >&2"};
  spec.run_as = "cmdctl-it-alice";
  auto observer = std::make_shared<TestObserver>();
  ASSERT_TRUE((*host)->Start(spec, observer).ok());
  ASSERT_TRUE(ExitedWith(observer->WaitForExit(), 0));
  EXPECT_EQ(ReadAll(**host, spec.job_id, OutputStream::kStdout), "out\n");
  EXPECT_EQ(ReadAll(**host, spec.job_id, OutputStream::kStderr), "err\n");
  const std::string dir = root + "/" + spec.job_id;
  struct stat st;
  ASSERT_EQ(lstat(dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, alice->uid);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  ASSERT_EQ(lstat((dir + "/stdout").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, alice->uid);
  EXPECT_EQ(st.st_mode & 07777, 0600u);

  // A failed start removes the directory it made.
  ProcessSpec missing = spec;
  missing.job_id = NewJobId();
  missing.program = "cmdctl-it-no-such-program";
  EXPECT_EQ(
      (*host)->Start(missing, std::make_shared<TestObserver>()).status().code(),
      absl::StatusCode::kNotFound);
  EXPECT_FALSE(fs::exists(root + "/" + missing.job_id));
}

TEST(LinuxProcessHostOutputDirTest, WritableByOthersIsRefused) {
  const std::string root = "/tmp/cmdctl-it-output-dir-open";
  fs::create_directories(root);
  fs::permissions(root, fs::perms(0777));
  LinuxProcessHostOptions options = TestHostOptions();
  options.output_dir = root;
  EXPECT_EQ(LinuxProcessHost::Create(options).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace cmdctl::host_test

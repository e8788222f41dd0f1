// LinuxProcessHost with real processes, real users, real cgroups. Runs as
// root (like CI); makes its own users cmdctl-it-*.
// This file: stopping: grace, escapees, zombies, the process-group fallback.
#include "integration_tests/os_adapter/host_fixture.h"

namespace cmdctl::host_test {
namespace {

using ::testing::HasSubstr;
using ::testing::UnorderedElementsAreArray;

TEST_F(LinuxProcessHostTest, TermIgnoringJobIsKilledAfterTheGracePeriod) {
  // The stop policy of the domain, on the host's own timer.
  ProcessSpec spec =
      Spec("sh", {"-c", "trap '' TERM; echo ready; while :; do sleep 1; done"});
  auto observer = std::make_shared<TestObserver>();
  ASSERT_TRUE(host_->Start(spec, observer).ok());
  ASSERT_TRUE(WaitForStdout(*host_, *observer, spec.job_id, "ready"));
  ASSERT_TRUE(host_->Terminate(spec.job_id).ok());
  host_->RunAfter(absl::Milliseconds(300), [this, id = spec.job_id] {
    ASSERT_TRUE(host_->Kill(id).ok());
  });
  const std::optional<ExitInfo> exit = observer->WaitForExit();
  // Killed, not terminated: TERM was ignored.
  EXPECT_TRUE(SignaledWith(exit, SIGKILL)) << Describe(exit);
  if (!host_->cgroup_parent().empty()) {
    EXPECT_FALSE(fs::exists(CgroupDir(spec.job_id)));
  }
  // Stopping an ended job is a no-op.
  EXPECT_TRUE(host_->Terminate(spec.job_id).ok());
  EXPECT_TRUE(host_->Kill(spec.job_id).ok());
}

TEST_F(LinuxProcessHostTest, TerminateReachesProcessesThatLeftTheSession) {
  if (host_->cgroup_parent().empty()) GTEST_SKIP() << "needs cgroup v2";
  // The escapee reports the TERM it got; the main process catches TERM (so
  // its children get the default) and waits for the escapee.
  ProcessSpec spec =
      Spec("sh", {"-c",
                  "trap ':' TERM; "
                  "setsid sh -c 'trap \"echo escapee-got-term; exit 3\" TERM; "
                  "echo ready; sleep 1000 & wait' & "
                  "wait; wait"});
  auto observer = std::make_shared<TestObserver>();
  ASSERT_TRUE(host_->Start(spec, observer).ok());
  ASSERT_TRUE(WaitForStdout(*host_, *observer, spec.job_id, "ready"));
  ASSERT_TRUE(host_->Terminate(spec.job_id).ok());
  const std::optional<ExitInfo> exit = observer->WaitForExit();
  ASSERT_TRUE(exit.has_value());
  EXPECT_THAT(ReadAll(*host_, spec.job_id, OutputStream::kStdout),
              HasSubstr("escapee-got-term"));
}

// Runs a job that leaves a setsid() child and a double-forked grandchild,
// then stops it with Kill; neither survives.
TEST_F(LinuxProcessHostTest, KillLeavesNoSetsidOrDoubleForkEscapee) {
  if (host_->cgroup_parent().empty()) GTEST_SKIP() << "needs cgroup v2";
  ProcessSpec spec =
      Spec("sh", {"-c",
                  "setsid sleep 1000 & echo $!; (sleep 1001 & echo $!); "
                  "echo ready; wait"});
  auto observer = std::make_shared<TestObserver>();
  ASSERT_TRUE(host_->Start(spec, observer).ok());
  ASSERT_TRUE(WaitForStdout(*host_, *observer, spec.job_id, "ready"));
  std::vector<std::string> lines =
      absl::StrSplit(ReadAll(*host_, spec.job_id, OutputStream::kStdout), '\n');
  ASSERT_GE(lines.size(), 3u);
  std::vector<int> pidfds;
  for (int i = 0; i < 2; ++i) {
    int pid;
    ASSERT_TRUE(absl::SimpleAtoi(lines[i], &pid)) << lines[i];
    const int pidfd = PidfdOpen(pid);
    ASSERT_GE(pidfd, 0) << "escapee " << pid << " not running";
    // It is in the job's cgroup, whatever its session.
    const std::string cgroup =
        ReadProcFile(absl::StrCat("/proc/", pid, "/cgroup"));
    EXPECT_THAT(cgroup, HasSubstr(spec.job_id));
    pidfds.push_back(pidfd);
  }
  ASSERT_TRUE(host_->Kill(spec.job_id).ok());
  const std::optional<ExitInfo> exit = observer->WaitForExit();
  EXPECT_TRUE(SignaledWith(exit, SIGKILL)) << Describe(exit);
  // OnExit means the tree is gone.
  for (int pidfd : pidfds) {
    EXPECT_TRUE(PidfdEnded(pidfd));
    close(pidfd);
  }
  EXPECT_FALSE(fs::exists(CgroupDir(spec.job_id)));
}

TEST_F(LinuxProcessHostTest, EscapeesDieWhenTheMainProcessExits) {
  if (host_->cgroup_parent().empty()) GTEST_SKIP() << "needs cgroup v2";
  // The main process ends at once; what it left behind is killed before
  // OnExit reports the end.
  ProcessSpec spec = Spec("sh", {"-c", "setsid sleep 1002 & (sleep 1003 &)"});
  Result r = RunToEnd(spec);
  EXPECT_TRUE(ExitedWith(r.exit, 0)) << Describe(r.exit);
  EXPECT_FALSE(fs::exists(CgroupDir(spec.job_id)));
  EXPECT_FALSE(
      AnyProcessMentions(std::string("sleep\0"
                                     "1003",
                                     10)));
  EXPECT_FALSE(
      AnyProcessMentions(std::string("sleep\0"
                                     "1002",
                                     10)));
}

TEST_F(LinuxProcessHostTest, NoZombiesAfterAThousandShortJobs) {
  constexpr int kJobs = 1000;
  constexpr int kThreads = 4;
  // Each job is released once its end is seen, as the domain does once it
  // has recorded it; then the host holds no fd for it. (Unreleased, an ended
  // job keeps ~4: in the VM, whose init gives a hard RLIMIT_NOFILE of 4096,
  // the starts ran out of fds after ~560 jobs.)
  const int fds_before = OpenFds();
  std::atomic<int> failures{0};
  absl::Mutex mu;
  std::string first_failure;  // guarded by mu
  auto failed = [&](const std::string& why) {
    ++failures;
    absl::MutexLock l(&mu);
    if (first_failure.empty()) first_failure = why;
  };
  std::vector<std::string> ids[kThreads];
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = t; i < kJobs; i += kThreads) {
        // Every 10th job leaves a grandchild to be reparented to us.
        ProcessSpec spec =
            i % 10 == 0 ? Spec("sh", {"-c", "(true &)"}) : Spec("true");
        ids[t].push_back(spec.job_id);
        auto observer = std::make_shared<TestObserver>();
        absl::StatusOr<StartedProcess> started = host_->Start(spec, observer);
        if (!started.ok()) {
          failed(started.status().ToString());
          continue;
        }
        const std::optional<ExitInfo> exit = observer->WaitForExit();
        if (!ExitedWith(exit, 0)) failed(Describe(exit));
        host_->Release(spec.job_id);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0) << "the first: " << first_failure;
  EXPECT_LE(OpenFds(), fds_before + 8) << "fds held for released jobs";
  // Reparented grandchildren are reaped on SIGCHLD; give the loop time to
  // get there (a condition wait, not a timing assertion).
  const absl::Time deadline = absl::Now() + kTimeout;
  while (CountZombieChildren() > 0 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_EQ(CountZombieChildren(), 0);
  for (const auto& per_thread : ids) {
    for (const std::string& id : per_thread) {
      ASSERT_FALSE(fs::exists(CgroupDir(id))) << id;
    }
  }
}

TEST(LinuxProcessHostFallbackTest, KillReachesTheProcessGroupWithoutCgroups) {
  absl::StatusOr<test::TestUser> alice =
      test::EnsureTestUser("cmdctl-it-alice", {"cmdctl-it-team"});
  ASSERT_TRUE(alice.ok()) << alice.status();
  LinuxProcessHostOptions options = TestHostOptions();
  options.use_cgroups = false;
  absl::StatusOr<std::unique_ptr<LinuxProcessHost>> host =
      LinuxProcessHost::Create(options);
  ASSERT_TRUE(host.ok()) << host.status();
  EXPECT_TRUE((*host)->cgroup_parent().empty());
  ProcessSpec spec;
  spec.job_id = NewJobId();
  spec.program = "sh";
  spec.args = {"-c", "sleep 1004 & echo $!; echo ready; wait"};
  spec.run_as = "cmdctl-it-alice";
  auto observer = std::make_shared<TestObserver>();
  ASSERT_TRUE((*host)->Start(spec, observer).ok());
  ASSERT_TRUE(WaitForStdout(**host, *observer, spec.job_id, "ready"));
  int pid;
  ASSERT_TRUE(absl::SimpleAtoi(
      ReadAll(**host, spec.job_id, OutputStream::kStdout)
          .substr(
              0,
              ReadAll(**host, spec.job_id, OutputStream::kStdout).find('\n')),
      &pid));
  const int pidfd = PidfdOpen(pid);
  ASSERT_GE(pidfd, 0);
  ASSERT_TRUE((*host)->Kill(spec.job_id).ok());
  EXPECT_TRUE(SignaledWith(observer->WaitForExit(), SIGKILL));
  // The group member got SIGKILL too (it may take a moment to die: wait for
  // its pidfd, with a generous bound).
  struct pollfd p = {pidfd, POLLIN, 0};
  EXPECT_EQ(poll(&p, 1, 60000), 1);
  close(pidfd);
}

// The server dies (no destructor runs); the job keeps writing its output,
// which is a plain file of the user's.

}  // namespace
}  // namespace cmdctl::host_test

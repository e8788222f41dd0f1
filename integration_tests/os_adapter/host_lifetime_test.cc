// LinuxProcessHost with real processes, real users, real cgroups. Runs as
// root (like CI); makes its own users cmdctl-it-*.
// This file: a server crash, the host's timers, a non-root host.
#include "integration_tests/os_adapter/host_fixture.h"

namespace cmdctl::host_test {
namespace {

using ::testing::HasSubstr;
using ::testing::UnorderedElementsAreArray;

TEST(LinuxProcessHostCrashTest, JobKeepsWritingItsOutputWhenTheServerDies) {
  absl::StatusOr<test::TestUser> alice =
      test::EnsureTestUser("cmdctl-it-alice", {"cmdctl-it-team"});
  ASSERT_TRUE(alice.ok()) << alice.status();
  // Adopt the orphaned job, so that it can be reaped here in the end.
  ASSERT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
  const std::string flag = absl::StrCat("/tmp/cmdctl-it-crash-", NewJobId());
  const std::string id = NewJobId();
  int pipefd[2];
  ASSERT_EQ(pipe2(pipefd, O_CLOEXEC), 0);
  const pid_t server = fork();
  ASSERT_GE(server, 0);
  if (server == 0) {
    LinuxProcessHostOptions options = TestHostOptions();
    auto host = LinuxProcessHost::Create(options);
    std::string report = "create failed";
    if (host.ok()) {
      ProcessSpec spec;
      spec.job_id = id;
      spec.program = "sh";
      spec.args = {"-c", absl::StrCat("echo one; while [ ! -e ", flag,
                                      " ]; do sleep 0.05; done; echo two")};
      spec.run_as = "cmdctl-it-alice";
      absl::Status started =
          (*host)->Start(spec, std::make_shared<TestObserver>()).status();
      report = absl::StrCat(started.ToString(), " ", (*host)->cgroup_parent());
    }
    (void)!write(pipefd[1], report.data(), report.size());
    _exit(0);  // a crash: no destructor kills the job
  }
  close(pipefd[1]);
  std::string report;
  char buf[512];
  ssize_t n;
  while ((n = read(pipefd[0], buf, sizeof(buf))) > 0) report.append(buf, n);
  close(pipefd[0]);
  int status;
  ASSERT_EQ(waitpid(server, &status, 0), server);
  ASSERT_TRUE(absl::StartsWith(report, "OK")) << report;
  const std::string cgroup_parent = report.size() > 3 ? report.substr(3) : "";

  { std::ofstream(flag) << ""; }
  const std::string file =
      absl::StrCat(alice->home, "/.local/state/cmdctl/jobs/", id, "/stdout");
  const absl::Time deadline = absl::Now() + kTimeout;
  while (ReadProcFile(file) != "one\ntwo\n" && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_EQ(ReadProcFile(file), "one\ntwo\n");

  // Clean up: the job (now ours) and its cgroup.
  siginfo_t si;
  while (waitid(P_ALL, 0, &si, WEXITED) == 0) {
  }
  if (!cgroup_parent.empty()) {
    rmdir(absl::StrCat(cgroup_parent, "/", id).c_str());
  }
  prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
  fs::remove(flag);
}

TEST(LinuxProcessHostTimerTest, TimersRunInDeadlineOrderOnAHostThread) {
  LinuxProcessHostOptions options = TestHostOptions();
  options.use_cgroups = false;
  absl::StatusOr<std::unique_ptr<LinuxProcessHost>> host =
      LinuxProcessHost::Create(options);
  ASSERT_TRUE(host.ok()) << host.status();
  absl::Mutex mu;
  std::vector<int> order;
  std::vector<std::thread::id> threads;
  absl::Notification last;
  auto record = [&](int n) {
    return [&, n] {
      absl::MutexLock l(&mu);
      order.push_back(n);
      threads.push_back(std::this_thread::get_id());
    };
  };
  (*host)->RunAfter(absl::Milliseconds(100), record(3));
  const TimerId cancelled =
      (*host)->RunAfter(absl::Milliseconds(50), record(99));
  // Due timers run in the order they were made.
  (*host)->RunAfter(absl::Seconds(-1), record(1));
  (*host)->RunAfter(absl::ZeroDuration(), record(2));
  (*host)->RunAfter(absl::Milliseconds(150), [&] {
    record(4)();
    last.Notify();
  });
  (*host)->CancelTimer(cancelled);
  (*host)->CancelTimer(12345);  // unknown: a no-op
  ASSERT_TRUE(last.WaitForNotificationWithTimeout(kTimeout));
  absl::MutexLock l(&mu);
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3, 4}));
  for (const std::thread::id& id : threads) {
    EXPECT_NE(id, std::this_thread::get_id());
  }
}

TEST(LinuxProcessHostTimerTest, ATimerMayScheduleAnotherAndCallTheHost) {
  LinuxProcessHostOptions options = TestHostOptions();
  options.use_cgroups = false;
  absl::StatusOr<std::unique_ptr<LinuxProcessHost>> host =
      LinuxProcessHost::Create(options);
  ASSERT_TRUE(host.ok()) << host.status();
  LinuxProcessHost* h = host->get();
  absl::Notification done;
  absl::Status status;
  h->RunAfter(absl::ZeroDuration(), [&] {
    // No host lock is held while a timer runs.
    status = h->Terminate("no-such-job");
    h->RunAfter(absl::ZeroDuration(), [&] { done.Notify(); });
  });
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(kTimeout));
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
}

// A host that is not root runs jobs only as its own user.
TEST(LinuxProcessHostNonRootTest, RunsJobsOnlyAsItsOwnUser) {
  absl::StatusOr<test::TestUser> alice =
      test::EnsureTestUser("cmdctl-it-alice", {"cmdctl-it-team"});
  absl::StatusOr<test::TestUser> bob = test::EnsureTestUser("cmdctl-it-bob");
  ASSERT_TRUE(alice.ok() && bob.ok());
  // A state directory of bob's own: a server keeps its state only where
  // nobody else can write.
  const std::string state_dir =
      absl::StrCat("/tmp/cmdctl-it-bob-state-", getpid());
  ASSERT_EQ(mkdir(state_dir.c_str(), 0700), 0);
  ASSERT_EQ(chown(state_dir.c_str(), bob->uid, bob->gid), 0);
  // The host runs as bob: a launcher bob can reach, wherever the build is.
  absl::StatusOr<std::string> launcher =
      test::UserRunnableCopy(CMDCTL_LAUNCHER_PATH);
  ASSERT_TRUE(launcher.ok()) << launcher.status();
  int pipefd[2];
  ASSERT_EQ(pipe2(pipefd, O_CLOEXEC), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // The child reports one line per check through the pipe.
    std::string report;
    const gid_t groups[] = {bob->gid};
    if (setgroups(1, groups) != 0 || setresgid(bob->gid, bob->gid, bob->gid) ||
        setresuid(bob->uid, bob->uid, bob->uid)) {
      report = "drop failed\n";
    } else {
      LinuxProcessHostOptions options = TestHostOptions();
      options.state_dir = state_dir;
      options.launcher_path = *launcher;
      auto host = LinuxProcessHost::Create(options);
      if (!host.ok()) {
        report = absl::StrCat("create: ", host.status().ToString(), "\n");
      } else {
        ProcessSpec spec;
        spec.job_id = NewJobId();
        spec.program = "id";
        spec.args = {"-u"};
        spec.run_as = "cmdctl-it-alice";
        absl::Status as_alice =
            (*host)->Start(spec, std::make_shared<TestObserver>()).status();
        report += absl::StrCat("alice: ", as_alice.ToString(), "\n");
        spec.job_id = NewJobId();
        spec.run_as = "cmdctl-it-bob";
        auto observer = std::make_shared<TestObserver>();
        absl::Status as_bob = (*host)->Start(spec, observer).status();
        std::optional<ExitInfo> exit;
        if (as_bob.ok()) exit = observer->WaitForExit();
        report += absl::StrCat(
            "bob: ", as_bob.ToString(), " ", Describe(exit), " ",
            as_bob.ok() ? ReadAll(**host, spec.job_id, OutputStream::kStdout)
                        : "",
            "\n");
      }
    }
    (void)!write(pipefd[1], report.data(), report.size());
    _exit(0);
  }
  close(pipefd[1]);
  std::string report;
  char buf[4096];
  ssize_t n;
  while ((n = read(pipefd[0], buf, sizeof(buf))) > 0) report.append(buf, n);
  close(pipefd[0]);
  int status;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_THAT(report, HasSubstr("alice: PERMISSION_DENIED"));
  EXPECT_THAT(report, HasSubstr("cmdctld runs as cmdctl-it-bob and can only "
                                "run jobs as cmdctl-it-bob"));
  EXPECT_THAT(report,
              HasSubstr(absl::StrCat("bob: OK exit 0 ", bob->uid, "\n")));
  std::error_code ignored;
  fs::remove_all(state_dir, ignored);
}

}  // namespace
}  // namespace cmdctl::host_test

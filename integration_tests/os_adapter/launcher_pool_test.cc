// LauncherPool (os_adapter/launcher_pool.h) with the real cmdctl-launcher:
// the spare launcher a start takes, what happens to a spare that died or
// that nobody needs, and that a monitor still names its job. Runs as root.
#include "os_adapter/launcher_pool.h"

#include <signal.h>
#include <sys/wait.h>

#include "integration_tests/os_adapter/host_fixture.h"

namespace cmdctl::host_test {
namespace {

// The command line of `pid` once its exec is complete (posix_spawn may
// return before the kernel has set it up), at most 5 s.
std::string CmdlineOf(pid_t pid) {
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  std::string cmdline;
  while ((cmdline = ReadProcFile(absl::StrCat("/proc/", pid, "/cmdline")))
             .empty() &&
         absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  return cmdline;
}

// The argv of a launcher that has no request yet.
std::string SpareCmdline() {
  return std::string("cmdctl-launcher\0", 16) + std::string(128, ' ') +
         std::string(1, '\0');
}

// Waits (at most 5 s) until `pidfd`'s process has ended.
bool AwaitEnded(int pidfd) {
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (!PidfdEnded(pidfd)) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return true;
}

// True when `pid` is no child of ours any more (it was reaped).
bool Reaped(pid_t pid) {
  return waitpid(pid, nullptr, WNOHANG) < 0 && errno == ECHILD;
}

TEST(LauncherPoolTest, TakeHandsOutTheSpareAndRefillMakesTheNextOne) {
  LauncherPool pool(CMDCTL_LAUNCHER_PATH, nullptr);
  EXPECT_EQ(pool.spare_pid(), 0);
  pool.Refill();
  const pid_t spare = pool.spare_pid();
  ASSERT_GT(spare, 0);
  EXPECT_EQ(CmdlineOf(spare), SpareCmdline());
  pool.Refill();  // one spare at most
  EXPECT_EQ(pool.spare_pid(), spare);

  absl::StatusOr<SpawnedLauncher> taken = pool.Take();
  ASSERT_TRUE(taken.ok()) << taken.status();
  EXPECT_EQ(taken->pid, spare);
  EXPECT_EQ(pool.spare_pid(), 0);
  pool.Refill();
  EXPECT_GT(pool.spare_pid(), 0);
  EXPECT_NE(pool.spare_pid(), spare);
  KillAndReapLauncher(*taken);
  EXPECT_TRUE(Reaped(spare));
}

TEST(LauncherPoolTest, TakeWithoutASpareSpawnsALauncher) {
  LauncherPool pool(CMDCTL_LAUNCHER_PATH, nullptr);
  absl::StatusOr<SpawnedLauncher> taken = pool.Take();
  ASSERT_TRUE(taken.ok()) << taken.status();
  EXPECT_GT(taken->pid, 0);
  EXPECT_EQ(CmdlineOf(taken->pid), SpareCmdline());
  EXPECT_EQ(pool.spare_pid(), 0);
  KillAndReapLauncher(*taken);
  EXPECT_TRUE(Reaped(taken->pid));
}

TEST(LauncherPoolTest, ADeadSpareIsReapedAndReplaced) {
  LauncherPool pool(CMDCTL_LAUNCHER_PATH, nullptr);
  pool.Refill();
  const pid_t spare = pool.spare_pid();
  ASSERT_GT(spare, 0);
  const UniqueFd pidfd(PidfdOpen(spare));
  ASSERT_TRUE(pidfd);
  ASSERT_EQ(kill(spare, SIGKILL), 0);
  ASSERT_TRUE(AwaitEnded(pidfd.get()));

  absl::StatusOr<SpawnedLauncher> taken = pool.Take();
  ASSERT_TRUE(taken.ok()) << taken.status();
  EXPECT_NE(taken->pid, spare);
  EXPECT_TRUE(Reaped(spare)) << "the dead spare is left a zombie";
  KillAndReapLauncher(*taken);
}

TEST(LauncherPoolTest, DestroyingThePoolKillsAndReapsItsSpare) {
  pid_t spare = 0;
  UniqueFd pidfd;
  {
    LauncherPool pool(CMDCTL_LAUNCHER_PATH, nullptr);
    pool.Refill();
    spare = pool.spare_pid();
    ASSERT_GT(spare, 0);
    pidfd.reset(PidfdOpen(spare));
    ASSERT_TRUE(pidfd);
    EXPECT_FALSE(PidfdEnded(pidfd.get()));
  }
  EXPECT_TRUE(PidfdEnded(pidfd.get()));
  EXPECT_TRUE(Reaped(spare));
}

TEST(LauncherPoolTest, ALauncherWhoseServerWentAwayExits) {
  // A spare's server ended (crash, restart): the socket's other end closes
  // and the launcher leaves, without a job.
  LauncherPool pool(CMDCTL_LAUNCHER_PATH, nullptr);
  pool.Refill();
  absl::StatusOr<SpawnedLauncher> taken = pool.Take();
  ASSERT_TRUE(taken.ok()) << taken.status();
  taken->sock.reset();
  EXPECT_TRUE(AwaitEnded(taken->pidfd.get()));
  KillAndReapLauncher(*taken);
}

TEST_F(LinuxProcessHostTest, StartsUseTheSpareAndTheMonitorNamesItsJob) {
  // Several starts in a row, each taking the spare the last one left (or
  // spawning its own while the next spare is on its way): every job runs,
  // and each monitor's command line names its job.
  std::vector<std::string> ids;
  std::vector<std::shared_ptr<TestObserver>> observers;
  for (int i = 0; i < 5; ++i) {
    ProcessSpec spec = Spec("sleep", {"30"});
    auto observer = std::make_shared<TestObserver>();
    absl::StatusOr<StartedProcess> started = host_->Start(spec, observer);
    ASSERT_TRUE(started.ok()) << started.status();
    EXPECT_TRUE(AnyProcessMentions(spec.job_id)) << spec.job_id;
    ids.push_back(spec.job_id);
    observers.push_back(observer);
  }
  for (size_t i = 0; i < ids.size(); ++i) {
    ASSERT_TRUE(host_->Kill(ids[i]).ok());
    EXPECT_TRUE(SignaledWith(observers[i]->WaitForExit(), SIGKILL));
  }
}

TEST_F(LinuxProcessHostTest, AStartAfterTheSpareWasKilledStillRuns) {
  // Someone killed the waiting spare: the next start finds it dead and uses
  // a new launcher. (A start racing with the kill may fail as any start
  // whose launcher is killed does: INTERNAL, nothing left.)
  ASSERT_TRUE(RunToEnd(Spec("true")).exit.has_value());
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  int killed = 0;
  UniqueFd pidfd;
  while (killed == 0 && absl::Now() < deadline) {
    for (const test::ProcessInfo& p : test::ListProcesses()) {
      if (p.ppid != getpid() || p.cmdline != SpareCmdline()) continue;
      pidfd.reset(PidfdOpen(p.pid));
      if (pidfd && kill(p.pid, SIGKILL) == 0) ++killed;
    }
    if (killed == 0) absl::SleepFor(absl::Milliseconds(5));
  }
  ASSERT_EQ(killed, 1) << "no spare launcher of this host to kill";
  ASSERT_TRUE(AwaitEnded(pidfd.get()));
  Result r = RunToEnd(Spec("sh", {"-c", "echo after"}));
  ASSERT_TRUE(r.exit.has_value());
  EXPECT_EQ(r.out, "after\n");
}

}  // namespace
}  // namespace cmdctl::host_test

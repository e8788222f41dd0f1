// LinuxProcessHost with real processes, real users, real cgroups. Runs as
// root (like CI); makes its own users cmdctl-it-*.
#include "os_adapter/linux_process_host.h"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "integration_tests/common/runnable_copy.h"
#include "integration_tests/common/test_users.h"
#include "common/file_util.h"
#include "os_adapter/os_util.h"
#include "os_adapter/run_dir.h"
#include "os_adapter/random_id.h"

namespace cmdctl {
namespace {

using ::testing::HasSubstr;
using ::testing::UnorderedElementsAreArray;
namespace fs = std::filesystem;

constexpr absl::Duration kTimeout = absl::Seconds(60);

// Options for a host of this test process: one state directory for the
// process (removed at exit), and every job still running killed when the
// host goes, so that no job outlives its test.
LinuxProcessHostOptions TestHostOptions() {
  static const std::string* state_dir = [] {
    auto* dir = new std::string(
        absl::StrCat("/tmp/cmdctl-it-state-", getpid()));
    mkdir(dir->c_str(), 0700);
    atexit([] {
      std::error_code ignored;
      fs::remove_all(absl::StrCat("/tmp/cmdctl-it-state-", getpid()), ignored);
    });
    return dir;
  }();
  LinuxProcessHostOptions options;
  options.launcher_path = CMDCTL_LAUNCHER_PATH;
  options.state_dir = *state_dir;
  options.kill_jobs_on_destroy = true;
  return options;
}

// Records what the host reports about one job. (Waits use a CondVar, which
// the TSan build's annotations of Debian's Abseil model exactly.)
class TestObserver : public ProcessObserver {
 public:
  void OnOutput() override {
    absl::MutexLock l(&mu_);
    EXPECT_FALSE(exit_.has_value()) << "OnOutput after OnEnd";
    ++outputs_;
    changed_.SignalAll();
  }
  void OnEnd(const JobEnd& end) override {
    absl::MutexLock l(&mu_);
    EXPECT_FALSE(exit_.has_value()) << "OnEnd twice";
    EXPECT_FALSE(end.lost);
    exit_ = end.exit;
    changed_.SignalAll();
  }

  std::optional<ExitInfo> WaitForExit(absl::Duration timeout = kTimeout) {
    const absl::Time deadline = absl::Now() + timeout;
    absl::MutexLock l(&mu_);
    while (!exit_.has_value() && !changed_.WaitWithDeadline(&mu_, deadline)) {
    }
    return exit_;
  }
  bool ended() {
    absl::MutexLock l(&mu_);
    return exit_.has_value();
  }
  int outputs() {
    absl::MutexLock l(&mu_);
    return outputs_;
  }
  // Waits until OnOutput was called more than `seen` times or the job ended.
  int WaitForOutputAfter(int seen, absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    absl::MutexLock l(&mu_);
    while (outputs_ <= seen && !exit_.has_value() &&
           !changed_.WaitWithDeadline(&mu_, deadline)) {
    }
    return outputs_;
  }

 private:
  absl::Mutex mu_;
  absl::CondVar changed_;
  int outputs_ ABSL_GUARDED_BY(mu_) = 0;
  std::optional<ExitInfo> exit_ ABSL_GUARDED_BY(mu_);
};

// The seam's reader calls, through a fresh OutputReader each (an unknown job
// shows as OpenOutput's error).
absl::StatusOr<std::string> ReadOutput(ProcessHost& host, const std::string& id,
                                       OutputStream stream, int64_t offset,
                                       size_t max) {
  absl::StatusOr<std::unique_ptr<OutputReader>> reader = host.OpenOutput(OutputSource{id, "", std::nullopt});
  if (!reader.ok()) return reader.status();
  absl::StatusOr<StreamWindow> window = (*reader)->Window(stream);
  if (!window.ok()) return window.status();
  const int64_t available = std::max<int64_t>(window->end - offset, 0);
  std::string data(std::min<size_t>(max, available), '\0');
  absl::StatusOr<ReadResult> read =
      (*reader)->Read(stream, offset, absl::MakeSpan(data));
  if (!read.ok()) return read.status();
  data.resize(read->size);
  return data;
}

absl::StatusOr<int64_t> OutputSize(ProcessHost& host, const std::string& id,
                                   OutputStream stream) {
  absl::StatusOr<std::unique_ptr<OutputReader>> reader = host.OpenOutput(OutputSource{id, "", std::nullopt});
  if (!reader.ok()) return reader.status();
  absl::StatusOr<StreamWindow> window = (*reader)->Window(stream);
  if (!window.ok()) return window.status();
  return window->end;
}

absl::Status WatchOutput(ProcessHost& host, const std::string& id) {
  absl::StatusOr<std::unique_ptr<OutputReader>> reader = host.OpenOutput(OutputSource{id, "", std::nullopt});
  if (!reader.ok()) return reader.status();
  return (*reader)->Watch();
}

std::string ReadAll(ProcessHost& host, const std::string& id,
                    OutputStream stream) {
  std::string out;
  while (true) {
    absl::StatusOr<std::string> chunk =
        ReadOutput(host, id, stream, static_cast<int64_t>(out.size()), 4096);
    EXPECT_TRUE(chunk.ok()) << chunk.status();
    if (!chunk.ok() || chunk->empty()) return out;
    out += *chunk;
  }
}

// Waits, driven by OnOutput, until the job's stdout contains `needle`. As a
// reader must: arm the notification (WatchOutput), then look, then wait.
// Output written before the arming is in the file; output written after it
// raises OnOutput.
bool WaitForStdout(ProcessHost& host, TestObserver& observer,
                   const std::string& id, const std::string& needle) {
  const absl::Time deadline = absl::Now() + kTimeout;
  while (absl::Now() < deadline) {
    const int seen = observer.outputs();
    const absl::Status armed = WatchOutput(host, id);
    EXPECT_TRUE(armed.ok()) << armed;
    if (absl::StrContains(ReadAll(host, id, OutputStream::kStdout), needle)) {
      return true;
    }
    if (observer.ended()) {
      return absl::StrContains(ReadAll(host, id, OutputStream::kStdout),
                               needle);
    }
    observer.WaitForOutputAfter(seen, deadline - absl::Now());
  }
  return false;
}

// Whether a notification is armed for the job now: the want_notify flag
// of its monitor's status page (os_adapter/monitor_files.h).
uint32_t WantNotify(const std::string& id) {
  absl::StatusOr<UniqueFd> dir = OpenAt(
      AT_FDCWD, absl::StrCat(TestHostOptions().state_dir, "/jobs/", id),
      O_RDONLY | O_DIRECTORY);
  if (!dir.ok()) return 99;
  absl::StatusOr<std::shared_ptr<MonitorStatusPage>> page =
      MonitorStatusPage::Map(dir->get());
  if (!page.ok()) return 98;
  return (*page)->status().want_notify.load();
}

bool ExitedWith(const std::optional<ExitInfo>& e, int code) {
  return e && !e->signaled && e->exit_code == code;
}
bool SignaledWith(const std::optional<ExitInfo>& e, int sig) {
  return e && e->signaled && e->signal == sig;
}
std::string Describe(const std::optional<ExitInfo>& e) {
  if (!e) return "no exit";
  return e->signaled ? absl::StrCat("signal ", e->signal)
                     : absl::StrCat("exit ", e->exit_code);
}

// The content of a /proc file; empty when the process went away meanwhile
// (std::ifstream throws on such read errors).
std::string ReadProcFile(const std::string& path) {
  std::string out;
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0) out.append(buf, n);
  close(fd);
  return out;
}

// True when some process has `needle` in its command line.
bool AnyProcessMentions(const std::string& needle) {
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    const std::string cmdline = ReadProcFile(entry.path() / "cmdline");
    if (absl::StrContains(cmdline, needle)) return true;
  }
  return false;
}

// Zombie children of this process.
int CountZombieChildren() {
  int zombies = 0;
  const std::string self = std::to_string(getpid());
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    const std::string stat = ReadProcFile(entry.path() / "stat");
    const size_t close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::vector<std::string> f = absl::StrSplit(stat.substr(close + 2), ' ');
    if (f.size() > 1 && f[0] == "Z" && f[1] == self) ++zombies;
  }
  return zombies;
}

// The fds this process holds now (the count includes the one reading it).
int OpenFds() {
  int n = 0;
  for (const auto& entry : fs::directory_iterator("/proc/self/fd")) {
    (void)entry;
    ++n;
  }
  return n;
}

int PidfdOpen(pid_t pid) {
  return static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
}

// True once the process behind `pidfd` has ended.
bool PidfdEnded(int pidfd) {
  struct pollfd p = {pidfd, POLLIN, 0};
  return poll(&p, 1, 0) == 1;
}

std::map<std::string, std::string> StatusFields(const std::string& status) {
  std::map<std::string, std::string> fields;
  for (absl::string_view line : absl::StrSplit(status, '\n')) {
    const size_t colon = line.find(':');
    if (colon == absl::string_view::npos) continue;
    std::string value(
        absl::StripLeadingAsciiWhitespace(line.substr(colon + 1)));
    fields[std::string(line.substr(0, colon))] = value;
  }
  return fields;
}

class LinuxProcessHostTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ASSERT_EQ(geteuid(), 0u) << "the integration tests run as root";
    absl::StatusOr<test::TestUser> alice =
        test::EnsureTestUser("cmdctl-it-alice", {"cmdctl-it-team"});
    ASSERT_TRUE(alice.ok()) << alice.status();
    alice_ = new test::TestUser(*alice);
    absl::StatusOr<gid_t> team = test::EnsureTestGroup("cmdctl-it-team");
    ASSERT_TRUE(team.ok());
    team_gid_ = *team;
    // Every user the tests need exists before any host reaps children (a
    // reaping host would take useradd's exit status).
    for (const char* login : {"cmdctl-it-bob", "cmdctl-it-mal-state",
                              "cmdctl-it-mal-jobs", "cmdctl-it-mal-swap"}) {
      absl::StatusOr<test::TestUser> user = test::EnsureTestUser(login);
      ASSERT_TRUE(user.ok()) << user.status();
    }
    // The server holds a supplementary group of its own: it must not leak.
    absl::StatusOr<gid_t> server_group =
        test::EnsureTestGroup("cmdctl-it-server");
    ASSERT_TRUE(server_group.ok());
    server_gid_ = *server_group;
    const gid_t groups[] = {0, server_gid_};
    ASSERT_EQ(setgroups(2, groups), 0);
  }

  void SetUp() override {
    if (::testing::Test::HasFatalFailure()) return;
    LinuxProcessHostOptions options = TestHostOptions();
    options.reap_orphans = true;
    absl::StatusOr<std::unique_ptr<LinuxProcessHost>> host =
        LinuxProcessHost::Create(options);
    ASSERT_TRUE(host.ok()) << host.status();
    host_ = *std::move(host);
  }

  ProcessSpec Spec(const std::string& program,
                   std::vector<std::string> args = {},
                   const std::string& user = "cmdctl-it-alice") {
    ProcessSpec spec;
    spec.job_id = NewJobId();
    spec.program = program;
    spec.args = std::move(args);
    spec.run_as = user;
    return spec;
  }

  struct Result {
    std::string id;
    std::optional<ExitInfo> exit;
    std::string out;
    std::string err;
  };

  Result RunToEnd(const ProcessSpec& spec) {
    auto observer = std::make_shared<TestObserver>();
    absl::StatusOr<StartedProcess> started = host_->Start(spec, observer);
    EXPECT_TRUE(started.ok()) << started.status();
    Result r;
    r.id = spec.job_id;
    if (!started.ok()) return r;
    r.exit = observer->WaitForExit();
    r.out = ReadAll(*host_, spec.job_id, OutputStream::kStdout);
    r.err = ReadAll(*host_, spec.job_id, OutputStream::kStderr);
    return r;
  }

  std::string JobDir(const test::TestUser& user, const std::string& id) {
    return absl::StrCat(user.home, "/.local/state/cmdctl/jobs/", id);
  }

  std::string CgroupDir(const std::string& id) {
    return host_->cgroup_parent().empty()
               ? ""
               : absl::StrCat(host_->cgroup_parent(), "/", id);
  }

  // Nothing of a failed start is left: no record, no cgroup, no output
  // directory, no process.
  void ExpectNothingLeft(const std::string& id, const test::TestUser& user) {
    EXPECT_EQ(OutputSize(*host_, id, OutputStream::kStdout).status().code(),
              absl::StatusCode::kNotFound);
    EXPECT_EQ(host_->Terminate(id).code(), absl::StatusCode::kNotFound);
    if (!host_->cgroup_parent().empty()) {
      EXPECT_FALSE(fs::exists(CgroupDir(id)));
    }
    EXPECT_FALSE(fs::exists(JobDir(user, id)));
    EXPECT_FALSE(AnyProcessMentions(id));
  }

  static test::TestUser* alice_;
  static gid_t team_gid_;
  static gid_t server_gid_;
  std::unique_ptr<LinuxProcessHost> host_;
};

test::TestUser* LinuxProcessHostTest::alice_ = nullptr;
gid_t LinuxProcessHostTest::team_gid_ = 0;
gid_t LinuxProcessHostTest::server_gid_ = 0;

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
  const std::string state_dir = absl::StrCat("/tmp/cmdctl-it-bob-state-", getpid());
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
}  // namespace cmdctl

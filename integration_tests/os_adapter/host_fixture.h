// The fixture and helpers of the LinuxProcessHost integration tests: real
// processes, real users, real cgroups. Run as root (like CI); they make
// their own users cmdctl-it-*.
#ifndef CMDCTL_INTEGRATION_TESTS_OS_ADAPTER_HOST_FIXTURE_H_
#define CMDCTL_INTEGRATION_TESTS_OS_ADAPTER_HOST_FIXTURE_H_

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
#include "common/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "integration_tests/common/proc_files.h"
#include "integration_tests/common/runnable_copy.h"
#include "integration_tests/common/test_users.h"
#include "os_adapter/linux_process_host.h"
#include "os_adapter/os_util.h"
#include "os_adapter/random_id.h"
#include "os_adapter/run_dir.h"

namespace cmdctl::host_test {

using ::testing::HasSubstr;
using ::testing::UnorderedElementsAreArray;
namespace fs = std::filesystem;

constexpr absl::Duration kTimeout = absl::Seconds(60);

// Options for a host of this test process: one state directory for the
// process (removed at exit), and every job still running killed when the
// host goes, so that no job outlives its test.
inline LinuxProcessHostOptions TestHostOptions() {
  static const std::string* state_dir = [] {
    auto* dir =
        new std::string(absl::StrCat("/tmp/cmdctl-it-state-", getpid()));
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
inline absl::StatusOr<std::string> ReadOutput(ProcessHost& host,
                                              const std::string& id,
                                              OutputStream stream,
                                              int64_t offset, size_t max) {
  absl::StatusOr<std::unique_ptr<OutputReader>> reader =
      host.OpenOutput(OutputSource{id, "", std::nullopt});
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

inline absl::StatusOr<int64_t> OutputSize(ProcessHost& host,
                                          const std::string& id,
                                          OutputStream stream) {
  absl::StatusOr<std::unique_ptr<OutputReader>> reader =
      host.OpenOutput(OutputSource{id, "", std::nullopt});
  if (!reader.ok()) return reader.status();
  absl::StatusOr<StreamWindow> window = (*reader)->Window(stream);
  if (!window.ok()) return window.status();
  return window->end;
}

inline absl::Status WatchOutput(ProcessHost& host, const std::string& id) {
  absl::StatusOr<std::unique_ptr<OutputReader>> reader =
      host.OpenOutput(OutputSource{id, "", std::nullopt});
  if (!reader.ok()) return reader.status();
  return (*reader)->Watch();
}

inline std::string ReadAll(ProcessHost& host, const std::string& id,
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
inline bool WaitForStdout(ProcessHost& host, TestObserver& observer,
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
inline uint32_t WantNotify(const std::string& id) {
  absl::StatusOr<UniqueFd> dir =
      OpenAt(AT_FDCWD, absl::StrCat(TestHostOptions().state_dir, "/jobs/", id),
             O_RDONLY | O_DIRECTORY);
  if (!dir.ok()) return 99;
  absl::StatusOr<std::shared_ptr<MonitorStatusPage>> page =
      MonitorStatusPage::Map(dir->get());
  if (!page.ok()) return 98;
  return (*page)->status().want_notify.load();
}

inline bool ExitedWith(const std::optional<ExitInfo>& e, int code) {
  return e && !e->signaled && e->exit_code == code;
}
inline bool SignaledWith(const std::optional<ExitInfo>& e, int sig) {
  return e && e->signaled && e->signal == sig;
}
inline std::string Describe(const std::optional<ExitInfo>& e) {
  if (!e) return "no exit";
  return e->signaled ? absl::StrCat("signal ", e->signal)
                     : absl::StrCat("exit ", e->exit_code);
}

// The content of a /proc file; empty when the process went away meanwhile
// (std::ifstream throws on such read errors).
using test::AnyProcessMentions;
using test::ReadProcFile;

// Zombie children of this process.
inline int CountZombieChildren() {
  int zombies = 0;
  for (const test::ProcessInfo& p : test::ListProcesses()) {
    if (p.state == 'Z' && p.ppid == getpid()) ++zombies;
  }
  return zombies;
}

// The fds this process holds now (the count includes the one reading it).
inline int OpenFds() {
  int n = 0;
  for (const auto& entry : fs::directory_iterator("/proc/self/fd")) {
    (void)entry;
    ++n;
  }
  return n;
}

inline int PidfdOpen(pid_t pid) {
  return static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
}

// True once the process behind `pidfd` has ended.
inline bool PidfdEnded(int pidfd) {
  struct pollfd p = {pidfd, POLLIN, 0};
  return poll(&p, 1, 0) == 1;
}

inline std::map<std::string, std::string> StatusFields(
    const std::string& status) {
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

inline test::TestUser* LinuxProcessHostTest::alice_ = nullptr;
inline gid_t LinuxProcessHostTest::team_gid_ = 0;
inline gid_t LinuxProcessHostTest::server_gid_ = 0;

}  // namespace cmdctl::host_test

#endif  // CMDCTL_INTEGRATION_TESTS_OS_ADAPTER_HOST_FIXTURE_H_

#include "integration_tests/os_adapter/limits_fixture.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "integration_tests/common/proc_files.h"
#include "integration_tests/common/test_cgroups.h"
#include "integration_tests/common/test_users.h"
#include "os_adapter/random_id.h"

namespace cmdctl::it {
namespace {

namespace fs = std::filesystem;

using test::AnyProcessMentions;

}  // namespace

void EndObserver::OnEnd(const JobEnd& end) {
  absl::MutexLock l(&mu_);
  EXPECT_FALSE(end_.has_value()) << "OnEnd twice";
  end_ = end;
  changed_.SignalAll();
}

std::optional<JobEnd> EndObserver::Wait(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  absl::MutexLock l(&mu_);
  while (!end_.has_value() && !changed_.WaitWithDeadline(&mu_, deadline)) {
  }
  return end_;
}

bool EndObserver::ended() {
  absl::MutexLock l(&mu_);
  return end_.has_value();
}

std::string Describe(const ExitInfo& exit) {
  return exit.signaled ? absl::StrCat("signal ", exit.signal)
                       : absl::StrCat("exit ", exit.exit_code);
}

void Observed(const std::string& name, const std::string& value) {
  const ::testing::TestInfo* test =
      ::testing::UnitTest::GetInstance()->current_test_info();
  std::cout << "[ OBSERVED ] " << (test != nullptr ? test->name() : "") << ": "
            << name << " = " << value << std::endl;
  ::testing::Test::RecordProperty(name, value);
}

std::string* LimitsTest::work_dir_ = nullptr;

void LimitsTest::SetUpTestSuite() {
  ASSERT_EQ(geteuid(), 0u) << "the integration tests run as root";
  ASSERT_TRUE(test::EnsureTestUser(kAlice).ok());
  if (work_dir_ != nullptr) return;
  work_dir_ = new std::string(absl::StrCat("/tmp/cmdctl-it-limits-", getpid()));
  for (const char* sub : {"", "/state", "/out"}) {
    ASSERT_EQ(mkdir((*work_dir_ + sub).c_str(), 0755), 0) << *work_dir_ << sub;
  }
  chmod((*work_dir_ + "/state").c_str(), 0700);
  atexit([] {
    std::error_code ignored;
    fs::remove_all(absl::StrCat("/tmp/cmdctl-it-limits-", getpid()), ignored);
  });
}

void LimitsTest::TearDown() {
  host_.reset();  // kills what still runs
  test::RemoveTestCgroup(cgroup_);
}

void LimitsTest::StartHost(const std::vector<std::string>& controllers) {
  if (!controllers.empty()) {
    const absl::Status enabled = test::EnableTestControllers();
    if (!enabled.ok()) {
      if (test::CgroupControllersRequired()) {
        FAIL() << enabled << " (CMDCTL_REQUIRE_CGROUP_CONTROLLERS=1)";
      }
      GTEST_SKIP() << "needs the cgroup controllers: " << enabled.message();
    }
  }
  LinuxProcessHostOptions options;
  options.launcher_path = CMDCTL_LAUNCHER_PATH;
  options.state_dir = *work_dir_ + "/state";
  options.output_dir = *work_dir_ + "/out";
  options.reap_orphans = true;
  options.kill_jobs_on_destroy = true;
  absl::StatusOr<std::string> cgroup = test::NewTestCgroup("host", controllers);
  if (cgroup.ok()) {
    cgroup_ = *cgroup;
    options.cgroup_parent = cgroup_;
  } else {
    // No cgroup v2 to write to: the host's process-group fallback (no limit
    // can be enforced there either).
    ASSERT_TRUE(controllers.empty()) << cgroup.status();
    options.use_cgroups = false;
  }
  absl::StatusOr<std::unique_ptr<LinuxProcessHost>> host =
      LinuxProcessHost::Create(options);
  ASSERT_TRUE(host.ok()) << host.status();
  host_ = *std::move(host);
  ASSERT_EQ(host_->cgroup_parent(), cgroup_);
}

ProcessSpec LimitsTest::Spec(const std::string& program,
                             std::vector<std::string> args,
                             const ResourceLimits& limits,
                             const std::string& user) {
  ProcessSpec spec;
  spec.job_id = NewJobId();
  spec.program = program;
  spec.args = std::move(args);
  spec.run_as = user;
  spec.limits = limits;
  return spec;
}

LimitsTest::Ended LimitsTest::RunToEnd(const ProcessSpec& spec) {
  Ended r;
  auto observer = std::make_shared<EndObserver>();
  const absl::Time start = absl::Now();
  absl::StatusOr<StartedProcess> started = host_->Start(spec, observer);
  EXPECT_TRUE(started.ok()) << started.status();
  if (!started.ok()) return r;
  r.end = observer->Wait();
  r.wall = absl::Now() - start;
  EXPECT_TRUE(r.end.has_value()) << "job " << spec.job_id << " did not end";
  if (!r.end) return r;
  r.out = ReadOutput(spec.job_id, started->host_state, *r.end,
                     OutputStream::kStdout);
  r.err = ReadOutput(spec.job_id, started->host_state, *r.end,
                     OutputStream::kStderr);
  return r;
}

std::string LimitsTest::ReadOutput(const std::string& id,
                                   const std::string& host_state,
                                   const JobEnd& end, OutputStream stream) {
  absl::StatusOr<std::unique_ptr<OutputReader>> reader =
      host_->OpenOutput(OutputSource{id, host_state, end.output});
  EXPECT_TRUE(reader.ok()) << reader.status();
  if (!reader.ok()) return "";
  std::string out;
  for (;;) {
    std::string chunk(4096, '\0');
    absl::StatusOr<ReadResult> read = (*reader)->Read(
        stream, static_cast<int64_t>(out.size()), absl::MakeSpan(chunk));
    EXPECT_TRUE(read.ok()) << read.status();
    if (!read.ok() || read->size == 0) return out;
    out.append(chunk.data(), read->size);
  }
}

std::string LimitsTest::JobCgroup(const std::string& id) const {
  return cgroup_.empty() ? "" : absl::StrCat(cgroup_, "/", id);
}

void LimitsTest::ExpectNothingLeft(const std::string& id) {
  EXPECT_EQ(host_->Stats(id).status().code(), absl::StatusCode::kNotFound);
  const std::vector<std::string> leftovers = host_->Leftovers();
  EXPECT_EQ(std::count(leftovers.begin(), leftovers.end(), id), 0);
  EXPECT_FALSE(fs::exists(absl::StrCat(*work_dir_, "/state/jobs/", id)))
      << "a run directory (record)";
  EXPECT_FALSE(fs::exists(absl::StrCat(*work_dir_, "/out/", id)))
      << "an output directory";
  if (!cgroup_.empty()) {
    EXPECT_FALSE(fs::exists(JobCgroup(id))) << "a cgroup";
  }
  EXPECT_FALSE(AnyProcessMentions(id)) << "a process";
}

}  // namespace cmdctl::it

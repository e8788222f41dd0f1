// cmdctld's resource control end to end (SPEC §5a, §8): limits it cannot
// enforce are refused naming the controller and start nothing, defaults it
// cannot enforce stop it at start, timeouts and the per-identity quota; and,
// where the test can give it the cgroup controllers (the VM of
// ci/vm-tests.sh), its defaults applied and enforced as ceilings. Each
// server runs in a fresh cgroup of the test's own (test_cgroups.h).
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <functional>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "integration_tests/common/test_cgroups.h"
#include "integration_tests/rpc/cmdctld_fixture.h"

namespace cmdctl::it {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kMiB = 1 << 20;

// The names in a directory ("." and ".." aside); none if it is missing.
std::vector<std::string> Entries(const std::string& dir) {
  std::vector<std::string> names;
  if (DIR* d = opendir(dir.c_str())) {
    while (struct dirent* e = readdir(d)) {
      const std::string name = e->d_name;
      if (name != "." && name != "..") names.push_back(name);
    }
    closedir(d);
  }
  return names;
}

// The cgroups in a cgroup directory.
std::vector<std::string> ChildCgroups(const std::string& dir) {
  std::vector<std::string> names;
  for (const std::string& name : Entries(dir)) {
    if (!absl::StrContains(name, ".")) names.push_back(name);
  }
  return names;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return std::string(absl::StripTrailingAsciiWhitespace(ss.str()));
}

v1::RunProcessRequest Request(const std::string& command,
                              const std::vector<std::string>& args) {
  v1::RunProcessRequest request;
  request.set_command(command);
  for (const std::string& a : args) request.add_args(a);
  return request;
}

// No server is started by SetUp: each test starts its own.
class CmdctldLimitsTest : public CmdctldTest {
 protected:
  void SetUp() override { ASSERT_EQ(geteuid(), 0u) << "runs as root"; }
  void TearDown() override {
    CmdctldTest::TearDown();
    server_.reset();  // kills the server and its jobs
    test::RemoveTestCgroup(cgroup_);
  }

  // Servers start in a fresh cgroup offering `controllers` from now on.
  // Without them the test skips, or fails under
  // CMDCTL_REQUIRE_CGROUP_CONTROLLERS=1 (check IsSkipped()). Without a
  // writable cgroup v2 (and no controllers wanted) servers start here.
  void UseCgroup(const std::vector<std::string>& controllers) {
    if (!controllers.empty()) {
      const absl::Status enabled = test::EnableTestControllers();
      if (!enabled.ok()) {
        if (test::CgroupControllersRequired()) {
          FAIL() << enabled << " (CMDCTL_REQUIRE_CGROUP_CONTROLLERS=1)";
        }
        GTEST_SKIP() << "needs the cgroup controllers: " << enabled.message();
      }
    }
    absl::StatusOr<std::string> cgroup =
        test::NewTestCgroup("server", controllers);
    if (!controllers.empty()) {
      ASSERT_TRUE(cgroup.ok()) << cgroup.status();
    }
    if (cgroup.ok()) server_cgroup_ = cgroup_ = *cgroup;
  }

  std::string cgroup_;  // the one UseCgroup made (server_cgroup_ may differ)

  grpc::Status RunRequest(v1::ProcessService::Stub* stub,
                          const v1::RunProcessRequest& request,
                          v1::RunProcessResponse* response) {
    grpc::Status status = stub->RunProcess(Context().get(), request, response);
    if (response->status().pid() > 0)
      orphans_.push_back(response->status().pid());
    return status;
  }
};

TEST_F(CmdctldLimitsTest,
       UnenforceableLimitIsFailedPreconditionAndStartsNothing) {
  UseCgroup({});
  StartServer();
  auto alice = Stub(fixture->alice);
  struct Case {
    const char* what;
    std::function<void(v1::ResourceLimits*)> set;
    const char* controller;
  };
  const Case cases[] = {
      {"memory", [](auto* l) { l->set_memory_bytes(64 * kMiB); }, " memory "},
      {"cpus", [](auto* l) { l->set_cpu_millicores(500); }, " cpu "},
      {"pids", [](auto* l) { l->set_pids(8); }, " pids "},
      {"io read", [](auto* l) { l->set_io_read_bytes_per_second(kMiB); },
       " io "},
      {"io write", [](auto* l) { l->set_io_write_bytes_per_second(kMiB); },
       " io "},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    v1::RunProcessRequest request = Request("sleep", {"30"});
    c.set(request.mutable_limits());
    v1::RunProcessResponse response;
    grpc::Status status = RunRequest(alice.get(), request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION)
        << status.error_message();
    EXPECT_THAT(status.error_message(), HasSubstr(c.controller));
    EXPECT_EQ(response.job_id(), "");
  }
  // Nothing started: no record, no run directory, no output, no cgroup.
  v1::ListProcessesResponse list;
  ASSERT_TRUE(alice->ListProcesses(Context().get(), {}, &list).ok());
  EXPECT_EQ(list.processes_size(), 0);
  EXPECT_THAT(Entries(server_->state_dir() + "/jobs"), ::testing::IsEmpty());
  EXPECT_THAT(Entries(work_.path() + "/out"), ::testing::IsEmpty());
  if (!server_cgroup_.empty()) {
    EXPECT_THAT(ChildCgroups(server_cgroup_ + "/jobs"), ::testing::IsEmpty());
  }
  // Jobs without limits still run.
  const std::string id = Run(alice.get(), "echo", {"hi"});
  v1::ProcessStatus status = WaitForEnd(alice.get(), id);
  EXPECT_EQ(status.state(), v1::JOB_STATE_EXITED);
  EXPECT_EQ(status.exit_code(), 0);
  EXPECT_EQ(ReadAll(alice.get(), id).out, "hi\n");
}

TEST_F(CmdctldLimitsTest, DefaultsItCannotEnforceStopItAtStart) {
  UseCgroup({});
  for (auto [flag, controller] :
       {std::pair{"--default_memory=64M", "the memory controller"},
        std::pair{"--default_cpus=0.5", "the cpu controller"},
        std::pair{"--default_pids=16", "the pids controller"}}) {
    SCOPED_TRACE(flag);
    absl::StatusOr<std::unique_ptr<ServerProcess>> server =
        ServerProcess::Start(ServerOptions({flag}));
    ASSERT_FALSE(server.ok()) << "started with " << flag;
    // It exited (not: it hung), saying why.
    EXPECT_EQ(server.status().code(), absl::StatusCode::kFailedPrecondition)
        << server.status();
    EXPECT_THAT(std::string(server.status().message()),
                HasSubstr(absl::StrCat("refusing to start: ", flag, ": ")));
    EXPECT_THAT(std::string(server.status().message()), HasSubstr(controller));
  }
}

TEST_F(CmdctldLimitsTest, TimeoutStopsTheJobWithTheServersGrace) {
  UseCgroup({});
  StartServer();  // --stop_grace=2s
  auto alice = Stub(fixture->alice);
  v1::RunProcessRequest request = Request("sleep", {"1000"});
  request.mutable_timeout()->set_seconds(1);
  v1::RunProcessResponse response;
  ASSERT_TRUE(RunRequest(alice.get(), request, &response).ok());
  EXPECT_EQ(response.status().timeout().seconds(), 1);
  v1::ProcessStatus status = WaitForEnd(alice.get(), response.job_id());
  EXPECT_EQ(status.state(), v1::JOB_STATE_STOPPED);
  EXPECT_TRUE(status.timed_out());
  EXPECT_EQ(status.signal(), SIGTERM);
  const int64_t ran_ms =
      (status.ended_at().seconds() - status.started_at().seconds()) * 1000 +
      (status.ended_at().nanos() - status.started_at().nanos()) / 1000000;
  EXPECT_GE(ran_ms, 1000);

  // A job that ignores SIGTERM is killed when the grace runs out.
  request = Request("sh", {"-c", "trap '' TERM; while :; do sleep 0.1; done"});
  request.mutable_timeout()->set_seconds(1);
  ASSERT_TRUE(RunRequest(alice.get(), request, &response).ok());
  status = WaitForEnd(alice.get(), response.job_id());
  EXPECT_EQ(status.state(), v1::JOB_STATE_STOPPED);
  EXPECT_TRUE(status.timed_out());
  EXPECT_EQ(status.signal(), SIGKILL);
  EXPECT_GE(status.ended_at().seconds() - status.started_at().seconds(), 2);

  // Without a timeout nothing stops it.
  const std::string id = Run(alice.get(), "sleep", {"3"});
  status = WaitForEnd(alice.get(), id);
  EXPECT_EQ(status.state(), v1::JOB_STATE_EXITED);
  EXPECT_FALSE(status.timed_out());
}

TEST_F(CmdctldLimitsTest, QuotaRefusesOneJobTooManyButServesOtherIdentities) {
  UseCgroup({});
  StartServer({"--max_jobs_per_identity=2"});
  auto alice = Stub(fixture->alice);
  auto bob = Stub(fixture->bob);
  const std::string first = Run(alice.get(), "sleep", {"1000"});
  // A start that fails takes no slot: the second one is still free.
  v1::RunProcessResponse response;
  grpc::Status failed =
      RunRequest(alice.get(),
                 Request("/nonexistent/cmdctl-no-such-program", {}), &response);
  EXPECT_EQ(failed.error_code(), grpc::StatusCode::NOT_FOUND)
      << failed.error_message();
  Run(alice.get(), "sleep", {"1000"});
  grpc::Status refused =
      RunRequest(alice.get(), Request("sleep", {"1000"}), &response);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(refused.error_message(), HasSubstr("--max_jobs_per_identity"));
  EXPECT_THAT(refused.error_message(), HasSubstr("at most 2"));
  // Another identity is served, and alice's other calls too.
  const std::string bobs = Run(bob.get(), "sleep", {"1000"});
  EXPECT_NE(bobs, "");
  v1::ListProcessesResponse list;
  ASSERT_TRUE(alice->ListProcesses(Context().get(), {}, &list).ok());
  EXPECT_EQ(list.processes_size(), 2);
  // An ended job frees its slot.
  ASSERT_TRUE(Stop(alice.get(), first).ok());
  const std::string again = Run(alice.get(), "sleep", {"1000"});
  EXPECT_NE(again, "");
  for (const auto& p : list.processes()) Stop(alice.get(), p.job_id());
  Stop(alice.get(), again);
  Stop(bob.get(), bobs);
}

TEST_F(CmdctldLimitsTest, ServerDefaultsAreAppliedAndEnforcedAsCeilings) {
  UseCgroup(test::AllTestControllers());
  if (IsSkipped() || HasFatalFailure()) return;
  StartServer(
      {"--default_memory=64M", "--default_cpus=1.5", "--default_pids=64"});
  auto alice = Stub(fixture->alice);
  // Nothing asked: the defaults, in the status and in the job's cgroup.
  const std::string id = Run(alice.get(), "sleep", {"60"});
  v1::ProcessStatus status;
  ASSERT_TRUE(GetStatus(alice.get(), id, &status).ok());
  EXPECT_EQ(status.limits().memory_bytes(), 64 * kMiB);
  EXPECT_EQ(status.limits().cpu_millicores(), 1500);
  EXPECT_EQ(status.limits().pids(), 64);
  EXPECT_EQ(status.limits().io_write_bytes_per_second(), 0);
  const std::string job_cgroup = absl::StrCat(server_cgroup_, "/jobs/", id);
  EXPECT_EQ(ReadFile(job_cgroup + "/memory.max"), "67108864");
  EXPECT_EQ(ReadFile(job_cgroup + "/cpu.max"), "150000 100000");
  EXPECT_EQ(ReadFile(job_cgroup + "/pids.max"), "64");
  ASSERT_TRUE(Stop(alice.get(), id).ok());

  // Less than the ceiling: as asked.
  v1::RunProcessRequest request = Request("true", {});
  request.mutable_limits()->set_memory_bytes(32 * kMiB);
  v1::RunProcessResponse response;
  ASSERT_TRUE(RunRequest(alice.get(), request, &response).ok());
  EXPECT_EQ(response.status().limits().memory_bytes(), 32 * kMiB);
  EXPECT_EQ(response.status().limits().pids(), 64);

  // More: INVALID_ARGUMENT naming both values.
  struct Over {
    std::function<void(v1::ResourceLimits*)> set;
    const char* asked;
    const char* ceiling;
  };
  for (const Over& o :
       {Over{[](auto* l) { l->set_memory_bytes(128 * kMiB); }, "134217728",
             "67108864"},
        Over{[](auto* l) { l->set_cpu_millicores(2000); }, "2000", "1500"},
        Over{[](auto* l) { l->set_pids(100); }, "100", "64"}}) {
    request = Request("true", {});
    o.set(request.mutable_limits());
    grpc::Status refused = RunRequest(alice.get(), request, &response);
    EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(refused.error_message(), HasSubstr(o.asked));
    EXPECT_THAT(refused.error_message(), HasSubstr(o.ceiling));
  }

  // Enforced: a job asking nothing is OOM-killed at the default.
  const std::string hog =
      Run(alice.get(), "dd",
          {"if=/dev/zero", "of=/dev/null", "bs=300M", "count=1"});
  status = WaitForEnd(alice.get(), hog);
  EXPECT_EQ(status.state(), v1::JOB_STATE_SIGNALED);
  EXPECT_EQ(status.signal(), SIGKILL);
  EXPECT_TRUE(status.oom_killed());
  EXPECT_GE(status.usage().memory_peak_bytes(), 48 * kMiB);
  EXPECT_LE(status.usage().memory_peak_bytes(), 64 * kMiB);
  std::cout << "[ OBSERVED ] the hog's memory peak: "
            << status.usage().memory_peak_bytes() << " bytes" << std::endl;
}

// cmdctld started in the leaf R/cmdctld of its subtree R, as systemd 254+
// starts it with DelegateSubgroup=cmdctld (deploy/cmdctld.service): it
// enables the controllers in R, is killed while a limited job runs, and the
// next one, started in the same leaf, takes the job up and enforces limits
// on new ones. Started in R itself instead (what systemd before 254 does
// with the main process of a restarted unit) it cannot even start: R gives
// controllers to its children, so no process may join it.
TEST_F(CmdctldLimitsTest, RestartIntoTheDelegatedLeafKeepsJobsAndLimits) {
  UseCgroup(test::AllTestControllers());
  if (IsSkipped() || HasFatalFailure()) return;
  const std::string root = server_cgroup_;
  server_cgroup_ = root + "/cmdctld";
  ASSERT_EQ(mkdir(server_cgroup_.c_str(), 0755), 0) << server_cgroup_;
  StartServer();
  auto alice = Stub(fixture->alice);
  v1::RunProcessRequest request = Request("sleep", {"1000"});
  request.mutable_limits()->set_memory_bytes(64 * kMiB);
  v1::RunProcessResponse response;
  ASSERT_TRUE(RunRequest(alice.get(), request, &response).ok());
  const std::string id = response.job_id();
  EXPECT_EQ(ReadFile(absl::StrCat(root, "/jobs/", id, "/memory.max")),
            "67108864");

  // No process may join R now (the kernel's no-internal-process rule).
  const pid_t child = fork();
  if (child == 0) {
    pause();
    _exit(0);
  }
  ASSERT_GT(child, 0);
  const int procs = open((root + "/cgroup.procs").c_str(), O_WRONLY);
  const std::string pid = absl::StrCat(child);
  const bool joined = write(procs, pid.data(), pid.size()) > 0;
  const int error = errno;
  close(procs);
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  EXPECT_FALSE(joined) << "a process joined " << root;
  EXPECT_EQ(error, EBUSY) << strerror(error);

  KillAndRestart();
  alice = Stub(fixture->alice);
  v1::ProcessStatus status;
  ASSERT_TRUE(GetStatus(alice.get(), id, &status).ok());
  EXPECT_EQ(status.state(), v1::JOB_STATE_RUNNING);
  EXPECT_EQ(status.limits().memory_bytes(), 64 * kMiB);
  request = Request("sleep", {"1000"});
  request.mutable_limits()->set_pids(8);
  ASSERT_TRUE(RunRequest(alice.get(), request, &response).ok())
      << "the restarted server enforces limits";
  EXPECT_EQ(
      ReadFile(absl::StrCat(root, "/jobs/", response.job_id(), "/pids.max")),
      "8");
  ASSERT_TRUE(Stop(alice.get(), id, absl::ZeroDuration(), &status).ok());
  EXPECT_EQ(status.state(), v1::JOB_STATE_STOPPED);
  ASSERT_TRUE(Stop(alice.get(), response.job_id()).ok());
}

}  // namespace
}  // namespace cmdctl::it

// Issue 14, point 2: a start that fails because the server is out of file
// descriptors is RESOURCE_EXHAUSTED naming the resource (never "unknown
// user"), and leaves no output directory, cgroup, state directory or record
// behind. Real EMFILE: a cmdctld with a low fd limit whose fds are taken,
// one by one, by connections that never start TLS, so that each start fails
// at another step (user lookup, state directory, cgroup, output, launcher,
// monitor files, records...) or succeeds.
#include <unistd.h>

#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "integration_tests/rpc/hardening_fixture.h"

namespace cmdctl::test {
namespace {

using ::testing::HasSubstr;
using ::testing::IsSubsetOf;
using ::testing::Not;

constexpr int kFdLimit = 96;

bool LooksLikeJobId(const std::string& name) {
  return name.size() == 36 && name[8] == '-' && name[13] == '-';
}

std::set<std::string> JobEntries(const std::string& dir) {
  std::set<std::string> out;
  for (const std::string& name : DirEntries(dir)) {
    if (LooksLikeJobId(name)) out.insert(name);
  }
  return out;
}

class ResourceErrorsTest : public HardeningTest,
                           public ::testing::WithParamInterface<bool> {
 protected:
  // Takes server fds with raw connections until it holds `target` (each
  // accepted connection is one fd). Empty when it holds more already.
  std::vector<UniqueFd> FillTo(int target) {
    std::vector<UniqueFd> held;
    while (ServerFdCount() < target) {
      const int before = ServerFdCount();
      absl::StatusOr<UniqueFd> fd = RawConnect(server().port());
      if (!fd.ok()) {
        ADD_FAILURE() << fd.status();
        break;
      }
      held.push_back(*std::move(fd));
      const absl::Time deadline = absl::Now() + absl::Seconds(10);
      while (ServerFdCount() <= before && absl::Now() < deadline) {
        absl::SleepFor(absl::Milliseconds(2));
      }
    }
    return held;
  }

  // The entries of `now` not in `before` that this server's log names.
  std::set<std::string> OwnNew(const std::set<std::string>& now,
                               const std::set<std::string>& before) {
    const std::string log = server().ReadLog();
    std::set<std::string> out;
    for (const std::string& id : now) {
      if (before.count(id) == 0 && log.find(id) != std::string::npos) {
        out.insert(id);
      }
    }
    return out;
  }

  // Waits until the server holds at most `n` fds (the connections it
  // closes after ours, the jobs it forgets).
  bool SettlesAt(int n) {
    const absl::Time deadline = absl::Now() + kBound;
    while (ServerFdCount() > n) {
      if (absl::Now() > deadline) return false;
      absl::SleepFor(absl::Milliseconds(10));
    }
    return true;
  }
};

TEST_P(ResourceErrorsTest, StartsOutOfFdsAreResourceExhaustedAndLeaveNothing) {
  output_in_home_ = GetParam();
  // The handshake bound is lifted: the connections must hold their fds.
  StartServer({"--max_connections=1000", "--max_connections_per_peer=1000",
               "--handshake_timeout=600s"},
              kFdLimit);
  auto stub = Stub(Pki().alice);
  ASSERT_TRUE(List(stub.get()).ok());
  const std::string outputs = JobsOutputDir();
  const std::string cgroups = CgroupParent();
  const std::string states = server().state_dir() + "/jobs";
  const std::set<std::string> outputs_before = JobEntries(outputs);
  const std::set<std::string> cgroups_before = JobEntries(cgroups);
  const int idle = ServerFdCount();

  std::set<std::string> started;
  int failures = 0;
  for (int spare = 0; spare <= 30; ++spare) {
    SCOPED_TRACE(absl::StrCat(spare, " fds to spare"));
    std::vector<UniqueFd> filler = FillTo(kFdLimit - spare);
    v1::RunProcessResponse response;
    grpc::Status status = Run(stub.get(), {"/bin/true"}, &response);
    if (status.ok()) {
      started.insert(response.job_id());
    } else {
      ++failures;
      EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
          << status.error_message();
      EXPECT_THAT(status.error_message(),
                  HasSubstr("Too many open files (EMFILE)"));
      EXPECT_THAT(status.error_message(), Not(HasSubstr("unknown user")));
    }
    filler.clear();
    if (status.ok()) WaitForEnd(stub.get(), response.job_id());
    ASSERT_TRUE(SettlesAt(idle)) << ServerFdCount() << " fds, idle " << idle;
    // Nothing of a failed start anywhere: every job directory, cgroup and
    // state directory is a started job's.
    std::set<std::string> outputs_now = JobEntries(outputs);
    for (const std::string& id : outputs_before) outputs_now.erase(id);
    EXPECT_THAT(outputs_now, IsSubsetOf(started)) << outputs;
    if (!cgroups.empty()) {
      // Other servers (other tests) may share the cgroup parent: only the
      // jobs this server named (it logs every start that failed) count.
      EXPECT_THAT(OwnNew(JobEntries(cgroups), cgroups_before),
                  IsSubsetOf(started))
          << cgroups;
    }
    EXPECT_THAT(JobEntries(states), IsSubsetOf(started)) << states;
  }
  // Both outcomes were seen: the test reached every step of a start.
  EXPECT_GT(failures, 3);
  EXPECT_GT(started.size(), 0u);
  // The records hold the started jobs, and only them.
  v1::ListProcessesResponse list;
  ASSERT_TRUE(stub->ListProcesses(Context().get(), {}, &list).ok());
  std::set<std::string> listed;
  for (const v1::ProcessStatus& p : list.processes()) listed.insert(p.job_id());
  EXPECT_EQ(listed, started);
  EXPECT_EQ(CountInLog(server().ReadLog(), "unknown user"), 0);
  for (const std::string& id : started) {
    EXPECT_TRUE(Remove(stub.get(), id).ok());
  }
}

INSTANTIATE_TEST_SUITE_P(OutputDirAndHome, ResourceErrorsTest,
                         ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "OutputInHome"
                                             : "OutputUnderOutputDir";
                         });

}  // namespace
}  // namespace cmdctl::test

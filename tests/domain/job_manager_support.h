// Helpers shared by the JobManager tests.
#ifndef CMDCTL_TESTS_DOMAIN_JOB_MANAGER_SUPPORT_H_
#define CMDCTL_TESTS_DOMAIN_JOB_MANAGER_SUPPORT_H_

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "domain/job_manager.h"
#include "gtest/gtest.h"
#include "tests/domain/domain_test_support.h"
#include "tests/fakes/fake_job_store.h"
#include "tests/fakes/fake_process_host.h"

namespace cmdctl::test {

inline const Caller kAlice{"alice", {"alice", "builder"}};
inline const Caller kBob{"bob", {"bob"}};

inline RunRequest Cmd(std::string command, std::vector<std::string> args = {}) {
  RunRequest req;
  req.command = std::move(command);
  req.args = std::move(args);
  return req;
}

// Records every completion of a Stop.
struct StopResult {
  int calls = 0;
  absl::StatusOr<JobStatus> result = absl::UnknownError("not called");

  std::function<void(absl::StatusOr<JobStatus>)> Callback() {
    return [this](absl::StatusOr<JobStatus> r) {
      ++calls;
      result = std::move(r);
    };
  }
};

// Every job of `owner`, newest first, walking every page.
inline std::vector<JobStatus> ListAll(JobManager& manager,
                                      const std::string& owner) {
  std::vector<JobStatus> all;
  JobQuery query;
  query.owner = owner;
  for (;;) {
    absl::StatusOr<StatusPage> page = manager.List(query);
    EXPECT_TRUE(page.ok()) << page.status();
    if (!page.ok()) return all;
    for (JobStatus& s : page->jobs) all.push_back(std::move(s));
    if (page->next_page_token.empty()) return all;
    query.page_token = page->next_page_token;
  }
}

inline std::vector<std::string> IdsOf(const std::vector<JobStatus>& jobs) {
  std::vector<std::string> ids;
  for (const JobStatus& s : jobs) ids.push_back(s.job_id);
  return ids;
}

// A following output request (the default) or a snapshot.
inline OutputRequest Follow() { return OutputRequest{}; }
inline OutputRequest Snapshot() {
  OutputRequest r;
  r.follow = false;
  return r;
}

// A manager over its own fake host and store.
struct ManagerBench {
  explicit ManagerBench(JobManagerOptions options = {})
      : manager(&host, &store, SequentialIds(), options) {}

  std::string RunOk(const Caller& caller, const RunRequest& req) {
    absl::StatusOr<JobStatus> status = manager.Run(caller, req);
    EXPECT_TRUE(status.ok()) << status.status();
    return status.ok() ? status->job_id : "";
  }

  FakeProcessHost host;
  FakeJobStore store;
  JobManager manager;
};

// A manager over a fake host and store, with helpers.
class JobManagerTest : public ::testing::Test {
 protected:
  JobManagerTest() : manager_(&host_, &store_, SequentialIds()) {}

  std::string RunOk(const Caller& caller, const RunRequest& req) {
    absl::StatusOr<JobStatus> status = manager_.Run(caller, req);
    EXPECT_TRUE(status.ok()) << status.status();
    return status.ok() ? status->job_id : "";
  }
  std::string RunSleep() { return RunOk(kAlice, Cmd("sleep", {"100"})); }

  JobStatus StatusOf(const std::string& id, const Caller& caller = kAlice) {
    absl::StatusOr<JobStatus> s = manager_.GetStatus(caller.identity, id);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? *s : JobStatus{};
  }

  FakeProcessHost host_;
  FakeJobStore store_;
  JobManager manager_;
};

}  // namespace cmdctl::test

#endif  // CMDCTL_TESTS_DOMAIN_JOB_MANAGER_SUPPORT_H_

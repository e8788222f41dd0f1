// The ProcessService over an in-process channel, with the OS seam faked
// (FakeProcessHost): no process is spawned, no wall-clock sleep. The caller
// is injected through test metadata instead of a TLS certificate. Shared by
// the service's test files (one per behaviour: run, scoping, stop, output,
// shutdown, audit).
//
// Under TSan the fixture skips: see StartServer. The stream's logic runs
// under TSan in output_pump_test.cc instead.
#ifndef CMDCTL_TESTS_RPC_PROCESS_SERVICE_FIXTURE_H_
#define CMDCTL_TESTS_RPC_PROCESS_SERVICE_FIXTURE_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "cmdctl/v1/cmdctl.grpc.pb.h"
#include "domain/authorization.h"
#include "domain/job_manager.h"
#include "gtest/gtest.h"
#include "rpc/server.h"
#include "tests/fakes/fake_job_store.h"
#include "tests/fakes/fake_process_host.h"

namespace cmdctl::test {

inline constexpr char kIdentityHeader[] = "x-test-identity";
inline constexpr char kPrincipalsHeader[] = "x-test-principals";
inline constexpr absl::Duration kBound = absl::Seconds(30);  // a hang guard

// The test's stand-in for the TLS peer: identity and principals from
// metadata; UNAUTHENTICATED without them.
absl::StatusOr<Caller> CallerFromTestMetadata(
    const grpc::CallbackServerContext& context);

// A host that tells the test when the server has sent TERM, so that a test
// can wait for it without polling.
class SignalWatchingHost : public FakeProcessHost {
 public:
  absl::Status Terminate(const std::string& job_id) override;
  TimerId RunAfter(absl::Duration delay, std::function<void()> fn) override;
  // Waits (on a condition) until a stop is under way: TERM sent and the
  // KILL timer armed, so that moving the clock now is meaningful.
  bool WaitForTerminate();

 private:
  absl::Mutex signal_mu_;
  int terminates_ ABSL_GUARDED_BY(signal_mu_) = 0;
  int timers_ ABSL_GUARDED_BY(signal_mu_) = 0;
};

struct Output {
  std::string out;
  std::string err;
  std::vector<std::pair<v1::OutputStream, std::string>> chunks;
  grpc::Status status;
};

class ProcessServiceTest : public ::testing::Test {
 protected:
  void SetUp() override { StartServer(/*chunk_bytes=*/4); }
  void TearDown() override;

  void StartServer(size_t chunk_bytes, OutputReadOptions output_reads = {});

  std::string NextJobId();

  static std::unique_ptr<grpc::ClientContext> As(
      const std::string& identity, const std::vector<std::string>& principals);
  static std::unique_ptr<grpc::ClientContext> Alice() {
    return As("alice", {"alice", "svc"});
  }
  static std::unique_ptr<grpc::ClientContext> Bob() {
    return As("bob", {"bob"});
  }

  // Starts `command` as alice; fails the test if that fails.
  std::string RunAsAlice(const std::string& command,
                         const std::vector<std::string>& args = {});

  grpc::Status Run(grpc::ClientContext* context, v1::RunProcessRequest request,
                   v1::RunProcessResponse* response = nullptr);

  grpc::Status GetStatus(grpc::ClientContext* context, const std::string& id,
                         v1::ProcessStatusResponse* response = nullptr);

  Output ReadAll(grpc::ClientContext* context, const std::string& id,
                 bool snapshot);

  SignalWatchingHost host_;
  test::FakeJobStore store_;
  std::atomic<int> ids_{0};
  std::unique_ptr<JobManager> jobs_;
  std::unique_ptr<CmdctlServer> server_;
  std::unique_ptr<v1::ProcessService::Stub> stub_;
};

}  // namespace cmdctl::test

#endif  // CMDCTL_TESTS_RPC_PROCESS_SERVICE_FIXTURE_H_

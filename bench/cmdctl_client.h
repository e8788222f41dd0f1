// The cmdctl side of the benchmarks: the project's generated client stack
// over mutual TLS, plus a callback-API follower for the scale figures.
#ifndef CMDCTL_BENCH_CMDCTL_CLIENT_H_
#define CMDCTL_BENCH_CMDCTL_CLIENT_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "cmdctl/v1/cmdctl.grpc.pb.h"

namespace cmdctl::bench {

struct ClientConfig {
  std::string server;  // host:port
  std::string ca, cert, key;
  std::string tls_server_name;  // SNI/verification name override; may be empty.
};

// A channel of its own (its own TCP+TLS connection), connected.
absl::StatusOr<std::shared_ptr<grpc::Channel>> Connect(
    const ClientConfig& config, int connection_index);

class CmdctlClient {
 public:
  explicit CmdctlClient(std::shared_ptr<grpc::Channel> channel)
      : channel_(std::move(channel)),
        stub_(v1::ProcessService::NewStub(channel_)) {}

  v1::ProcessService::Stub* stub() { return stub_.get(); }

  // RunProcess; the job id.
  absl::StatusOr<std::string> Run(const std::string& command,
                                  const std::vector<std::string>& args);
  // GetProcessStatus; the whole status, or its current state.
  absl::StatusOr<v1::ProcessStatus> Status(const std::string& job_id);
  absl::StatusOr<v1::JobState> State(const std::string& job_id);
  // ListProcesses: one page (the first when page_token is empty).
  absl::StatusOr<v1::ListProcessesResponse> List(
      int page_size, v1::JobState state = v1::JOB_STATE_UNSPECIFIED,
      const std::string& page_token = "");
  // RemoveProcess of an ended job.
  absl::Status Remove(const std::string& job_id);
  // StopProcess; the final state.
  absl::StatusOr<v1::JobState> Stop(const std::string& job_id,
                                    absl::Duration grace);
  // Follows the job's output to its end; on_stdout gets each stdout chunk as
  // it arrives. Returns the number of messages received.
  absl::StatusOr<int64_t> Follow(
      const std::string& job_id,
      const std::function<void(absl::string_view)>& on_stdout);

 private:
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::ProcessService::Stub> stub_;
};

// Counts finished followers; lets the bench wait for all of them.
class DoneLatch {
 public:
  void CountDown() {
    absl::MutexLock lock(&mu_);
    ++done_;
  }
  // True once `n` have finished, false after `timeout`.
  bool WaitFor(int n, absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    auto reached = [this, n]()
                       ABSL_SHARED_LOCKS_REQUIRED(mu_) { return done_ >= n; };
    return mu_.AwaitWithTimeout(absl::Condition(&reached), timeout);
  }
  int done() {
    absl::MutexLock lock(&mu_);
    return done_;
  }

 private:
  absl::Mutex mu_;
  int done_ ABSL_GUARDED_BY(mu_) = 0;
};

// One follower of a job's output on the callback API (no thread of its own).
// Checks the stdout bytes against PatternByte: every byte when `full_check`,
// else the first and last byte of every message (cheap on the client, which
// shares the CPUs with the server being measured).
class PatternFollower
    : public grpc::ClientReadReactor<v1::ProcessOutputResponse> {
 public:
  PatternFollower(v1::ProcessService::Stub* stub, const std::string& job_id,
                  bool full_check, DoneLatch* latch);
  void Start();
  void Cancel() { context_.TryCancel(); }

  void OnReadDone(bool ok) override;
  void OnDone(const grpc::Status& status) override;

  // Valid once the latch counted this follower.
  uint64_t bytes() const { return bytes_; }
  uint64_t mismatches() const { return mismatches_; }
  const grpc::Status& status() const { return status_; }

 private:
  v1::ProcessService::Stub* stub_;
  grpc::ClientContext context_;
  v1::ProcessOutputRequest request_;
  v1::ProcessOutputResponse response_;
  bool full_check_;
  DoneLatch* latch_;
  // Touched only by the reactions, which gRPC serialises for one call.
  uint64_t bytes_ = 0;
  uint64_t mismatches_ = 0;
  grpc::Status status_;
};

}  // namespace cmdctl::bench

#endif  // CMDCTL_BENCH_CMDCTL_CLIENT_H_

// What the hardening tests (issue 14) share: a real cmdctld with the flags
// and fd limit a test asks for, mutual-TLS stubs, and raw TCP connections
// that never start TLS (the unauthenticated client of the issue).
#ifndef CMDCTL_INTEGRATION_TESTS_RPC_HARDENING_FIXTURE_H_
#define CMDCTL_INTEGRATION_TESTS_RPC_HARDENING_FIXTURE_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "cmdctl/v1/cmdctl.grpc.pb.h"
#include "common/unique_fd.h"
#include "gtest/gtest.h"
#include "integration_tests/common/server_process.h"
#include "integration_tests/common/test_pki.h"

namespace cmdctl::test {

// The run-as user of every hardening test, and of no other test: tests
// that look for what a failed start left in its home see only their own.
inline constexpr char kUser[] = "cmdctl-it-hard";
// A bound against hangs, never a timing assertion.
inline constexpr absl::Duration kBound = absl::Seconds(60);

// Certificates, made once per test program.
struct HardeningPki {
  HardeningPki();
  TempDir dir;
  TestCa ca;
  IssuedCert server, alice, bob;
  std::string ca_path, cert_path, key_path;
};

class HardeningTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite();
  void SetUp() override;

  static const HardeningPki& Pki();

  // Starts cmdctld with output under out_dir() (unless output_in_home_, or
  // `flags` set --output_dir), --stop_grace=2s, `flags`, and `fd_limit`
  // (> 0: its RLIMIT_NOFILE, which it cannot raise).
  void StartServer(const std::vector<std::string>& flags = {},
                   int fd_limit = 0);

  // A channel of its own (its own connection) to `address` (default: the
  // server's 127.0.0.1 address), verifying the server as "localhost".
  std::shared_ptr<grpc::Channel> Channel(const IssuedCert& cert,
                                         const std::string& address = "");
  std::unique_ptr<v1::ProcessService::Stub> Stub(
      const IssuedCert& cert, const std::string& address = "");
  static std::unique_ptr<grpc::ClientContext> Context(
      absl::Duration timeout = kBound);

  // ListProcesses, the cheapest real call. `wait_for_ready`: a refused or
  // failed connection is tried again (gRPC's reconnect backoff) until the
  // timeout, as a patient client would.
  static grpc::Status List(v1::ProcessService::Stub* stub,
                           absl::Duration timeout = kBound,
                           bool wait_for_ready = false);
  // RunProcess `argv` as the caller's default user.
  static grpc::Status Run(v1::ProcessService::Stub* stub,
                          const std::vector<std::string>& argv,
                          v1::RunProcessResponse* response);
  // Polls GetProcessStatus until the job has ended (bounded).
  static v1::ProcessStatus WaitForEnd(v1::ProcessService::Stub* stub,
                                      const std::string& job_id);
  static grpc::Status Stop(v1::ProcessService::Stub* stub,
                           const std::string& job_id);
  static grpc::Status Remove(v1::ProcessService::Stub* stub,
                             const std::string& job_id);

  // The cgroup directory the server puts jobs under (from its log; empty
  // for the process-group fallback).
  std::string CgroupParent() const;

  // The server's open fds now, and what they point to (readlink).
  int ServerFdCount() const;
  std::vector<std::string> ServerFdTargets() const;

  const std::string& out_dir() const { return out_dir_; }
  // Where the server puts job output: out_dir(), or the user's
  // ~/.local/state/cmdctl/jobs once output_in_home_ is set.
  std::string JobsOutputDir() const;
  ServerProcess& server() { return *server_; }

  TempDir work_;
  std::string out_dir_;
  // StartServer without --output_dir: output under the user's home.
  bool output_in_home_ = false;
  std::unique_ptr<ServerProcess> server_;
};

// A TCP connection to 127.0.0.1:`port` (or `to`) from `from` (an address of
// the loopback net such as "127.0.0.2", so that it counts as another
// client address; empty: the kernel's choice) that sends nothing.
absl::StatusOr<UniqueFd> RawConnect(int port, const std::string& from = "",
                                    const std::string& to = "127.0.0.1");
// True when the server closed `fd` (EOF or reset) within `timeout`; reads
// and drops whatever else arrives meanwhile.
bool ClosedWithin(int fd, absl::Duration timeout);

// What a directory holds (names; none when it does not exist).
std::vector<std::string> DirEntries(const std::string& dir);

// Lines of `log` that contain `what`.
int CountInLog(const std::string& log, const std::string& what);

}  // namespace cmdctl::test

#endif  // CMDCTL_INTEGRATION_TESTS_RPC_HARDENING_FIXTURE_H_

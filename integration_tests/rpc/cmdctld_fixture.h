// The fixture of the cmdctld end-to-end tests: a real server (child process)
// on 127.0.0.1:0 with certificates made by the test, real unix users, real
// TLS 1.3, real jobs, and helpers for the calls. Runs as root.
#ifndef CMDCTL_INTEGRATION_TESTS_RPC_CMDCTLD_FIXTURE_H_
#define CMDCTL_INTEGRATION_TESTS_RPC_CMDCTLD_FIXTURE_H_

#include <grpcpp/grpcpp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cmdctl/v1/cmdctl.grpc.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "integration_tests/common/server_process.h"
#include "integration_tests/common/test_pki.h"
#include "integration_tests/common/test_users.h"
#include "tls/tls_policy.h"

namespace cmdctl::it {

using ::cmdctl::test::CpuTicks;
using ::cmdctl::test::IssuedCert;
using ::cmdctl::test::RssKiB;
using ::cmdctl::test::RunWithInput;
using ::cmdctl::test::ServerProcess;
using ::cmdctl::test::ServerProcessOptions;
using ::cmdctl::test::TempDir;
using ::cmdctl::test::TestCa;

inline constexpr char kAlice[] = "cmdctl-it-alice";
inline constexpr char kBob[] = "cmdctl-it-bob";
// A bound against hangs, never a timing assertion.
inline constexpr absl::Duration kBound = absl::Seconds(60);

// Everything made once per test program: users, CAs, certificates.
struct Fixture {
  Fixture() : ca("cmdctl integration CA"), other_ca("some other CA") {
    server = ca.IssueServer();
    alice = ca.IssueClient("alice", {kAlice});
    bob = ca.IssueClient("bob", {kBob});
    admin = ca.IssueClient("admin", {"root"});
    expired_alice = ca.IssueExpiredClient("alice", {kAlice});
    foreign_alice = other_ca.IssueClient("alice", {kAlice});
    ca_path = dir.WriteFile("ca.pem", ca.cert_pem());
    cert_path = dir.WriteFile("server.pem", server.cert_pem);
    key_path = dir.WriteFile("server.key", server.key_pem);
    alice_cert = dir.WriteFile("alice.pem", alice.cert_pem);
    alice_key = dir.WriteFile("alice.key", alice.key_pem);
  }
  TempDir dir;
  TestCa ca;
  TestCa other_ca;
  IssuedCert server, alice, bob, admin, expired_alice, foreign_alice;
  std::string ca_path, cert_path, key_path, alice_cert, alice_key;
};
inline Fixture* fixture = nullptr;

class CmdctldTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ASSERT_TRUE(EnforceTls13Policy().ok());
    ASSERT_TRUE(cmdctl::test::EnsureTestUser(kAlice).ok());
    ASSERT_TRUE(cmdctl::test::EnsureTestUser(kBob).ok());
    if (fixture == nullptr) fixture = new Fixture();
  }

  void SetUp() override {
    ASSERT_EQ(geteuid(), 0u) << "integration tests run as root";
    StartServer();
  }

  void TearDown() override {
    for (int pid : orphans_) kill(pid, SIGKILL);
  }

  // The options StartServer uses: work_'s out/ as --output_dir, a 2 s
  // --stop_grace, then `extra_flags`; started in server_cgroup_ if set.
  ServerProcessOptions ServerOptions(
      const std::vector<std::string>& extra_flags = {}) {
    const std::string out = work_.path() + "/out";
    mkdir(out.c_str(), 0755);
    ServerProcessOptions options;
    options.binary = CMDCTLD_PATH;
    options.ca_path = fixture->ca_path;
    options.cert_path = fixture->cert_path;
    options.key_path = fixture->key_path;
    options.work_dir = work_.path();
    options.extra_flags = {"--output_dir=" + out, "--stop_grace=2s"};
    options.extra_flags.insert(options.extra_flags.end(), extra_flags.begin(),
                               extra_flags.end());
    options.cgroup = server_cgroup_;
    return options;
  }

  void StartServer(const std::vector<std::string>& extra_flags = {}) {
    absl::StatusOr<std::unique_ptr<ServerProcess>> server =
        ServerProcess::Start(ServerOptions(extra_flags));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }

  // The server dies (SIGKILL, as in a crash); its jobs run on. Then a new
  // server starts on the same state directory (a new port: make new stubs).
  void KillAndRestart(const std::vector<std::string>& extra_flags = {}) {
    server_->Kill();
    server_->ForgetJobs();
    server_.reset();
    StartServer(extra_flags);
  }

  std::shared_ptr<grpc::Channel> Channel(const IssuedCert* cert,
                                         grpc::ChannelArguments args = {},
                                         const std::string* ca_pem = nullptr) {
    grpc::SslCredentialsOptions tls;
    tls.pem_root_certs = ca_pem != nullptr ? *ca_pem : fixture->ca.cert_pem();
    if (cert != nullptr) {
      tls.pem_private_key = cert->key_pem;
      tls.pem_cert_chain = cert->cert_pem;
    }
    // Each channel its own connection, as separate clients have.
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    return grpc::CreateCustomChannel(server_->address(),
                                     grpc::SslCredentials(tls), args);
  }

  std::unique_ptr<v1::ProcessService::Stub> Stub(const IssuedCert& cert) {
    return v1::ProcessService::NewStub(Channel(&cert));
  }

  static std::unique_ptr<grpc::ClientContext> Context() {
    auto context = std::make_unique<grpc::ClientContext>();
    context->set_deadline(absl::ToChronoTime(absl::Now() + kBound));
    return context;
  }

  // Starts a job and remembers its pid for cleanup.
  std::string Run(v1::ProcessService::Stub* stub, const std::string& command,
                  const std::vector<std::string>& args,
                  const std::string& run_as = "") {
    v1::RunProcessRequest request;
    request.set_command(command);
    for (const auto& a : args) request.add_args(a);
    request.set_run_as(run_as);
    v1::RunProcessResponse response;
    grpc::Status status = stub->RunProcess(Context().get(), request, &response);
    EXPECT_TRUE(status.ok())
        << status.error_code() << " " << status.error_message();
    if (response.status().pid() > 0)
      orphans_.push_back(response.status().pid());
    return response.job_id();
  }

  grpc::Status GetStatus(v1::ProcessService::Stub* stub, const std::string& id,
                         v1::ProcessStatus* out = nullptr) {
    v1::ProcessStatusRequest request;
    request.set_job_id(id);
    v1::ProcessStatusResponse response;
    grpc::Status status =
        stub->GetProcessStatus(Context().get(), request, &response);
    if (out != nullptr) *out = response.status();
    return status;
  }

  // Polls until the job has ended (integration tests may poll; the bound
  // only guards against a hang).
  v1::ProcessStatus WaitForEnd(v1::ProcessService::Stub* stub,
                               const std::string& id) {
    const absl::Time deadline = absl::Now() + kBound;
    v1::ProcessStatus status;
    while (absl::Now() < deadline) {
      EXPECT_TRUE(GetStatus(stub, id, &status).ok());
      if (status.state() != v1::JOB_STATE_RUNNING) return status;
      absl::SleepFor(absl::Milliseconds(20));
    }
    ADD_FAILURE() << "job " << id << " did not end";
    return status;
  }

  grpc::Status Stop(v1::ProcessService::Stub* stub, const std::string& id,
                    absl::Duration grace = absl::ZeroDuration(),
                    v1::ProcessStatus* out = nullptr) {
    v1::StopProcessRequest request;
    request.set_job_id(id);
    request.mutable_grace_period()->set_seconds(absl::ToInt64Seconds(grace));
    v1::StopProcessResponse response;
    grpc::Status status =
        stub->StopProcess(Context().get(), request, &response);
    if (out != nullptr) *out = response.status();
    return status;
  }

  struct Output {
    std::string out, err;
    grpc::Status status;
  };
  static Output ReadAll(v1::ProcessService::Stub* stub, const std::string& id,
                        bool snapshot = false) {
    auto context = Context();
    v1::ProcessOutputRequest request;
    request.set_job_id(id);
    request.set_snapshot(snapshot);
    auto reader = stub->GetProcessOutput(context.get(), request);
    Output output;
    v1::ProcessOutputResponse message;
    while (reader->Read(&message)) {
      (message.stream() == v1::OUTPUT_STREAM_STDOUT ? output.out
                                                    : output.err) +=
          message.data();
    }
    output.status = reader->Finish();
    return output;
  }

  absl::StatusOr<test::CommandResult> SClient(
      const std::vector<std::string>& extra) {
    std::vector<std::string> argv = {"/usr/bin/openssl",
                                     "s_client",
                                     "-connect",
                                     server_->address(),
                                     "-CAfile",
                                     fixture->ca_path,
                                     "-cert",
                                     fixture->alice_cert,
                                     "-key",
                                     fixture->alice_key,
                                     "-alpn",
                                     "h2"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return RunWithInput(argv, "", absl::Seconds(30));
  }

  TempDir work_;
  std::string server_cgroup_;  // where StartServer starts it (empty: here)
  std::unique_ptr<ServerProcess> server_;
  std::vector<int> orphans_;
};

}  // namespace cmdctl::it

#endif  // CMDCTL_INTEGRATION_TESTS_RPC_CMDCTLD_FIXTURE_H_

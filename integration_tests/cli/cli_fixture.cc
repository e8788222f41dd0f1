#include "integration_tests/cli/cli_fixture.h"

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <optional>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"

namespace cmdctl::test {

using ::testing::MatchesRegex;

std::string Describe(const ProcessResult& r) {
  return absl::StrCat("exit ", r.exit_code, r.timed_out ? " (timed out)" : "",
                      "\n--- stdout:\n", r.out, "\n--- stderr:\n", r.err);
}

TestUser* CliTest::user_ = nullptr;
TempDir* CliTest::dir_ = nullptr;
TestCa* CliTest::ca_ = nullptr;
ServerProcess* CliTest::server_ = nullptr;
std::string CliTest::address_, CliTest::server_log_, CliTest::ca_pem_,
    CliTest::server_pem_, CliTest::server_key_, CliTest::alice_pem_,
    CliTest::alice_key_, CliTest::bob_pem_, CliTest::bob_key_,
    CliTest::stranger_pem_, CliTest::stranger_key_, CliTest::home_,
    CliTest::empty_home_;

void CliTest::SetUpTestSuite() {
  absl::StatusOr<TestUser> user = EnsureTestUser(kJobUser);
  ASSERT_TRUE(user.ok()) << user.status();
  user_ = new TestUser(*user);
  dir_ = new TempDir();
  ca_ = new TestCa("cmdctl cli test CA");
  const std::string& d = dir_->path();
  ca_pem_ = dir_->WriteFile("ca.pem", ca_->cert_pem());
  IssuedCert server = ca_->IssueServer();
  server_pem_ = dir_->WriteFile("server.pem", server.cert_pem);
  server_key_ = dir_->WriteFile("server.key", server.key_pem);
  IssuedCert alice = ca_->IssueClient("alice", {kJobUser, "root"});
  alice_pem_ = dir_->WriteFile("alice.pem", alice.cert_pem);
  alice_key_ = dir_->WriteFile("alice.key", alice.key_pem);
  IssuedCert bob = ca_->IssueClient("bob", {kJobUser});
  bob_pem_ = dir_->WriteFile("bob.pem", bob.cert_pem);
  bob_key_ = dir_->WriteFile("bob.key", bob.key_pem);
  TestCa other("another CA");
  IssuedCert stranger = other.IssueClient("alice", {kJobUser});
  stranger_pem_ = dir_->WriteFile("stranger.pem", stranger.cert_pem);
  stranger_key_ = dir_->WriteFile("stranger.key", stranger.key_pem);
  // A home with alice's files where cmdctl looks by default.
  empty_home_ = d + "/empty-home";
  home_ = d + "/home";
  for (const std::string& p :
       {empty_home_, home_, home_ + "/.config", home_ + "/.config/cmdctl"}) {
    ASSERT_EQ(mkdir(p.c_str(), 0700), 0) << p;
  }
  dir_->WriteFile("home/.config/cmdctl/client.pem", alice.cert_pem);
  dir_->WriteFile("home/.config/cmdctl/client.key", alice.key_pem);
  dir_->WriteFile("home/.config/cmdctl/ca.pem", ca_->cert_pem());

  absl::StatusOr<std::unique_ptr<ServerProcess>> shared =
      ServerProcess::Start(ServerOptions("shared", {}));
  ASSERT_TRUE(shared.ok()) << shared.status();
  server_ = shared->release();
  server_log_ = server_->log_path();
  address_ = server_->address();
}

ServerProcessOptions CliTest::ServerOptions(
    const std::string& name, const std::vector<std::string>& flags) {
  ServerProcessOptions options;
  options.binary = CMDCTLD_BIN;
  options.ca_path = ca_pem_;
  options.cert_path = server_pem_;
  options.key_path = server_key_;
  options.work_dir = absl::StrCat(dir_->path(), "/", name);
  mkdir(options.work_dir.c_str(), 0755);
  options.extra_flags = flags;
  return options;
}

void CliTest::TearDownTestSuite() {
  delete server_;
  server_ = nullptr;
  delete ca_;
  delete dir_;
  delete user_;
}

std::vector<std::string> CliTest::AliceEnv(const std::string& address) {
  return {"HOME=" + empty_home_,
          "PATH=/usr/bin:/bin",
          "CMDCTL_SERVER=" + (address.empty() ? address_ : address),
          "CMDCTL_CERT=" + alice_pem_,
          "CMDCTL_KEY=" + alice_key_,
          "CMDCTL_CA=" + ca_pem_};
}

std::vector<std::string> CliTest::BobEnv() {
  return {"HOME=" + empty_home_,       "PATH=/usr/bin:/bin",
          "CMDCTL_SERVER=" + address_, "CMDCTL_CERT=" + bob_pem_,
          "CMDCTL_KEY=" + bob_key_,    "CMDCTL_CA=" + ca_pem_};
}

ProcessResult CliTest::Cli(const std::vector<std::string>& args,
                           const std::vector<std::string>& env) {
  std::vector<std::string> argv{CMDCTL_BIN};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunProcess(argv, env);
}

std::vector<std::string> CliTest::InAliceEnv(
    const std::vector<std::string>& argv, const std::string& address) {
  std::vector<std::string> out{"/usr/bin/env", "-i"};
  for (const std::string& variable : AliceEnv(address)) {
    out.push_back(variable);
  }
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
}

std::unique_ptr<BackgroundProcess> CliTest::CliInBackground(
    const std::vector<std::string>& args, const std::string& log,
    const std::string& address) {
  std::vector<std::string> argv{CMDCTL_BIN};
  argv.insert(argv.end(), args.begin(), args.end());
  return std::make_unique<BackgroundProcess>(InAliceEnv(argv, address), log);
}

std::string CliTest::UniqueMarker(const std::string& name) {
  static int counter = 0;
  return absl::StrCat(name, "-", getpid(), "-", ++counter);
}

std::vector<cmdctl::v1::ProcessStatus> CliTest::AliceJobs(
    const std::string& address) {
  ProcessResult r = Cli({"list", "--output=json"}, AliceEnv(address));
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  cmdctl::v1::ListProcessesResponse list;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(r.out, &list).ok())
      << r.out;
  return {list.processes().begin(), list.processes().end()};
}

std::vector<cmdctl::v1::ProcessStatus> CliTest::JobsWithArg(
    const std::string& marker) {
  std::vector<cmdctl::v1::ProcessStatus> jobs;
  for (const cmdctl::v1::ProcessStatus& job : AliceJobs()) {
    for (const std::string& arg : job.args()) {
      if (arg.find(marker) != std::string::npos) {
        jobs.push_back(job);
        break;
      }
    }
  }
  return jobs;
}

int CliTest::ServerRequests(const std::string& method,
                            const std::string& log) {
  std::ifstream in(log.empty() ? server_log_ : log);
  std::stringstream content;
  content << in.rdbuf();
  const std::string text = content.str();
  const std::string needle = " method=" + method + " ";
  int count = 0;
  for (size_t at = text.find(needle); at != std::string::npos;
       at = text.find(needle, at + 1)) {
    ++count;
  }
  return count;
}

ExtraServer CliTest::StartServer(const std::string& name,
                                 const std::vector<std::string>& flags) {
  ExtraServer server;
  server.options = ServerOptions(name, flags);
  absl::StatusOr<std::unique_ptr<ServerProcess>> process =
      ServerProcess::Start(server.options);
  EXPECT_TRUE(process.ok()) << "cmdctld " << name << ": " << process.status();
  if (!process.ok()) return server;
  server.process = *std::move(process);
  server.address = server.process->address();
  // Restarts listen where the first start did.
  server.options.extra_flags.push_back(
      absl::StrCat("--listen=", server.address));
  return server;
}

void CliTest::KillServer(ExtraServer& server) {
  ASSERT_NE(server.process, nullptr);
  server.process->Kill();
  server.process->ForgetJobs();  // the next one owns them
  server.process.reset();
}

void CliTest::RestartServer(ExtraServer& server) {
  ASSERT_EQ(server.process, nullptr);
  absl::StatusOr<std::unique_ptr<ServerProcess>> process =
      ServerProcess::Start(server.options);
  ASSERT_TRUE(process.ok()) << process.status();
  server.process = *std::move(process);
  ASSERT_EQ(server.process->address(), server.address);
}

std::string CliTest::Start(const std::vector<std::string>& run_args,
                           const std::string& address) {
  std::vector<std::string> args{"run"};
  args.insert(args.end(), run_args.begin(), run_args.end());
  ProcessResult r = Cli(args, AliceEnv(address));
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_THAT(r.out, MatchesRegex(kUuidLine)) << Describe(r);
  return r.out.substr(0, r.out.size() - 1);
}

void CliTest::AwaitEnd(const std::string& id) {
  ProcessResult r = Cli({"get-output", id});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
}

cmdctl::v1::ProcessStatus CliTest::StatusJson(const std::string& id,
                                              const std::string& address) {
  ProcessResult r = Cli({"get-status", "--output=json", id}, AliceEnv(address));
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  cmdctl::v1::ProcessStatus status;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(r.out, &status).ok())
      << r.out;
  return status;
}

}  // namespace cmdctl::test

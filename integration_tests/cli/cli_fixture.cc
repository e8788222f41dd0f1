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
BackgroundProcess* CliTest::server_ = nullptr;
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

  const std::string port_file = d + "/port";
  server_log_ = d + "/cmdctld.log";
  server_ = new BackgroundProcess(
      {CMDCTLD_BIN, "--listen=127.0.0.1:0", "--port_file=" + port_file,
       "--cert=" + server_pem_, "--key=" + server_key_, "--ca=" + ca_pem_},
      server_log_);
  std::optional<std::string> port = WaitForLine(port_file, "", *server_);
  ASSERT_TRUE(port.has_value()) << "cmdctld did not start; see " << server_log_;
  address_ = "127.0.0.1:" + *port;
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

std::vector<cmdctl::v1::ProcessStatus> CliTest::AliceJobs() {
  ProcessResult r = Cli({"list", "--output=json"});
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

int CliTest::ServerRequests(const std::string& method) {
  std::ifstream in(server_log_);
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
  const std::string port_file = absl::StrCat(dir_->path(), "/", name, "-port");
  std::vector<std::string> argv{CMDCTLD_BIN,
                                "--listen=127.0.0.1:0",
                                "--port_file=" + port_file,
                                "--cert=" + server_pem_,
                                "--key=" + server_key_,
                                "--ca=" + ca_pem_};
  argv.insert(argv.end(), flags.begin(), flags.end());
  ExtraServer server;
  server.process = std::make_unique<BackgroundProcess>(
      argv, absl::StrCat(dir_->path(), "/", name, "-cmdctld.log"));
  std::optional<std::string> port = WaitForLine(port_file, "", *server.process);
  EXPECT_TRUE(port.has_value()) << "cmdctld " << name << " did not start";
  if (port.has_value()) server.address = "127.0.0.1:" + *port;
  return server;
}

std::string CliTest::Start(const std::vector<std::string>& run_args) {
  std::vector<std::string> args{"run"};
  args.insert(args.end(), run_args.begin(), run_args.end());
  ProcessResult r = Cli(args);
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_THAT(r.out, MatchesRegex(kUuidLine)) << Describe(r);
  return r.out.substr(0, r.out.size() - 1);
}

void CliTest::AwaitEnd(const std::string& id) {
  ProcessResult r = Cli({"get-output", id});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
}

cmdctl::v1::ProcessStatus CliTest::StatusJson(const std::string& id) {
  ProcessResult r = Cli({"get-status", "--output=json", id});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  cmdctl::v1::ProcessStatus status;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(r.out, &status).ok())
      << r.out;
  return status;
}

}  // namespace cmdctl::test

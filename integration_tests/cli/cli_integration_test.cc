// The real cmdctl binary against a real cmdctld, over real mutual TLS 1.3,
// with certificates made by the test (SPEC §7).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "cmdctl/v1/cmdctl.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "integration_tests/cli/cli_harness.h"
#include "integration_tests/common/test_pki.h"
#include "integration_tests/common/test_users.h"

namespace cmdctl::test {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::MatchesRegex;
using ::testing::Not;
using ::testing::StartsWith;

constexpr char kJobUser[] = "cmdctl-it-cli";
constexpr char kUuidLine[] =
    "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\n";

// Exactly one line on stderr.
MATCHER(OneLine, "is one line ending in a newline") {
  return !arg.empty() && arg.back() == '\n' && arg.find('\n') == arg.size() - 1;
}

std::string Describe(const ProcessResult& r) {
  return absl::StrCat("exit ", r.exit_code, r.timed_out ? " (timed out)" : "",
                      "\n--- stdout:\n", r.out, "\n--- stderr:\n", r.err);
}

class CliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<TestUser> user = EnsureTestUser(kJobUser);
    ASSERT_TRUE(user.ok()) << user.status();
    user_ = new TestUser(*user);
    dir_ = new TempDir();
    ca_ = new TestCa("cmdctl cli test CA");
    const std::string& d = dir_->path();
    ca_pem_ = dir_->WriteFile("ca.pem", ca_->cert_pem());
    IssuedCert server = ca_->IssueServer();
    const std::string server_pem =
        dir_->WriteFile("server.pem", server.cert_pem);
    const std::string server_key =
        dir_->WriteFile("server.key", server.key_pem);
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
    server_pem_ = server_pem;
    server_key_ = server_key;

    const std::string port_file = d + "/port";
    server_log_ = d + "/cmdctld.log";
    server_ = new BackgroundProcess(
        {CMDCTLD_BIN, "--listen=127.0.0.1:0", "--port_file=" + port_file,
         "--cert=" + server_pem, "--key=" + server_key, "--ca=" + ca_pem_},
        server_log_);
    std::optional<std::string> port = WaitForLine(port_file, "", *server_);
    ASSERT_TRUE(port.has_value())
        << "cmdctld did not start; see " << server_log_;
    address_ = "127.0.0.1:" + *port;
  }

  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
    delete ca_;
    delete dir_;
    delete user_;
  }

  // The environment of a user with CMDCTL_* pointing at alice's files.
  static std::vector<std::string> AliceEnv() {
    return {"HOME=" + empty_home_,       "PATH=/usr/bin:/bin",
            "CMDCTL_SERVER=" + address_, "CMDCTL_CERT=" + alice_pem_,
            "CMDCTL_KEY=" + alice_key_,  "CMDCTL_CA=" + ca_pem_};
  }

  static std::vector<std::string> BobEnv() {
    return {"HOME=" + empty_home_,       "PATH=/usr/bin:/bin",
            "CMDCTL_SERVER=" + address_, "CMDCTL_CERT=" + bob_pem_,
            "CMDCTL_KEY=" + bob_key_,    "CMDCTL_CA=" + ca_pem_};
  }

  static ProcessResult Cli(const std::vector<std::string>& args,
                           const std::vector<std::string>& env = AliceEnv()) {
    std::vector<std::string> argv{CMDCTL_BIN};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunProcess(argv, env);
  }

  // Starts a job and returns its id (asserting success).
  static std::string Start(const std::vector<std::string>& run_args) {
    std::vector<std::string> args{"run"};
    args.insert(args.end(), run_args.begin(), run_args.end());
    ProcessResult r = Cli(args);
    EXPECT_EQ(r.exit_code, 0) << Describe(r);
    EXPECT_THAT(r.out, MatchesRegex(kUuidLine)) << Describe(r);
    return r.out.substr(0, r.out.size() - 1);
  }

  // Follows the job to its end (the output stream ends when the job has).
  static void AwaitEnd(const std::string& id) {
    ProcessResult r = Cli({"get-output", id});
    ASSERT_EQ(r.exit_code, 0) << Describe(r);
  }

  static cmdctl::v1::ProcessStatus StatusJson(const std::string& id) {
    ProcessResult r = Cli({"get-status", "--output=json", id});
    EXPECT_EQ(r.exit_code, 0) << Describe(r);
    cmdctl::v1::ProcessStatus status;
    EXPECT_TRUE(
        google::protobuf::util::JsonStringToMessage(r.out, &status).ok())
        << r.out;
    return status;
  }

  static TestUser* user_;
  static TempDir* dir_;
  static TestCa* ca_;
  static BackgroundProcess* server_;
  static std::string address_, server_log_, ca_pem_, server_pem_, server_key_;
  static std::string alice_pem_, alice_key_, bob_pem_, bob_key_;
  static std::string stranger_pem_, stranger_key_, home_, empty_home_;
};

TestUser* CliTest::user_ = nullptr;
TempDir* CliTest::dir_ = nullptr;
TestCa* CliTest::ca_ = nullptr;
BackgroundProcess* CliTest::server_ = nullptr;
std::string CliTest::address_, CliTest::server_log_, CliTest::ca_pem_,
    CliTest::server_pem_, CliTest::server_key_, CliTest::alice_pem_,
    CliTest::alice_key_, CliTest::bob_pem_, CliTest::bob_key_,
    CliTest::stranger_pem_, CliTest::stranger_key_, CliTest::home_,
    CliTest::empty_home_;

// --- run ---

TEST_F(CliTest, RunPrintsTheJobIdAloneOnALine) {
  ProcessResult r = Cli({"run", "true"});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_THAT(r.out, MatchesRegex(kUuidLine));
  EXPECT_THAT(r.err, IsEmpty());
}

TEST_F(CliTest, RunPassesProgramFlagsUntouched) {
  const std::string id = Start({"ls", "-la", "/"});
  AwaitEnd(id);
  cmdctl::v1::ProcessStatus status = StatusJson(id);
  EXPECT_EQ(status.command(), "ls");
  EXPECT_THAT(status.args(), ElementsAre("-la", "/"));
  EXPECT_EQ(status.exit_code(), 0);
  ProcessResult out = Cli({"get-output", id});
  EXPECT_THAT(out.out, HasSubstr("drwx"));   // -l: the long format
  EXPECT_THAT(out.out, HasSubstr(" ..\n"));  // -a: the dot entries
}

TEST_F(CliTest, RunWaitPassesEverythingAfterProgramToIt) {
  ProcessResult r = Cli({"run", "--wait", "printf", "%s|", "-la", "--help",
                         "--wait", "--as=root", "--server=x", "--", "-h"});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(r.out, "-la|--help|--wait|--as=root|--server=x|--|-h|");
}

TEST_F(CliTest, RunEchoHelpGoesToEcho) {
  ProcessResult r = Cli({"run", "--wait", "echo", "--help"});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  // coreutils' echo prints its own help; cmdctl's would say "cmdctl".
  EXPECT_THAT(r.out, HasSubstr("echo"));
  EXPECT_THAT(r.out, Not(HasSubstr("cmdctl")));
}

TEST_F(CliTest, RunShDashCKeepsTheScriptOneArgument) {
  ProcessResult r = Cli({"run", "--wait", "sh", "-c", "echo hi; echo $#", "x"});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(r.out, "hi\n0\n");
}

TEST_F(CliTest, DoubleDashLetsTheProgramNameStartWithADash) {
  ProcessResult r = Cli({"run", "--", "--weird-prog", "-x"});
  // Sent as the program: the server looks it up and does not find it.
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_THAT(r.err, AllOf(HasSubstr("--weird-prog"), OneLine()));
  EXPECT_THAT(r.out, IsEmpty());
  ProcessResult ok = Cli({"run", "--wait", "--", "printf", "%s", "-x"});
  EXPECT_EQ(ok.exit_code, 0) << Describe(ok);
  EXPECT_EQ(ok.out, "-x");
}

TEST_F(CliTest, RunWaitExitsWithTheJobsExitCode) {
  ProcessResult r = Cli({"run", "--wait", "sh", "-c", "exit 3"});
  EXPECT_EQ(r.exit_code, 3) << Describe(r);
  EXPECT_THAT(r.err, IsEmpty());
  ProcessResult zero = Cli({"run", "--wait", "true"});
  EXPECT_EQ(zero.exit_code, 0) << Describe(zero);
}

TEST_F(CliTest, RunWaitExitsWith128PlusTheSignal) {
  ProcessResult term = Cli({"run", "--wait", "sh", "-c", "kill -TERM $$"});
  EXPECT_EQ(term.exit_code, 128 + 15) << Describe(term);
  ProcessResult kill = Cli({"run", "--wait", "sh", "-c", "kill -KILL $$"});
  EXPECT_EQ(kill.exit_code, 128 + 9) << Describe(kill);
}

TEST_F(CliTest, RunWaitRoutesStdoutAndStderrExactly) {
  ProcessResult r = Cli({"run", "--wait", "sh", "-c",
                         "printf out1; printf err1 >&2; printf out2; "
                         "printf 'err2\\n' >&2"});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(r.out, "out1out2");
  EXPECT_EQ(r.err, "err1err2\n");
}

TEST_F(CliTest, RunWaitIsBinaryExact) {
  // Every byte value, no newline added or lost.
  std::string script = "printf '";
  std::string expected;
  for (int b = 0; b < 256; ++b) {
    absl::StrAppend(&script, "\\", (b >> 6) & 7, (b >> 3) & 7, b & 7);
    expected.push_back(static_cast<char>(b));
  }
  script += "'";
  ProcessResult r = Cli({"run", "--wait", "sh", "-c", script});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, expected);
}

TEST_F(CliTest, RunWaitStreamsLargeOutputCompletely) {
  ProcessResult r = Cli({"run", "--wait", "seq", "1", "200000"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::string expected;
  for (int i = 1; i <= 200000; ++i) absl::StrAppend(&expected, i, "\n");
  EXPECT_EQ(r.out.size(), expected.size());
  EXPECT_TRUE(r.out == expected);
}

TEST_F(CliTest, RunSetsEnvWorkdirAndDefaultUser) {
  ProcessResult r =
      Cli({"run", "--wait", "--env=FOO=bar", "--env", "X=1=2", "--workdir=/tmp",
           "sh", "-c", "echo \"$FOO $X $PWD $(id -un)\""});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(r.out, absl::StrCat("bar 1=2 /tmp ", kJobUser, "\n"));
}

TEST_F(CliTest, RunAsAnotherPrincipal) {
  ProcessResult r = Cli({"run", "--wait", "--as=root", "id", "-un"});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(r.out, "root\n");
}

TEST_F(CliTest, RunAsOutsidePrincipalsIsOneLinePermissionDenied) {
  ProcessResult r = Cli({"run", "--as=nobody", "true"});
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_THAT(r.err, AllOf(HasSubstr("permission denied"), HasSubstr("nobody"),
                           HasSubstr("principal:"), OneLine()));
  EXPECT_THAT(r.out, IsEmpty());
}

TEST_F(CliTest, RunMissingProgramIsOneLineServerError) {
  ProcessResult r = Cli({"run", "no-such-program-xyz"});
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_THAT(r.err, AllOf(StartsWith("cmdctl: "),
                           HasSubstr("no-such-program-xyz"), OneLine()));
}

TEST_F(CliTest, RunWaitInterruptDetachesAndLeavesTheJobRunning) {
  const std::string log = dir_->path() + "/detach.log";
  BackgroundProcess waiter(
      {"/usr/bin/env", "-i", "HOME=" + empty_home_, "CMDCTL_SERVER=" + address_,
       "CMDCTL_CERT=" + alice_pem_, "CMDCTL_KEY=" + alice_key_,
       "CMDCTL_CA=" + ca_pem_, CMDCTL_BIN, "run", "--wait", "sh", "-c",
       "echo started; exec sleep 1000"},
      log);
  // Streaming has begun, so the job exists and cmdctl knows its id.
  ASSERT_TRUE(WaitForLine(log, "started", waiter).has_value());
  ASSERT_EQ(kill(waiter.pid(), SIGINT), 0);
  EXPECT_EQ(waiter.Wait(absl::Seconds(60)), 128 + SIGINT);
  std::optional<std::string> id =
      WaitForLine(log, "cmdctl: detached; job ", waiter);
  ASSERT_TRUE(id.has_value());
  const std::string job_id = id->substr(0, id->find(' '));
  EXPECT_EQ(StatusJson(job_id).state(), cmdctl::v1::JOB_STATE_RUNNING);
  EXPECT_EQ(Cli({"stop", "--grace=0s", job_id}).exit_code, 0);
}

TEST_F(CliTest, ServerShutdownWhileWaitingIsOneLineNamingTheServer) {
  // A server of its own, to shut down.
  const std::string port_file = dir_->path() + "/shutdown-port";
  BackgroundProcess server(
      {CMDCTLD_BIN, "--listen=127.0.0.1:0", "--port_file=" + port_file,
       "--cert=" + server_pem_, "--key=" + server_key_, "--ca=" + ca_pem_},
      dir_->path() + "/shutdown-cmdctld.log");
  std::optional<std::string> port = WaitForLine(port_file, "", server);
  ASSERT_TRUE(port.has_value());
  const std::string address = "127.0.0.1:" + *port;
  const std::string log = dir_->path() + "/shutdown-client.log";
  BackgroundProcess waiter(
      {"/usr/bin/env", "-i", "HOME=" + empty_home_, "CMDCTL_SERVER=" + address,
       "CMDCTL_CERT=" + alice_pem_, "CMDCTL_KEY=" + alice_key_,
       "CMDCTL_CA=" + ca_pem_, CMDCTL_BIN, "run", "--wait", "sh", "-c",
       "echo started; exec sleep 1000"},
      log);
  ASSERT_TRUE(WaitForLine(log, "started", waiter).has_value());
  server.Stop();  // SIGTERM: graceful shutdown, jobs stopped
  EXPECT_EQ(waiter.Wait(absl::Seconds(60)), 1);
  std::optional<std::string> message = WaitForLine(log, "cmdctl: ", waiter);
  ASSERT_TRUE(message.has_value());
  EXPECT_THAT(*message,
              AllOf(HasSubstr("lost the connection"), HasSubstr(address)));
}

TEST_F(CliTest, ClosedStdoutEndsQuietlyLikeSigpipe) {
  // `cmdctl run --wait seq ... | head -1`: the reader goes away; cmdctl ends
  // as a program killed by SIGPIPE would, without an error message.
  ProcessResult r = RunProcess(
      {"/bin/bash", "-c",
       std::string(CMDCTL_BIN) + " run --wait seq 1 5000000 | head -n 1; " +
           "echo \"status ${PIPESTATUS[0]}\""},
      AliceEnv());
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(r.out, absl::StrCat("1\nstatus ", 128 + SIGPIPE, "\n"));
  EXPECT_THAT(r.err, IsEmpty());
}

// --- get-output ---

TEST_F(CliTest, GetOutputFollowsARunningJobUntilItEnds) {
  const std::string marker = user_->home + "/cli-follow-go";
  unlink(marker.c_str());
  const std::string id =
      Start({"sh", "-c",
             "echo first; while [ ! -e " + marker +
                 " ]; do sleep 0.05; done; echo second >&2; echo third"});
  const std::string log = dir_->path() + "/follow.log";
  BackgroundProcess follower(
      {"/usr/bin/env", "-i", "HOME=" + empty_home_, "CMDCTL_SERVER=" + address_,
       "CMDCTL_CERT=" + alice_pem_, "CMDCTL_KEY=" + alice_key_,
       "CMDCTL_CA=" + ca_pem_, CMDCTL_BIN, "get-output", id},
      log);
  // It prints what there is while the job is still running...
  EXPECT_EQ(WaitForLine(log, "first", follower),
            std::optional<std::string>(""));
  EXPECT_TRUE(follower.Running());
  // ...and ends once the job has, with everything.
  const std::string touch = "/usr/bin/touch";
  ASSERT_TRUE(RunCommand({touch, marker}).ok());
  EXPECT_EQ(follower.Wait(absl::Seconds(60)), 0);
  unlink(marker.c_str());
  ProcessResult all = Cli({"get-output", id});
  EXPECT_EQ(all.out, "first\nthird\n");
  EXPECT_EQ(all.err, "second\n");
}

TEST_F(CliTest, GetOutputFollowFalseReturnsWhileTheJobRuns) {
  const std::string id = Start({"sh", "-c", "echo ready; exec sleep 1000"});
  ProcessResult r;
  for (int i = 0; i < 600 && r.out != "ready\n"; ++i) {
    r = Cli({"get-output", "--follow=false", id});
    ASSERT_EQ(r.exit_code, 0) << Describe(r);
  }
  EXPECT_EQ(r.out, "ready\n");
  EXPECT_EQ(StatusJson(id).state(), cmdctl::v1::JOB_STATE_RUNNING);
  EXPECT_EQ(Cli({"stop", "--grace=0s", id}).exit_code, 0);
}

TEST_F(CliTest, GetOutputRoutesStreamsOfAnEndedJob) {
  const std::string id =
      Start({"sh", "-c", "printf 'a\\n'; printf 'b' >&2; printf 'c'"});
  AwaitEnd(id);
  ProcessResult r = Cli({"get-output", "--follow=false", id});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(r.out, "a\nc");
  EXPECT_EQ(r.err, "b");
}

TEST_F(CliTest, UnknownJobIsOneLineNotFoundNamingIt) {
  const std::string id = "0b9d2c4e-1f3a-4c5d-8e6f-7a8b9c0d1e2f";
  for (const char* command : {"get-output", "get-status", "stop"}) {
    ProcessResult r = Cli({command, id});
    EXPECT_EQ(r.exit_code, 1) << command << Describe(r);
    EXPECT_THAT(r.err, AllOf(HasSubstr("job " + id + " not found"), OneLine()))
        << command;
  }
}

TEST_F(CliTest, AnotherIdentitysJobIsNotFound) {
  const std::string id = Start({"true"});
  ProcessResult r = Cli({"get-status", id}, BobEnv());
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("not found"));
  ProcessResult list = Cli({"list"}, BobEnv());
  EXPECT_THAT(list.out, Not(HasSubstr(id)));
}

// --- get-status ---

TEST_F(CliTest, GetStatusTextSaysStateCodeTimes) {
  const std::string id = Start({"sh", "-c", "exit 3"});
  AwaitEnd(id);
  ProcessResult r = Cli({"get-status", id});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_THAT(r.out,
              AllOf(HasSubstr("Job:      " + id + "\n"),
                    HasSubstr("Command:  sh -c 'exit 3'\n"),
                    HasSubstr("State:    exited with code 3\n"),
                    HasSubstr(absl::StrCat("Run as:   ", kJobUser)),
                    HasSubstr("Owner:    alice\n"), HasSubstr("Started:  "),
                    HasSubstr("Ended:    "), HasSubstr("Duration: ")));
}

TEST_F(CliTest, GetStatusTextNamesTheSignal) {
  const std::string id = Start({"sh", "-c", "kill -KILL $$"});
  AwaitEnd(id);
  EXPECT_THAT(Cli({"get-status", id}).out,
              HasSubstr("State:    killed by signal SIGKILL (9)\n"));
}

TEST_F(CliTest, GetStatusJsonIsProto3JsonOfTheStatus) {
  const std::string id = Start({"sh", "-c", "exit 3"});
  AwaitEnd(id);
  ProcessResult r = Cli({"get-status", "--output=json", id});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_THAT(r.out, AllOf(HasSubstr("\"jobId\""), HasSubstr("\"exitCode\": 3"),
                           HasSubstr("\"JOB_STATE_EXITED\"")));
  cmdctl::v1::ProcessStatus status;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(r.out, &status).ok())
      << r.out;
  EXPECT_EQ(status.job_id(), id);
  EXPECT_EQ(status.owner(), "alice");
  EXPECT_EQ(status.run_as(), kJobUser);
  EXPECT_EQ(status.command(), "sh");
  EXPECT_THAT(status.args(), ElementsAre("-c", "exit 3"));
  EXPECT_EQ(status.state(), cmdctl::v1::JOB_STATE_EXITED);
  EXPECT_EQ(status.exit_code(), 3);
  EXPECT_GT(status.pid(), 0);
  EXPECT_GT(status.started_at().seconds(), 0);
  EXPECT_GE(status.ended_at().seconds(), status.started_at().seconds());
}

// --- stop ---

TEST_F(CliTest, StopEndsTheJobAndSaysHow) {
  const std::string id = Start({"sleep", "1000"});
  ProcessResult r = Cli({"stop", id, "--grace=1m30s"});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(r.out, "job " + id + ": stopped: terminated by SIGTERM (15)\n");
  cmdctl::v1::ProcessStatus status = StatusJson(id);
  EXPECT_EQ(status.state(), cmdctl::v1::JOB_STATE_STOPPED);
  EXPECT_EQ(status.signal(), 15);
}

TEST_F(CliTest, StopKillsAfterTheGracePeriod) {
  const std::string id = Start(
      {"sh", "-c", "trap '' TERM; echo armed; while :; do sleep 1; done"});
  ProcessResult r;
  for (int i = 0; i < 600 && r.out != "armed\n"; ++i) {
    r = Cli({"get-output", "--follow=false", id});
  }
  ProcessResult stop = Cli({"stop", "--grace=500ms", id});
  EXPECT_EQ(stop.exit_code, 0) << Describe(stop);
  EXPECT_THAT(stop.out, HasSubstr("SIGKILL (9)"));
}

TEST_F(CliTest, StopOfAnEndedJobPrintsHowItEnded) {
  const std::string id = Start({"sh", "-c", "exit 4"});
  AwaitEnd(id);
  ProcessResult r = Cli({"stop", id});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(r.out, "job " + id + ": exited with code 4\n");
}

// --- list ---

TEST_F(CliTest, ListShowsTheCallersJobsInAlignedColumns) {
  const std::string a = Start({"sh", "-c", "exit 2"});
  AwaitEnd(a);
  const std::string b = Start({"sleep", "1000"});
  ProcessResult r = Cli({"list"});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  std::vector<std::string> lines =
      absl::StrSplit(r.out, '\n', absl::SkipEmpty());
  ASSERT_GE(lines.size(), 3u) << r.out;
  const std::string& header = lines[0];
  EXPECT_THAT(header, MatchesRegex("ID +STATE +EXIT/SIGNAL +STARTED +COMMAND"));
  const size_t state_col = header.find("STATE");
  const size_t exit_col = header.find("EXIT/SIGNAL");
  const size_t command_col = header.find("COMMAND");
  bool saw_a = false, saw_b = false;
  for (size_t i = 1; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    ASSERT_GT(line.size(), command_col) << line;
    if (line.rfind(a, 0) == 0) {
      saw_a = true;
      EXPECT_EQ(line.substr(state_col, 7), "exited ") << line;
      EXPECT_EQ(line.substr(exit_col, 2), "2 ") << line;
      EXPECT_EQ(line.substr(command_col), "sh -c 'exit 2'") << line;
    }
    if (line.rfind(b, 0) == 0) {
      saw_b = true;
      EXPECT_EQ(line.substr(state_col, 8), "running ") << line;
      EXPECT_EQ(line.substr(exit_col, 2), "- ") << line;
      EXPECT_EQ(line.substr(command_col), "sleep 1000") << line;
    }
  }
  EXPECT_TRUE(saw_a && saw_b) << r.out;
  Cli({"stop", "--grace=0s", b});
}

TEST_F(CliTest, ListJsonParses) {
  const std::string id = Start({"true"});
  ProcessResult r = Cli({"list", "--output=json"});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  cmdctl::v1::ListProcessesResponse list;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(r.out, &list).ok())
      << r.out;
  bool found = false;
  for (const auto& p : list.processes()) found = found || p.job_id() == id;
  EXPECT_TRUE(found) << r.out;
}

// --- connection settings ---

TEST_F(CliTest, DefaultsComeFromConfigDirUnderHome) {
  ProcessResult r = Cli({"--server=" + address_, "list"},
                        {"HOME=" + home_, "PATH=/usr/bin:/bin"});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_THAT(r.out, StartsWith("ID "));
}

TEST_F(CliTest, EnvironmentVariablesSetEverything) {
  ProcessResult r = Cli({"list"}, AliceEnv());  // no flags at all
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  // CMDCTL_SERVER wins over the default localhost:9090, and the
  // CMDCTL_CERT/KEY/CA over ~/.config/cmdctl: a wrong one fails.
  std::vector<std::string> env = AliceEnv();
  env.push_back("CMDCTL_CERT=/nonexistent/cert.pem");
  env.erase(env.begin() + 3);  // the good CMDCTL_CERT
  ProcessResult bad = Cli({"list"}, env);
  EXPECT_EQ(bad.exit_code, 2) << Describe(bad);
  EXPECT_THAT(bad.err, AllOf(HasSubstr("/nonexistent/cert.pem"),
                             HasSubstr("$CMDCTL_CERT"), OneLine()));
}

TEST_F(CliTest, FlagsWinOverEnvironment) {
  std::vector<std::string> env = AliceEnv();
  env[2] = absl::StrCat("CMDCTL_SERVER=127.0.0.1:", UnusedPort());
  EXPECT_EQ(Cli({"list"}, env).exit_code, 1);
  ProcessResult r = Cli({"--server", address_, "list"}, env);
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
}

// --- errors ---

TEST_F(CliTest, UsageErrorsExitTwoWithoutTouchingTheServer) {
  const std::vector<std::vector<std::string>> cases{
      {},
      {"frobnicate"},
      {"--wait", "run", "true"},
      {"run"},
      {"run", "--bogus", "true"},
      {"run", "--env=NOEQUALS", "true"},
      {"list", "--server=" + address_},
      {"stop"},
      {"stop", "a", "b"},
      {"stop", "--grace=abc", "id"},
      {"stop", "--grace=-1s", "id"},
      {"get-status", "--output=xml", "id"},
      {"get-output", "--follow=maybe", "id"},
  };
  for (const auto& args : cases) {
    ProcessResult r = Cli(args);
    EXPECT_EQ(r.exit_code, 2) << absl::StrJoin(args, " ") << Describe(r);
    EXPECT_THAT(r.err, StartsWith("cmdctl: ")) << absl::StrJoin(args, " ");
    EXPECT_THAT(r.out, IsEmpty()) << absl::StrJoin(args, " ");
  }
}

TEST_F(CliTest, HelpForTheToolAndEachCommand) {
  ProcessResult tool = Cli({"--help"});
  EXPECT_EQ(tool.exit_code, 0);
  EXPECT_THAT(tool.out, AllOf(HasSubstr("Usage: cmdctl"), HasSubstr("run"),
                              HasSubstr("get-output"), HasSubstr("get-status"),
                              HasSubstr("stop"), HasSubstr("list"),
                              HasSubstr("--server"), HasSubstr("Examples:")));
  for (const std::string& command : std::vector<std::string>{
           "run", "get-output", "get-status", "stop", "list"}) {
    for (const auto& args : std::vector<std::vector<std::string>>{
             {command, "--help"}, {"help", command}}) {
      ProcessResult r = Cli(args);
      EXPECT_EQ(r.exit_code, 0) << command;
      EXPECT_THAT(r.out,
                  AllOf(HasSubstr("Usage: cmdctl [GLOBAL FLAGS] " + command),
                        HasSubstr("Examples:")))
          << command;
    }
  }
}

TEST_F(CliTest, UnreachableServerFailsPromptlyNamingTheAddress) {
  const std::string address = absl::StrCat("127.0.0.1:", UnusedPort());
  ProcessResult r = Cli({"--server=" + address, "list"});
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_THAT(r.err, AllOf(HasSubstr(address), HasSubstr("cmdctld is running"),
                           OneLine()));
}

TEST_F(CliTest, SilentServerFailsAfterTheConnectTimeoutNamingTheAddress) {
  // Accepts TCP connections (the kernel does) but never answers the TLS
  // handshake.
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(fd, 16), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const std::string address = absl::StrCat("127.0.0.1:", ntohs(addr.sin_port));
  ProcessResult r = Cli({"--server=" + address, "list"});
  close(fd);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_THAT(r.err, AllOf(HasSubstr(address), OneLine()));
}

TEST_F(CliTest, ClientCertificateFromAnotherCaIsRefused) {
  ProcessResult r =
      Cli({"--cert=" + stranger_pem_, "--key=" + stranger_key_, "list"});
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_THAT(r.err, AllOf(HasSubstr(address_), OneLine()));
}

TEST_F(CliTest, Tls12OnlyServerIsRefusedByTheClient) {
  const std::string log = dir_->path() + "/s_server.log";
  BackgroundProcess tls12(
      {"/usr/bin/openssl", "s_server", "-tls1_2", "-accept", "127.0.0.1:0",
       "-alpn", "h2", "-cert", server_pem_, "-key", server_key_, "-www"},
      log);
  std::optional<std::string> port =
      WaitForLine(log, "ACCEPT 127.0.0.1:", tls12);
  ASSERT_TRUE(port.has_value()) << "openssl s_server did not start";
  const std::string address = "127.0.0.1:" + *port;
  // The server works: a TLS 1.2 client gets through.
  ProcessResult sanity = RunProcess({"/usr/bin/openssl", "s_client", "-tls1_2",
                                     "-connect", address, "-CAfile", ca_pem_},
                                    {"PATH=/usr/bin:/bin"});
  ASSERT_EQ(sanity.exit_code, 0) << Describe(sanity);
  ProcessResult r = Cli({"--server=" + address, "list"});
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_THAT(r.err,
              AllOf(HasSubstr(address), HasSubstr("TLS 1.3"), OneLine()));
}

}  // namespace
}  // namespace cmdctl::test

// `cmdctl run`: what reaches the program, the job's output, exit status and
// signals with --wait.
#include <signal.h>
#include <unistd.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "integration_tests/cli/cli_fixture.h"

namespace cmdctl::test {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::MatchesRegex;
using ::testing::Not;
using ::testing::StartsWith;

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

TEST_F(CliTest, RunWaitMissingProgramExits127AsAShellDoes) {
  ProcessResult r = Cli({"run", "--wait", "no-such-program-xyz"});
  EXPECT_EQ(r.exit_code, 127) << Describe(r);
  EXPECT_THAT(r.err, AllOf(StartsWith("cmdctl: "),
                           HasSubstr("no-such-program-xyz"), OneLine()));
  // The lookup follows the job's PATH, which --env may set (SPEC §5).
  ProcessResult elsewhere =
      Cli({"run", "--wait", "--env=PATH=/nonexistent", "true"});
  EXPECT_EQ(elsewhere.exit_code, 127) << Describe(elsewhere);
}

TEST_F(CliTest, RunWaitNonExecutableExits126AsAShellDoes) {
  for (const char* program : {"/etc/passwd", "/tmp"}) {
    ProcessResult r = Cli({"run", "--wait", program});
    EXPECT_EQ(r.exit_code, 126) << program << Describe(r);
    EXPECT_THAT(r.err, AllOf(HasSubstr(program), OneLine())) << program;
  }
}

TEST_F(CliTest, RunWaitOwnFailuresExit255SoThatOneTo254MeanTheJob) {
  // A server error that is not about the program...
  ProcessResult denied = Cli({"run", "--wait", "--as=nobody", "true"});
  EXPECT_EQ(denied.exit_code, 255) << Describe(denied);
  EXPECT_THAT(denied.err, AllOf(HasSubstr("permission denied"), OneLine()));
  // ...a server that is not there...
  const std::string address = absl::StrCat("127.0.0.1:", UnusedPort());
  ProcessResult unreachable =
      Cli({"--server=" + address, "run", "--wait", "true"});
  EXPECT_EQ(unreachable.exit_code, 255) << Describe(unreachable);
  EXPECT_THAT(unreachable.err, AllOf(HasSubstr(address), OneLine()));
  // ...and the same for `wait`; without --wait, run keeps exit status 1.
  EXPECT_EQ(Cli({"--server=" + address, "wait", "0b9d2c4e"}).exit_code, 255);
  EXPECT_EQ(Cli({"--server=" + address, "run", "true"}).exit_code, 1);
}

TEST_F(CliTest, AServerThatStaysGoneEndsRunWaitAndGetOutputAfterAbout30s) {
  // A server of its own, to shut down for good.
  ExtraServer server = StartServer("shutdown");
  ASSERT_FALSE(server.address.empty());
  const std::string& address = server.address;
  const std::string log = dir_->path() + "/shutdown-client.log";
  std::unique_ptr<BackgroundProcess> waiter = CliInBackground(
      {"run", "--wait", "sh", "-c", "echo started; exec sleep 1000"}, log,
      address);
  ASSERT_TRUE(WaitForLine(log, "started", *waiter).has_value());
  const std::string follower_log = dir_->path() + "/shutdown-follower.log";
  const std::string id = AliceJobs(address)[0].job_id();
  std::unique_ptr<BackgroundProcess> follower =
      CliInBackground({"get-output", id}, follower_log, address);
  ASSERT_TRUE(WaitForLine(follower_log, "started", *follower).has_value());
  const absl::Time shut_down = absl::Now();
  server.process->Signal(SIGTERM);  // graceful shutdown; no restart
  // They try to reconnect for about 30 s, then give up: cmdctl's own
  // failure, 255 for run --wait (not a job's status), 1 for get-output.
  EXPECT_EQ(waiter->Wait(absl::Seconds(90)), 255);
  EXPECT_EQ(follower->Wait(absl::Seconds(30)), 1);
  EXPECT_GE(absl::Now() - shut_down, absl::Seconds(29));
  for (const std::string& file : {log, follower_log}) {
    std::optional<std::string> message = WaitForLine(file, "cmdctl: ", *waiter);
    ASSERT_TRUE(message.has_value()) << file;
    EXPECT_THAT(*message, AllOf(HasSubstr("lost the connection"),
                                HasSubstr(address),
                                HasSubstr("could not get it back within 30s")))
        << file;
  }
  EXPECT_THAT(*WaitForLine(log, "cmdctl: ", *waiter),
              HasSubstr("job " + id + " runs on"));
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

}  // namespace
}  // namespace cmdctl::test

// What a new user runs into (issue 13): server addresses, short connection
// errors, certificates checked before connecting, version and completion,
// typos, aliases and help.
#include <unistd.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "integration_tests/cli/cli_fixture.h"

namespace cmdctl::test {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::StartsWith;

// The directory of the cmdctl under test, for PATH.
std::string BinDir() {
  const std::string bin = CMDCTL_BIN;
  return bin.substr(0, bin.rfind('/'));
}

TEST_F(CliTest, AHostWithoutPortDialsPort9090) {
  ProcessResult r = Cli({"--server=127.0.0.1", "list"});
  // Whatever listens there (nothing, or a cmdctld of another CA), it is
  // 127.0.0.1:9090 that was dialled, not gRPC's default port 443.
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_THAT(r.err, AllOf(HasSubstr("127.0.0.1:9090"), OneLine()));
  // And a host alone in $CMDCTL_SERVER reaches the test server's port when
  // given one: HOST:PORT is kept as it is.
  EXPECT_EQ(Cli({"list"}).exit_code, 0);
}

TEST_F(CliTest, AMalformedServerIsAUsageErrorBeforeConnecting) {
  for (const char* server :
       {":9090", "https://localhost:9090", "localhost:99999", "local host"}) {
    ProcessResult r = Cli({std::string("--server=") + server, "list"});
    EXPECT_EQ(r.exit_code, 2) << server << Describe(r);
    EXPECT_THAT(r.err, AllOf(HasSubstr("not a server address"),
                             HasSubstr("--server"), OneLine()))
        << server;
  }
  std::vector<std::string> env = AliceEnv();
  env[2] = "CMDCTL_SERVER=http://localhost";
  ProcessResult r = Cli({"list"}, env);
  EXPECT_EQ(r.exit_code, 2) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("$CMDCTL_SERVER"));
}

TEST_F(CliTest, ConnectionErrorsAreOneShortLineWithoutGrpcInternals) {
  const std::string address = absl::StrCat("127.0.0.1:", UnusedPort());
  ProcessResult r = Cli({"--server=" + address, "list"});
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_THAT(r.err, AllOf(OneLine(), HasSubstr(address),
                           HasSubstr("connection refused"),
                           Not(HasSubstr("ipv4:")), Not(HasSubstr("UNKNOWN"))));
  EXPECT_LT(r.err.size(), 200u) << r.err;
  // The details are there for who asks.
  std::vector<std::string> env = AliceEnv();
  env.push_back("GRPC_VERBOSITY=error");
  ProcessResult verbose = Cli({"--server=" + address, "list"}, env);
  EXPECT_THAT(verbose.err, HasSubstr("[gRPC: "));
}

TEST_F(CliTest, AKeyThatIsNotTheCertificatesIsNamedBeforeConnecting) {
  // Nothing listens at --server: the check must come first.
  const std::string nowhere = absl::StrCat("--server=127.0.0.1:", UnusedPort());
  ProcessResult r =
      Cli({nowhere, "--cert=" + alice_pem_, "--key=" + bob_key_, "list"});
  EXPECT_EQ(r.exit_code, 2) << Describe(r);
  EXPECT_THAT(r.err, AllOf(HasSubstr(bob_key_ + " (--key) does not match"),
                           HasSubstr(alice_pem_ + " (--cert)"), OneLine()));
}

TEST_F(CliTest, AnExpiredCertificateIsNamedWithItsEndDateBeforeConnecting) {
  IssuedCert old = ca_->IssueExpiredClient("alice", {kJobUser});
  const std::string cert = dir_->WriteFile("expired-alice.pem", old.cert_pem);
  const std::string key = dir_->WriteFile("expired-alice.key", old.key_pem);
  const std::string nowhere = absl::StrCat("--server=127.0.0.1:", UnusedPort());
  ProcessResult r = Cli({nowhere, "--cert=" + cert, "--key=" + key, "list"});
  EXPECT_EQ(r.exit_code, 2) << Describe(r);
  EXPECT_THAT(r.err, AllOf(HasSubstr(cert), HasSubstr("has expired (on 20"),
                           HasSubstr(" UTC)"), OneLine()));
  // For run --wait (and wait) it is cmdctl's own failure: 255, not a job's 2.
  ProcessResult wait =
      Cli({"--cert=" + cert, "--key=" + key, "run", "--wait", "true"});
  EXPECT_EQ(wait.exit_code, 255) << Describe(wait);
}

TEST_F(CliTest, VersionComesFromTheBuild) {
  for (const auto& args :
       std::vector<std::vector<std::string>>{{"--version"}, {"version"}}) {
    ProcessResult r = Cli(args, {"PATH=/usr/bin:/bin"});  // no server needed
    EXPECT_EQ(r.exit_code, 0) << Describe(r);
    EXPECT_EQ(r.out, absl::StrCat("cmdctl ", CMDCTL_VERSION, "\n"));
  }
}

TEST_F(CliTest, BashCompletionCompletesCommandsFlagsAndJobIds) {
  const std::string id = Start({"true"});
  const auto complete = [this](const std::string& words, int cword) {
    std::vector<std::string> env = AliceEnv();
    env[1] = "PATH=" + BinDir() + ":/usr/bin:/bin";
    return RunProcess(
        {"/bin/bash", "-c",
         absl::StrCat("source <(cmdctl completion bash); COMP_WORDS=(", words,
                      "); COMP_CWORD=", cword,
                      "; _cmdctl; printf '%s\\n' \"${COMPREPLY[@]}\"")},
        env);
  };
  EXPECT_EQ(complete("cmdctl get-st", 1).out, "get-status\n");
  // bash splits --server=x:1 at '=' (COMP_WORDBREAKS); zsh does not.
  EXPECT_EQ(complete("cmdctl --server = x:1 lo", 4).out, "logs\n");
  EXPECT_EQ(complete("cmdctl --server x:1 lo", 3).out, "logs\n");
  EXPECT_EQ(complete("cmdctl run --wa", 2).out, "--wait\n");
  EXPECT_THAT(complete("cmdctl stop ''", 2).out, HasSubstr(id + "\n"));
  EXPECT_EQ(complete("cmdctl completion ''", 2).out, "bash\nzsh\n");
}

TEST_F(CliTest, ZshCompletionCompletesCommandsAndJobIds) {
  if (access("/usr/bin/zsh", X_OK) != 0) {
    GTEST_SKIP() << "no zsh (ci/install-deps.sh installs it)";
  }
  const std::string id = Start({"true"});
  std::vector<std::string> env = AliceEnv();
  env[1] = "PATH=" + BinDir() + ":/usr/bin:/bin";
  // compsys's builtins stubbed: they print what they were given.
  const std::string stubs =
      "compdef() { :; }; "
      "compadd() { while [[ $1 == -* && $1 != -- ]]; do shift; "
      "[[ $1 == '' ]] && shift; done; [[ $1 == -- ]] && shift; "
      "print -l -- \"$@\"; }; "
      "_describe() { print -l -- \"${(@P)4}\"; }; ";
  const auto complete = [&](const std::string& words, int current,
                            const std::string& prefix) {
    return RunProcess({"/usr/bin/zsh", "-c",
                       absl::StrCat(stubs, "source <(cmdctl completion zsh); ",
                                    "words=(", words, "); CURRENT=", current,
                                    "; PREFIX='", prefix, "'; _cmdctl")},
                      env);
  };
  ProcessResult commands = complete("cmdctl ''", 2, "");
  EXPECT_THAT(commands.out, AllOf(HasSubstr("get-status:"), HasSubstr("logs:")))
      << Describe(commands);
  ProcessResult ids = complete("cmdctl stop ''", 3, "");
  EXPECT_THAT(ids.out, HasSubstr(id + "\n")) << Describe(ids);
}

TEST_F(CliTest, TyposGetTheNearestCommandOrFlagSuggested) {
  ProcessResult command = Cli({"stauts", "abc"});
  EXPECT_EQ(command.exit_code, 2);
  EXPECT_THAT(command.err, HasSubstr("did you mean status?"));
  ProcessResult flag = Cli({"run", "--wiat", "true"});
  EXPECT_EQ(flag.exit_code, 2);
  EXPECT_THAT(flag.err, HasSubstr("did you mean --wait?"));
  ProcessResult boolean = Cli({"get-output", "--follow", "false", "abc"});
  EXPECT_EQ(boolean.exit_code, 2);
  EXPECT_THAT(boolean.err, HasSubstr("--follow=false"));
  EXPECT_THAT(boolean.err, Not(HasSubstr("takes 1 argument")));
}

TEST_F(CliTest, HabitualAliasesWork) {
  const std::string id = Start({"sh", "-c", "echo aliased"});
  AwaitEnd(id);
  EXPECT_EQ(Cli({"logs", id}).out, "aliased\n");
  EXPECT_THAT(Cli({"status", id}).out, HasSubstr("exited with code 0"));
  EXPECT_THAT(Cli({"ps"}).out, HasSubstr(id));
}

TEST_F(CliTest, DashHWorksEverywhereAndHelpShowsFlagsAsTheyAreTyped) {
  ProcessResult tool = Cli({"-h"});
  EXPECT_EQ(tool.exit_code, 0);
  EXPECT_THAT(tool.out, AllOf(HasSubstr("Usage: cmdctl"), HasSubstr("wait"),
                              HasSubstr("completion"), HasSubstr("--version")));
  for (const char* command : {"run", "get-output", "logs", "get-status", "stop",
                              "wait", "list", "ps", "version", "completion"}) {
    ProcessResult r = Cli({command, "-h"});
    EXPECT_EQ(r.exit_code, 0) << command << Describe(r);
    EXPECT_THAT(r.out, StartsWith("Usage: cmdctl [GLOBAL FLAGS] ")) << command;
    EXPECT_THAT(r.out, Not(HasSubstr("--[no]"))) << command;
  }
  EXPECT_THAT(Cli({"run", "-h"}).out, HasSubstr("  --wait "));
  EXPECT_THAT(Cli({"get-output", "-h"}).out, HasSubstr("  --follow=false "));
}

}  // namespace
}  // namespace cmdctl::test

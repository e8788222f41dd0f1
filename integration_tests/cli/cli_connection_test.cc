// Where cmdctl connects and with what, and how it fails: connection settings,
// usage errors, help, unreachable and refusing servers.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <optional>
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
using ::testing::StartsWith;

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
      {"stop", "a", "not-an-id"},
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

// The fixture of the CLI integration tests: the real cmdctl binary against a
// real cmdctld (started once per test program on 127.0.0.1:0, with a state
// directory of its own), over real mutual TLS 1.3, with certificates made
// by the test (SPEC §7). The jobs the servers leave are killed at the end.
#ifndef CMDCTL_INTEGRATION_TESTS_CLI_CLI_FIXTURE_H_
#define CMDCTL_INTEGRATION_TESTS_CLI_CLI_FIXTURE_H_

#include <memory>
#include <string>
#include <vector>

#include "cmdctl/v1/cmdctl.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "integration_tests/cli/cli_harness.h"
#include "integration_tests/common/server_process.h"
#include "integration_tests/common/test_pki.h"
#include "integration_tests/common/test_users.h"

namespace cmdctl::test {

// The unix user alice's and bob's jobs run as (their first principal).
inline constexpr char kJobUser[] = "cmdctl-it-cli";
// A job id as `cmdctl run` prints it.
inline constexpr char kUuidLine[] =
    "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\n";

// Exactly one line on stderr.
MATCHER(OneLine, "is one line ending in a newline") {
  return !arg.empty() && arg.back() == '\n' && arg.find('\n') == arg.size() - 1;
}

// Exit status, stdout and stderr, for failure messages.
std::string Describe(const ProcessResult& r);

// A cmdctld of a test's own (to shut down, restart, or with other flags),
// with a state directory of its own. Destroying it kills it and every job
// it left running.
struct ExtraServer {
  std::unique_ptr<ServerProcess> process;
  std::string address;           // 127.0.0.1:PORT
  ServerProcessOptions options;  // how it was started, to restart it
};

class CliTest : public ::testing::Test {
 protected:
  // Makes the PKI (a CA, the server's certificate, alice and bob, and alice
  // from another CA), the job user, and starts the shared cmdctld.
  static void SetUpTestSuite();
  static void TearDownTestSuite();

  // The environment of a user with CMDCTL_* pointing at alice's files and
  // `address` (default: the shared server).
  static std::vector<std::string> AliceEnv(const std::string& address = "");
  static std::vector<std::string> BobEnv();

  // Runs cmdctl with `args` and waits for it.
  static ProcessResult Cli(const std::vector<std::string>& args,
                           const std::vector<std::string>& env = AliceEnv());

  // `argv` run through `env -i` with exactly AliceEnv(address).
  static std::vector<std::string> InAliceEnv(
      const std::vector<std::string>& argv, const std::string& address = "");

  // Starts cmdctl with `args` as alice in the background, its stdout and
  // stderr going to `log`, talking to `address` (default: the shared
  // server).
  static std::unique_ptr<BackgroundProcess> CliInBackground(
      const std::vector<std::string>& args, const std::string& log,
      const std::string& address = "");

  // A word no other test's job has, to find a job by its arguments.
  static std::string UniqueMarker(const std::string& name);

  // Alice's jobs on the shared server (or the one at `address`), newest
  // first, as `cmdctl list --output=json` prints them.
  static std::vector<cmdctl::v1::ProcessStatus> AliceJobs(
      const std::string& address = "");

  // Alice's jobs (on the shared server) with `marker` in one of their args.
  static std::vector<cmdctl::v1::ProcessStatus> JobsWithArg(
      const std::string& marker);

  // How many requests of `method` the shared server (or the one logging to
  // `log`) has logged (its audit line per request).
  static int ServerRequests(const std::string& method,
                            const std::string& log = "");

  // How to start a cmdctld named `name` (its port file, log and state
  // directory in dir_/name) with `flags` added.
  static ServerProcessOptions ServerOptions(
      const std::string& name, const std::vector<std::string>& flags);

  // Starts a cmdctld of the test's own with `flags` added; `name` names its
  // files in dir_. Fails the test (address empty) if it does not start.
  static ExtraServer StartServer(const std::string& name,
                                 const std::vector<std::string>& flags = {});

  // Kills `server` (SIGKILL, as a crash: its jobs run on).
  static void KillServer(ExtraServer& server);
  // Starts a killed `server` again with the same flags, on the same port and
  // state directory, as systemd would restart it. Fails the test if it does
  // not start.
  static void RestartServer(ExtraServer& server);
  static void KillAndRestart(ExtraServer& server) {
    KillServer(server);
    RestartServer(server);
  }

  // Starts a job (on the shared server, or the one at `address`) and returns
  // its id (asserting success).
  static std::string Start(const std::vector<std::string>& run_args,
                           const std::string& address = "");

  // Follows the job to its end (the output stream ends when the job has).
  static void AwaitEnd(const std::string& id);

  static cmdctl::v1::ProcessStatus StatusJson(const std::string& id,
                                              const std::string& address = "");

  static TestUser* user_;
  static TempDir* dir_;
  static TestCa* ca_;
  static ServerProcess* server_;
  static std::string address_, server_log_, ca_pem_, server_pem_, server_key_;
  static std::string alice_pem_, alice_key_, bob_pem_, bob_key_;
  static std::string stranger_pem_, stranger_key_, home_, empty_home_;
};

}  // namespace cmdctl::test

#endif  // CMDCTL_INTEGRATION_TESTS_CLI_CLI_FIXTURE_H_

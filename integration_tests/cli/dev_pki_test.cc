// ci/dev-pki.sh makes certificates that cmdctld and cmdctl accept, with the
// identities, principals and key modes docs/DEPLOYMENT.md promises.
#include <sys/stat.h>

#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "integration_tests/cli/cli_harness.h"
#include "integration_tests/common/test_pki.h"
#include "integration_tests/common/test_users.h"

namespace cmdctl::test {
namespace {

using ::testing::HasSubstr;

constexpr char kJobUser[] = "cmdctl-it-cli";

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

mode_t ModeOf(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

ProcessResult DevPki(const std::vector<std::string>& args) {
  std::vector<std::string> argv{"/bin/bash", DEV_PKI_SH};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunProcess(argv, {"PATH=/usr/bin:/bin", "HOME=/nonexistent"});
}

TEST(DevPkiTest, MakesAWorkingPkiWithPrivateKeys) {
  ASSERT_TRUE(EnsureTestUser(kJobUser).ok());
  TempDir dir;
  const std::string pki = dir.path() + "/pki";
  const std::string alice = dir.path() + "/alice";
  const std::string nobody = dir.path() + "/nobody";
  ASSERT_EQ(DevPki({"ca", pki}).exit_code, 0);
  ASSERT_EQ(DevPki({"server", pki}).exit_code, 0);
  ProcessResult made =
      DevPki({"client", pki, alice, "alice", kJobUser, "root"});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  ASSERT_EQ(DevPki({"client", pki, nobody, "nobody-at-all"}).exit_code, 0);

  for (const std::string& key :
       {pki + "/ca.key", pki + "/server.key", alice + "/client.key",
        nobody + "/client.key"}) {
    EXPECT_EQ(ModeOf(key), 0600u) << key;
  }
  EXPECT_EQ(ModeOf(alice + "/client.pem"), 0644u);

  // Running `ca` again keeps the CA.
  const std::string ca_before = ReadAll(pki + "/ca.pem");
  EXPECT_EQ(DevPki({"ca", pki}).exit_code, 0);
  EXPECT_EQ(ReadAll(pki + "/ca.pem"), ca_before);

  // Bad input is refused.
  EXPECT_NE(DevPki({"client", pki, alice, "alice", "Not A Login"}).exit_code,
            0);
  EXPECT_NE(DevPki({"server", dir.path() + "/no-ca"}).exit_code, 0);
  EXPECT_NE(DevPki({"frobnicate", pki}).exit_code, 0);

  const std::string port_file = dir.path() + "/port";
  BackgroundProcess server(
      {CMDCTLD_BIN, "--listen=127.0.0.1:0", "--port_file=" + port_file,
       "--cert=" + pki + "/server.pem", "--key=" + pki + "/server.key",
       "--ca=" + pki + "/ca.pem"},
      dir.path() + "/cmdctld.log");
  std::optional<std::string> port = WaitForLine(port_file, "", server);
  ASSERT_TRUE(port.has_value());

  // The server certificate names localhost (dialled by name here).
  auto cli = [&](const std::string& client_dir,
                 const std::vector<std::string>& args) {
    std::vector<std::string> argv{CMDCTL_BIN, "--server=localhost:" + *port};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunProcess(argv, {"HOME=" + client_dir + "/..", "PATH=/usr/bin:/bin",
                             "CMDCTL_CERT=" + client_dir + "/client.pem",
                             "CMDCTL_KEY=" + client_dir + "/client.key",
                             "CMDCTL_CA=" + client_dir + "/ca.pem"});
  };
  // The first principal is the default; the others may be asked for.
  ProcessResult as_default = cli(alice, {"run", "--wait", "id", "-un"});
  EXPECT_EQ(as_default.exit_code, 0) << as_default.err;
  EXPECT_EQ(as_default.out, absl::StrCat(kJobUser, "\n"));
  ProcessResult as_root =
      cli(alice, {"run", "--wait", "--as=root", "id", "-un"});
  EXPECT_EQ(as_root.out, "root\n") << as_root.err;
  ProcessResult status = cli(alice, {"list", "--output=json"});
  EXPECT_THAT(status.out, HasSubstr("\"owner\": \"alice\""));
  // No principal: may run nothing.
  ProcessResult denied = cli(nobody, {"run", "true"});
  EXPECT_EQ(denied.exit_code, 1);
  EXPECT_THAT(denied.err, HasSubstr("permission denied"));
}

// The CA signs end-entity certificates only (pathlen:0), and what it signs
// for servers and clients is no CA: a CA:TRUE certificate it signed could
// otherwise mint certificates for any identity (issue 16).
TEST(DevPkiTest, CaIsLimitedToEndEntityCertificates) {
  TempDir dir;
  const std::string pki = dir.path() + "/pki";
  const std::string client = dir.path() + "/client";
  ASSERT_EQ(DevPki({"ca", pki}).exit_code, 0);
  ASSERT_EQ(DevPki({"server", pki}).exit_code, 0);
  ASSERT_EQ(DevPki({"client", pki, client, "alice"}).exit_code, 0);
  auto constraints = [](const std::string& cert) {
    ProcessResult r = RunProcess({"/usr/bin/openssl", "x509", "-in", cert,
                                  "-noout", "-ext", "basicConstraints"},
                                 {"PATH=/usr/bin:/bin"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
  };
  EXPECT_THAT(constraints(pki + "/ca.pem"), HasSubstr("CA:TRUE, pathlen:0"));
  EXPECT_THAT(constraints(pki + "/server.pem"), HasSubstr("CA:FALSE"));
  EXPECT_THAT(constraints(client + "/client.pem"), HasSubstr("CA:FALSE"));
}

}  // namespace
}  // namespace cmdctl::test

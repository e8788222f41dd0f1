#include "cli/config.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "integration_tests/common/test_pki.h"

namespace cmdctl::cli {
namespace {

using ::cmdctl::test::IssuedCert;
using ::testing::AllOf;
using ::testing::HasSubstr;

EnvLookup FakeEnv(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](
             const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

TEST(ResolveConnectionConfigTest, DefaultsUnderHome) {
  absl::StatusOr<ConnectionConfig> c =
      ResolveConnectionConfig({}, FakeEnv({{"HOME", "/home/al"}}));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->server.value, "localhost:9090");
  EXPECT_EQ(c->cert.value, "/home/al/.config/cmdctl/client.pem");
  EXPECT_EQ(c->key.value, "/home/al/.config/cmdctl/client.key");
  EXPECT_EQ(c->ca.value, "/home/al/.config/cmdctl/ca.pem");
  EXPECT_EQ(c->cert.source, "default");
}

TEST(ResolveConnectionConfigTest, EnvironmentOverridesDefaults) {
  absl::StatusOr<ConnectionConfig> c =
      ResolveConnectionConfig({}, FakeEnv({{"CMDCTL_SERVER", "h:1"},
                                           {"CMDCTL_CERT", "/c"},
                                           {"CMDCTL_KEY", "/k"},
                                           {"CMDCTL_CA", "/a"}}));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->server.value, "h:1");
  EXPECT_EQ(c->server.source, "$CMDCTL_SERVER");
  EXPECT_EQ(c->cert.value, "/c");
  EXPECT_EQ(c->key.value, "/k");
  EXPECT_EQ(c->ca.value, "/a");
}

TEST(ResolveConnectionConfigTest, FlagsOverrideEnvironment) {
  GlobalFlagValues flags;
  flags.server = "f:2";
  flags.ca = "/flag-ca";
  absl::StatusOr<ConnectionConfig> c = ResolveConnectionConfig(
      flags,
      FakeEnv({{"CMDCTL_SERVER", "h:1"}, {"CMDCTL_CA", "/a"}, {"HOME", "/h"}}));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->server.value, "f:2");
  EXPECT_EQ(c->server.source, "--server");
  EXPECT_EQ(c->ca.value, "/flag-ca");
  EXPECT_EQ(c->cert.value, "/h/.config/cmdctl/client.pem");
}

TEST(ResolveConnectionConfigTest, EmptyEnvironmentVariableCountsAsUnset) {
  absl::StatusOr<ConnectionConfig> c = ResolveConnectionConfig(
      {}, FakeEnv({{"CMDCTL_SERVER", ""}, {"HOME", "/h"}}));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->server.value, "localhost:9090");
}

TEST(ResolveConnectionConfigTest, EmptyFlagIsAnError) {
  GlobalFlagValues flags;
  flags.cert = "";
  absl::StatusOr<ConnectionConfig> c =
      ResolveConnectionConfig(flags, FakeEnv({{"HOME", "/h"}}));
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("--cert must not be empty"));
}

TEST(ResolveConnectionConfigTest, NoHomeNeededWhenEverythingIsGiven) {
  GlobalFlagValues flags{std::nullopt, "/c", "/k", "/a"};
  EXPECT_TRUE(ResolveConnectionConfig(flags, FakeEnv({})).ok());
  absl::StatusOr<ConnectionConfig> c = ResolveConnectionConfig({}, FakeEnv({}));
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("HOME"));
}

TEST(ResolveConnectionConfigTest, HostWithoutPortGetsTheDefaultPort) {
  absl::StatusOr<ConnectionConfig> c = ResolveConnectionConfig(
      {}, FakeEnv({{"CMDCTL_SERVER", "db1.example.com"}, {"HOME", "/h"}}));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->server.value, "db1.example.com:9090");
}

TEST(ResolveConnectionConfigTest, MalformedServerNamesItsSource) {
  absl::StatusOr<ConnectionConfig> c = ResolveConnectionConfig(
      {}, FakeEnv({{"CMDCTL_SERVER", ":9090"}, {"HOME", "/h"}}));
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(c.status().message(),
              AllOf(HasSubstr("$CMDCTL_SERVER"), HasSubstr("':9090'"),
                    HasSubstr("no host"), HasSubstr("HOST:PORT")));
}

TEST(NormalizeServerAddressTest, AcceptsHostsPortsAndIpv6) {
  const std::vector<std::pair<std::string, std::string>> cases{
      {"localhost", "localhost:9090"},
      {"localhost:9191", "localhost:9191"},
      {"db-1.example.com:1", "db-1.example.com:1"},
      {"127.0.0.1", "127.0.0.1:9090"},
      {"10.0.0.7:65535", "10.0.0.7:65535"},
      {"[::1]:9091", "[::1]:9091"},
      {"[::1]", "[::1]:9090"},
      {"::1", "[::1]:9090"},
      {"fe80::1%eth0", "[fe80::1%eth0]:9090"},
  };
  for (const auto& [text, want] : cases) {
    absl::StatusOr<std::string> got = NormalizeServerAddress(text);
    ASSERT_TRUE(got.ok()) << text << ": " << got.status();
    EXPECT_EQ(*got, want) << text;
  }
}

TEST(NormalizeServerAddressTest, RejectsWhatIsNoAddress) {
  for (const char* text :
       {"", ":9090", "https://db1:9090", "dns:///db1:9090", "unix:/run/x",
        "host:", "host:0", "host:65536", "host:90a", "host:-1", "a b:1", "[::1",
        "[::1]x", "[::1]:", "db1:9090/path", "[]:9090"}) {
    absl::StatusOr<std::string> got = NormalizeServerAddress(text);
    EXPECT_FALSE(got.ok()) << text << " gave " << got.value_or("");
    if (!got.ok()) {
      EXPECT_THAT(
          got.status().message(),
          AllOf(HasSubstr("not a server address"), HasSubstr("HOST:PORT")))
          << text;
    }
  }
}

class LoadCredentialsTest : public ::testing::Test {
 protected:
  LoadCredentialsTest() : ca_("cli credentials test CA") {
    IssuedCert alice = ca_.IssueClient("alice", {"alice"});
    ca_path_ = dir_.WriteFile("ca.pem", ca_.cert_pem());
    cert_path_ = dir_.WriteFile("alice.pem", alice.cert_pem);
    key_path_ = dir_.WriteFile("alice.key", alice.key_pem);
  }
  static ConnectionConfig Config(const std::string& cert,
                                 const std::string& key,
                                 const std::string& ca) {
    return ConnectionConfig{{"h:1", "default"},
                            {cert, "--cert"},
                            {key, "$CMDCTL_KEY"},
                            {ca, "default"}};
  }

  test::TempDir dir_;
  test::TestCa ca_;
  std::string ca_path_, cert_path_, key_path_;
};

TEST_F(LoadCredentialsTest, ReadsAllThree) {
  absl::StatusOr<grpc::SslCredentialsOptions> o =
      LoadCredentials(Config(cert_path_, key_path_, ca_path_));
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_THAT(o->pem_cert_chain, HasSubstr("BEGIN CERTIFICATE"));
  EXPECT_THAT(o->pem_private_key, HasSubstr("PRIVATE KEY"));
  EXPECT_EQ(o->pem_root_certs, ca_.cert_pem());
}

TEST_F(LoadCredentialsTest, MissingFileNamesFileSourceAndFix) {
  absl::StatusOr<grpc::SslCredentialsOptions> o = LoadCredentials(
      Config(cert_path_, dir_.path() + "/missing.key", ca_path_));
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(o.status().message(),
              AllOf(HasSubstr("client key"), HasSubstr("missing.key"),
                    HasSubstr("$CMDCTL_KEY"), HasSubstr("No such file"),
                    HasSubstr("dev-pki.sh")));
}

TEST_F(LoadCredentialsTest, EmptyOrNonPemFileIsRejected) {
  EXPECT_THAT(LoadCredentials(
                  Config(dir_.WriteFile("empty.pem", ""), key_path_, ca_path_))
                  .status()
                  .message(),
              AllOf(HasSubstr("empty.pem"), HasSubstr("is empty")));
  EXPECT_THAT(LoadCredentials(Config(cert_path_, key_path_,
                                     dir_.WriteFile("hello.pem", "hello")))
                  .status()
                  .message(),
              AllOf(HasSubstr("hello.pem"), HasSubstr("no PEM certificate")));
}

TEST_F(LoadCredentialsTest, KeyOfAnotherCertificateIsNamedBeforeConnecting) {
  IssuedCert bob = ca_.IssueClient("bob", {"bob"});
  const std::string bob_key = dir_.WriteFile("bob.key", bob.key_pem);
  absl::Status s =
      LoadCredentials(Config(cert_path_, bob_key, ca_path_)).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(),
              AllOf(HasSubstr(bob_key + " ($CMDCTL_KEY) does not match"),
                    HasSubstr(cert_path_ + " (--cert)")));
}

TEST_F(LoadCredentialsTest, ExpiredCertificateIsNamedWithItsEndDate) {
  IssuedCert old = ca_.IssueExpiredClient("alice", {"alice"});
  const std::string cert = dir_.WriteFile("old.pem", old.cert_pem);
  const std::string key = dir_.WriteFile("old.key", old.key_pem);
  absl::Status s = LoadCredentials(Config(cert, key, ca_path_)).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), AllOf(HasSubstr(cert + " (--cert)"),
                                 HasSubstr("has expired (on 2")));
  EXPECT_THAT(std::string(s.message()),
              ::testing::ContainsRegex("[0-9]{4}-[0-9]{2}-[0-9]{2} "
                                       "[0-9]{2}:[0-9]{2}:[0-9]{2} UTC"));
}

TEST_F(LoadCredentialsTest, NotYetValidCertificateIsNamedWithItsStartDate) {
  test::CertRequest request;
  request.common_name = "alice";
  request.san_uris = {"principal:alice"};
  request.not_before = absl::Hours(48);
  request.not_after = absl::Hours(72);
  IssuedCert future = ca_.Issue(request);
  const std::string cert = dir_.WriteFile("future.pem", future.cert_pem);
  const std::string key = dir_.WriteFile("future.key", future.key_pem);
  absl::Status s = LoadCredentials(Config(cert, key, ca_path_)).status();
  EXPECT_THAT(s.message(),
              AllOf(HasSubstr(cert), HasSubstr("not valid yet (until 2")));
}

}  // namespace
}  // namespace cmdctl::cli

#include "cli/config.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <map>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cmdctl::cli {
namespace {

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

class LoadCredentialsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/cmdctl_cli_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    for (const std::string& f : files_) unlink(f.c_str());
    rmdir(dir_.c_str());
  }
  std::string Write(const std::string& name, const std::string& content) {
    std::string path = dir_ + "/" + name;
    int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    EXPECT_GE(fd, 0);
    EXPECT_EQ(write(fd, content.data(), content.size()),
              static_cast<ssize_t>(content.size()));
    close(fd);
    files_.push_back(path);
    return path;
  }
  ConnectionConfig Config(const std::string& cert, const std::string& key,
                          const std::string& ca) {
    return ConnectionConfig{{"h:1", "default"},
                            {cert, "--cert"},
                            {key, "$CMDCTL_KEY"},
                            {ca, "default"}};
  }

  std::string dir_;
  std::vector<std::string> files_;
};

TEST_F(LoadCredentialsTest, ReadsAllThree) {
  const std::string pem = "-----BEGIN X-----\nAA==\n-----END X-----\n";
  absl::StatusOr<grpc::SslCredentialsOptions> o = LoadCredentials(Config(
      Write("c", pem + "c"), Write("k", pem + "k"), Write("a", pem + "a")));
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->pem_cert_chain, pem + "c");
  EXPECT_EQ(o->pem_private_key, pem + "k");
  EXPECT_EQ(o->pem_root_certs, pem + "a");
}

TEST_F(LoadCredentialsTest, MissingFileNamesFileSourceAndFix) {
  const std::string pem = "-----BEGIN X-----\n";
  absl::StatusOr<grpc::SslCredentialsOptions> o = LoadCredentials(
      Config(Write("c", pem), dir_ + "/missing.key", Write("a", pem)));
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(o.status().message(),
              AllOf(HasSubstr("client key"), HasSubstr("missing.key"),
                    HasSubstr("$CMDCTL_KEY"), HasSubstr("No such file"),
                    HasSubstr("dev-pki.sh")));
}

TEST_F(LoadCredentialsTest, EmptyOrNonPemFileIsRejected) {
  const std::string pem = "-----BEGIN X-----\n";
  EXPECT_THAT(
      LoadCredentials(Config(Write("c", ""), Write("k", pem), Write("a", pem)))
          .status()
          .message(),
      HasSubstr("empty file"));
  EXPECT_THAT(LoadCredentials(Config(Write("c2", pem), Write("k2", pem),
                                     Write("a2", "hello")))
                  .status()
                  .message(),
              HasSubstr("not a PEM file"));
}

}  // namespace
}  // namespace cmdctl::cli

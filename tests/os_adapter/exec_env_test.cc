#include "os_adapter/exec_env.h"

#include <cerrno>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cmdctl {
namespace {

using ::testing::ElementsAre;

TEST(BuildEnvironmentTest, IsTheWhitelistInOrder) {
  EXPECT_THAT(
      BuildEnvironment("alice", "/home/alice", "/bin/bash", {}),
      ElementsAre("HOME=/home/alice", "USER=alice", "LOGNAME=alice",
                  "SHELL=/bin/bash", "PATH=/usr/local/bin:/usr/bin:/bin"));
}

TEST(BuildEnvironmentTest, EmptyShellBecomesBinSh) {
  EXPECT_THAT(BuildEnvironment("u", "/h", "", {}),
              ::testing::Contains("SHELL=/bin/sh"));
}

TEST(BuildEnvironmentTest, RequestEnvIsAddedAndOverridesInPlace) {
  EXPECT_THAT(
      BuildEnvironment(
          "u", "/h", "/bin/sh",
          {{"FOO", "1"}, {"PATH", "/opt/bin"}, {"FOO", "2"}, {"EMPTY", ""}}),
      ElementsAre("HOME=/h", "USER=u", "LOGNAME=u", "SHELL=/bin/sh",
                  "PATH=/opt/bin", "FOO=2", "EMPTY="));
}

TEST(BuildEnvironmentTest, ValuesAreKeptVerbatim) {
  EXPECT_THAT(BuildEnvironment("u", "/h", "/bin/sh", {{"X", "a=b c\nd"}}),
              ::testing::Contains("X=a=b c\nd"));
}

TEST(EnvValueTest, FindsExactKeyOnly) {
  const std::vector<std::string> env = {"PATHX=no", "PATH=/a:/b", "P=x"};
  EXPECT_EQ(EnvValue(env, "PATH", "fallback"), "/a:/b");
  EXPECT_EQ(EnvValue(env, "PAT", "fallback"), "fallback");
}

TEST(ExecCandidatesTest, ProgramWithSlashIsUsedAsIs) {
  EXPECT_THAT(ExecCandidates("./run", "/usr/bin"), ElementsAre("./run"));
  EXPECT_THAT(ExecCandidates("/bin/ls", "/usr/bin"), ElementsAre("/bin/ls"));
}

TEST(ExecCandidatesTest, SearchesEveryPathEntryInOrder) {
  EXPECT_THAT(ExecCandidates("ls", kCleanPath),
              ElementsAre("/usr/local/bin/ls", "/usr/bin/ls", "/bin/ls"));
}

TEST(ExecCandidatesTest, EmptyEntryMeansWorkingDirectory) {
  EXPECT_THAT(ExecCandidates("x", ":/bin:"),
              ElementsAre("./x", "/bin/x", "./x"));
}

TEST(ExecSearchTest, NothingFoundIsEnoent) {
  ExecSearch search;
  EXPECT_TRUE(search.Failed(ENOENT));
  EXPECT_TRUE(search.Failed(ENOTDIR));
  EXPECT_TRUE(search.Failed(ENOENT));
  EXPECT_EQ(search.Error(), ENOENT);
}

TEST(ExecSearchTest, PermissionDeniedBeatsNotFoundLaterInPath) {
  ExecSearch search;
  EXPECT_TRUE(search.Failed(EACCES));
  EXPECT_TRUE(search.Failed(ENOENT));
  EXPECT_EQ(search.Error(), EACCES);
}

TEST(ExecSearchTest, PermissionDeniedBeatsNotFoundEarlierInPath) {
  ExecSearch search;
  EXPECT_TRUE(search.Failed(ENOENT));
  EXPECT_TRUE(search.Failed(EACCES));
  EXPECT_EQ(search.Error(), EACCES);
}

TEST(ExecSearchTest, OtherErrorsStopTheSearchAndAreReported) {
  ExecSearch search;
  EXPECT_TRUE(search.Failed(EACCES));
  EXPECT_FALSE(search.Failed(ENOEXEC));
  EXPECT_EQ(search.Error(), ENOEXEC);
}

TEST(ExecSearchTest, NoCandidateTriedIsEnoent) {
  EXPECT_EQ(ExecSearch().Error(), ENOENT);
}

}  // namespace
}  // namespace cmdctl

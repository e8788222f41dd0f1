// UserRunnableCopy: a binary under a directory only root can enter (like a
// checkout in /root or a `mktemp -d`) is not runnable by a test user; its
// copy is, and goes away with the process. When no place for the copy
// exists, or a test runs the original anyway, the error names the path and
// the fix. Runs as root.
#include "integration_tests/common/runnable_copy.h"

#include <fcntl.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "integration_tests/common/server_process.h"
#include "integration_tests/common/test_pki.h"
#include "integration_tests/common/test_users.h"

namespace cmdctl::test {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

constexpr char kUser[] = "cmdctl-it-runner";

// Runs `program` with no arguments as `user`; its exit code (-1: not run).
int RunAs(const TestUser& user, const std::string& program) {
  const pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    const int devnull = open("/dev/null", O_WRONLY);
    if (devnull < 0 || dup2(devnull, 1) < 0 || setgroups(0, nullptr) != 0 ||
        setgid(user.gid) != 0 || setuid(user.uid) != 0) {
      _exit(126);
    }
    execl(program.c_str(), program.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

class RunnableCopyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(geteuid(), 0u) << "integration tests run as root";
    absl::StatusOr<TestUser> user = EnsureTestUser(kUser);
    ASSERT_TRUE(user.ok()) << user.status();
    user_ = *user;
    // A "checkout" only root can enter, holding a "build-tree binary".
    ASSERT_EQ(chmod(private_.path().c_str(), 0700), 0);
    binary_ = private_.path() + "/true";
    std::filesystem::copy_file("/bin/true", binary_);
    ASSERT_EQ(chmod(binary_.c_str(), 0755), 0);
  }

  TempDir private_;
  TestUser user_;
  std::string binary_;
};

TEST_F(RunnableCopyTest, CopyOfABinaryInAPrivateTreeRunsAsATestUser) {
  EXPECT_EQ(RunAs(user_, binary_), 127) << "the original is out of reach";
  absl::Status original = CheckRunnableByEveryone(binary_);
  EXPECT_EQ(original.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(original.message(),
              HasSubstr(absl::StrCat(private_.path(),
                                     " (mode 0700, owner uid 0) cannot be "
                                     "traversed by other users")));

  absl::StatusOr<std::string> copy = UserRunnableCopy(binary_);
  ASSERT_TRUE(copy.ok()) << copy.status();
  EXPECT_NE(*copy, binary_);
  EXPECT_EQ(std::filesystem::path(*copy).filename(), "true");
  EXPECT_TRUE(CheckRunnableByEveryone(*copy).ok());
  EXPECT_EQ(RunAs(user_, *copy), 0);
  // Asked again: the same copy.
  EXPECT_EQ(*UserRunnableCopy(binary_), *copy);
}

TEST_F(RunnableCopyTest, CopiesAreRemovedWithTheirDirectory) {
  std::string copy_path;
  {
    RunnableCopies copies;  // UserRunnableCopy's lives until exit
    absl::StatusOr<std::string> copy = copies.Copy(binary_);
    ASSERT_TRUE(copy.ok()) << copy.status();
    copy_path = *copy;
    absl::StatusOr<std::string> other = copies.Copy("/bin/false");
    ASSERT_TRUE(other.ok()) << other.status();
    EXPECT_EQ(std::filesystem::path(*other).parent_path(),
              std::filesystem::path(copy_path).parent_path())
        << "one directory per process";
    EXPECT_EQ(RunAs(user_, *other), 1);  // it really is /bin/false
  }
  EXPECT_FALSE(std::filesystem::exists(copy_path)) << copy_path;
  EXPECT_FALSE(
      std::filesystem::exists(std::filesystem::path(copy_path).parent_path()))
      << copy_path;
}

// What a test sees when it runs a binary out of a user's reach anyway.
TEST_F(RunnableCopyTest, ServerThatCannotBeExecutedSaysWhyNotJust127) {
  TempDir work;
  ServerProcessOptions options;
  options.binary = binary_;
  options.work_dir = work.path();
  options.run_as_uid = static_cast<int>(user_.uid);
  options.run_as_gid = static_cast<int>(user_.gid);
  absl::Status s = ServerProcess::Start(options).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(),
              AllOf(HasSubstr(absl::StrCat("could not execute ", binary_,
                                           " as uid ", user_.uid)),
                    HasSubstr(absl::StrCat(private_.path(),
                                           " (mode 0700, owner uid 0) cannot "
                                           "be traversed by other users")),
                    HasSubstr("run a test::UserRunnableCopy of it instead")));
}

TEST_F(RunnableCopyTest, NoUsableTemporaryDirectoryNamesThePathAndTheFix) {
  const std::string inner = private_.path() + "/tmp";
  ASSERT_EQ(mkdir(inner.c_str(), 01777), 0);
  absl::Status s = MakeUserRunnableDir({inner, "/nonexistent-cmdctl"}).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(),
              AllOf(HasSubstr(absl::StrCat(private_.path(),
                                           " (mode 0700, owner uid 0) cannot "
                                           "be traversed by other users")),
                    HasSubstr("/nonexistent-cmdctl"),
                    HasSubstr("Fix: make /tmp usable by every user"),
                    HasSubstr("point TMPDIR at a directory every user can "
                              "traverse")));
}

}  // namespace
}  // namespace cmdctl::test

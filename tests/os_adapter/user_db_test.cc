// LookupUser tells "no such user" from "could not look" (issue 14): out of
// file descriptors, the passwd database cannot be read, and that is
// RESOURCE_EXHAUSTED naming the resource, never "unknown user".
#include "os_adapter/user_db.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <vector>

#include "common/unique_fd.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cmdctl {
namespace {

using ::testing::HasSubstr;

// Takes every fd this process may still open (under a lowered soft limit)
// for the life of the object.
class FdExhaustion {
 public:
  FdExhaustion() {
    getrlimit(RLIMIT_NOFILE, &saved_);
    struct rlimit low = saved_;
    low.rlim_cur = 256;
    setrlimit(RLIMIT_NOFILE, &low);
    for (;;) {
      UniqueFd fd(open("/dev/null", O_RDONLY | O_CLOEXEC));
      if (!fd) break;
      held_.push_back(std::move(fd));
    }
  }
  ~FdExhaustion() {
    held_.clear();
    setrlimit(RLIMIT_NOFILE, &saved_);
  }
  // Whether opening one more fd fails with EMFILE now.
  static bool Exhausted() {
    const int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      close(fd);
      return false;
    }
    return errno == EMFILE;
  }

 private:
  struct rlimit saved_;
  std::vector<UniqueFd> held_;
};

TEST(LookupUserTest, KnownAndUnknownUsers) {
  absl::StatusOr<UserEntry> root = LookupUser("root");
  ASSERT_TRUE(root.ok()) << root.status();
  EXPECT_EQ(root->uid, 0u);
  EXPECT_EQ(LookupUser("cmdctl-no-such-user").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(LookupUserTest, OutOfFdsIsResourceExhaustedNotUnknownUser) {
  // The NSS modules are loaded (dlopen needs fds too) before the fds go.
  ASSERT_TRUE(LookupUser("root").ok());
  absl::Status existing, missing;
  {
    FdExhaustion exhaustion;
    ASSERT_TRUE(FdExhaustion::Exhausted());
    existing = LookupUser("root").status();
    missing = LookupUser("cmdctl-no-such-user").status();
  }
  EXPECT_EQ(existing.code(), absl::StatusCode::kResourceExhausted) << existing;
  EXPECT_THAT(existing.message(), HasSubstr("EMFILE"));
  EXPECT_THAT(existing.message(), HasSubstr("root"));
  // Nobody could look: not "unknown user" either (with "passwd: files
  // systemd", nss_files fails and nss_systemd answers "not found").
  EXPECT_EQ(missing.code(), absl::StatusCode::kResourceExhausted) << missing;
  EXPECT_THAT(missing.message(), HasSubstr("EMFILE"));
  // And it recovers with the fds.
  EXPECT_TRUE(LookupUser("root").ok());
  EXPECT_EQ(LookupUser("cmdctl-no-such-user").status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace cmdctl

// ResolveRunAs: which unix login a caller may run as (SPEC §4).
#include "domain/authorization.h"

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace cmdctl {
namespace {

Caller Alice() { return Caller{"alice", {"alice", "builder", "www-data"}}; }

TEST(ResolveRunAsTest, EmptyRunAsResolvesToTheFirstPrincipal) {
  absl::StatusOr<std::string> login = ResolveRunAs(Alice(), "");
  ASSERT_TRUE(login.ok()) << login.status();
  EXPECT_EQ(*login, "alice");
}

TEST(ResolveRunAsTest, AnyListedPrincipalIsGranted) {
  EXPECT_EQ(ResolveRunAs(Alice(), "builder").value(), "builder");
  EXPECT_EQ(ResolveRunAs(Alice(), "www-data").value(), "www-data");
}

TEST(ResolveRunAsTest, FirstPrincipalNeedNotBeTheIdentity) {
  Caller ci{"ci-bot", {"deploy", "ci"}};
  EXPECT_EQ(ResolveRunAs(ci, "").value(), "deploy");
}

TEST(ResolveRunAsTest, UnlistedLoginIsPermissionDenied) {
  absl::StatusOr<std::string> login = ResolveRunAs(Alice(), "bob");
  EXPECT_EQ(login.status().code(), absl::StatusCode::kPermissionDenied);
}

TEST(ResolveRunAsTest, ComparisonIsExactNotCaseFoldedOrPrefix) {
  EXPECT_EQ(ResolveRunAs(Alice(), "Alice").status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ResolveRunAs(Alice(), "ali").status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ResolveRunAs(Alice(), "alice ").status().code(),
            absl::StatusCode::kPermissionDenied);
}

TEST(ResolveRunAsTest, IdentityItselfIsNotAPrincipal) {
  // The CN names the caller; only principal:<login> SANs grant logins.
  Caller carol{"carol", {"builder"}};
  EXPECT_EQ(ResolveRunAs(carol, "carol").status().code(),
            absl::StatusCode::kPermissionDenied);
}

TEST(ResolveRunAsTest, EmptyPrincipalListGrantsNothing) {
  Caller nobody{"mallory", {}};
  EXPECT_EQ(ResolveRunAs(nobody, "").status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ResolveRunAs(nobody, "mallory").status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ResolveRunAs(nobody, "root").status().code(),
            absl::StatusCode::kPermissionDenied);
}

TEST(ResolveRunAsTest, RootIsDeniedWithoutAnExplicitRootPrincipal) {
  EXPECT_EQ(ResolveRunAs(Alice(), "root").status().code(),
            absl::StatusCode::kPermissionDenied);
}

TEST(ResolveRunAsTest, RootIsGrantedByPrincipalRoot) {
  Caller admin{"admin", {"admin", "root"}};
  EXPECT_EQ(ResolveRunAs(admin, "root").value(), "root");
  EXPECT_EQ(ResolveRunAs(admin, "").value(), "admin");
  Caller root_first{"ops", {"root"}};
  EXPECT_EQ(ResolveRunAs(root_first, "").value(), "root");
}

}  // namespace
}  // namespace cmdctl

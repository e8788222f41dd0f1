#include "rpc/peer_identity.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "integration_tests/common/test_pki.h"

namespace cmdctl {
namespace {

using ::cmdctl::test::CertRequest;
using ::cmdctl::test::TestCa;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST(PeerIdentityTest, IdentityIsCnAndPrincipalsAreSanUrisInOrder) {
  TestCa ca("test ca");
  auto cert = ca.IssueClient("alice", {"deploy", "alice", "root"});
  absl::StatusOr<Caller> caller = CallerFromCertificatePem(cert.cert_pem);
  ASSERT_TRUE(caller.ok()) << caller.status();
  EXPECT_EQ(caller->identity, "alice");
  EXPECT_THAT(caller->principals, ElementsAre("deploy", "alice", "root"));
}

TEST(PeerIdentityTest, OtherSanEntriesAreNotPrincipals) {
  TestCa ca("test ca");
  CertRequest request;
  request.common_name = "bob";
  request.san_uris = {"spiffe://example/bob", "principal:bob",
                      "principal:", "Principal:root", "xprincipal:root"};
  request.san_dns = {"root", "principal:root"};
  absl::StatusOr<Caller> caller =
      CallerFromCertificatePem(ca.Issue(request).cert_pem);
  ASSERT_TRUE(caller.ok());
  EXPECT_THAT(caller->principals, ElementsAre("bob"));
}

TEST(PeerIdentityTest, CertificateWithoutSanHasNoPrincipals) {
  TestCa ca("test ca");
  auto cert = ca.IssueClient("carol", {});
  absl::StatusOr<Caller> caller = CallerFromCertificatePem(cert.cert_pem);
  ASSERT_TRUE(caller.ok());
  EXPECT_EQ(caller->identity, "carol");
  EXPECT_THAT(caller->principals, IsEmpty());
}

TEST(PeerIdentityTest, CertificateWithoutCnIsUnauthenticated) {
  TestCa ca("test ca");
  CertRequest request;  // empty common name: no CN entry is added
  request.common_name = "";
  request.san_uris = {"principal:root"};
  auto cert = ca.Issue(request);
  absl::StatusOr<Caller> caller = CallerFromCertificatePem(cert.cert_pem);
  EXPECT_EQ(caller.status().code(), absl::StatusCode::kUnauthenticated);
}

TEST(PeerIdentityTest, GarbageIsUnauthenticated) {
  EXPECT_EQ(CallerFromCertificatePem("not a certificate").status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(CallerFromCertificatePem("").status().code(),
            absl::StatusCode::kUnauthenticated);
}

}  // namespace
}  // namespace cmdctl

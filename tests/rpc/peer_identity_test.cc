#include "rpc/peer_identity.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "integration_tests/common/test_pki.h"

namespace cmdctl {
namespace {

using ::cmdctl::test::CertRequest;
using ::cmdctl::test::TestCa;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
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

TEST(PeerIdentityTest, CaCertificateIsUnauthenticatedAndNamed) {
  TestCa ca("test ca");
  CertRequest request;
  request.common_name = "holder";
  request.san_uris = {"principal:root"};
  request.basic_constraints = "critical,CA:TRUE";
  request.key_usage = "critical,keyCertSign";
  absl::Status ca_cert =
      CallerFromCertificatePem(ca.Issue(request).cert_pem).status();
  EXPECT_EQ(ca_cert.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(ca_cert.message(),
              AllOf(HasSubstr("is a CA certificate (basicConstraints CA:TRUE)"),
                    HasSubstr("; subject: CN=holder; issuer: CN=test ca; "
                              "serial: ")));
  // keyCertSign alone is enough.
  request.basic_constraints = "critical,CA:FALSE";
  request.key_usage = "critical,digitalSignature,keyCertSign";
  absl::Status signer =
      CallerFromCertificatePem(ca.Issue(request).cert_pem).status();
  EXPECT_EQ(signer.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(signer.message(), HasSubstr("(key usage keyCertSign)"));
}

TEST(PeerIdentityTest, CnWithAControlCharacterIsUnauthenticated) {
  TestCa ca("test ca");
  for (const std::string& cn :
       {std::string("alice\nroot"), std::string("alice\r"),
        std::string("\x1b[31malice"), std::string("alice\x7f"),
        std::string("alice\xc2\x85")}) {  // U+0085, a C1 control
    absl::Status s =
        CallerFromCertificatePem(ca.IssueClient(cn, {"alice"}).cert_pem)
            .status();
    EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated) << cn;
    EXPECT_THAT(s.message(),
                HasSubstr("client certificate CN holds a control character"));
    // The description is printable ASCII: nothing can forge a log line.
    for (char c : s.message()) {
      EXPECT_TRUE(c >= 0x20 && c < 0x7f) << "in " << s.message();
    }
  }
  absl::Status newline =
      CallerFromCertificatePem(ca.IssueClient("alice\nroot", {}).cert_pem)
          .status();
  EXPECT_THAT(newline.message(), HasSubstr("subject: CN=alice\\0Aroot;"));
}

TEST(PeerIdentityTest, SpacesAndNonAsciiAreKeptExactly) {
  TestCa ca("test ca");
  for (const std::string& cn :
       {std::string("alice "), std::string(" alice"), std::string("al ice"),
        std::string("z\xc3\xbcrich")}) {  // zürich
    absl::StatusOr<Caller> caller =
        CallerFromCertificatePem(ca.IssueClient(cn, {"alice"}).cert_pem);
    ASSERT_TRUE(caller.ok()) << caller.status();
    EXPECT_EQ(caller->identity, cn);
  }
}

TEST(PeerIdentityTest, GarbageIsUnauthenticated) {
  EXPECT_EQ(CallerFromCertificatePem("not a certificate").status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(CallerFromCertificatePem("").status().code(),
            absl::StatusCode::kUnauthenticated);
}

}  // namespace
}  // namespace cmdctl

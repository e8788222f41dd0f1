#include "rpc/client_certificate_policy.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "integration_tests/common/test_pki.h"

namespace cmdctl {
namespace {

using ::cmdctl::test::CertRequest;
using ::cmdctl::test::IssuedCert;
using ::cmdctl::test::TestCa;
using ::testing::HasSubstr;

// A CA:TRUE certificate `issuer` signed (without a path length limit).
IssuedCert IssueIntermediate(const TestCa& issuer) {
  CertRequest request;
  request.common_name = "intermediate";
  request.basic_constraints = "critical,CA:TRUE";
  request.key_usage = "critical,keyCertSign";
  return issuer.Issue(request);
}

std::shared_ptr<const ClientCertificatePolicy> Policy(const std::string& pem) {
  absl::StatusOr<std::shared_ptr<const ClientCertificatePolicy>> policy =
      ClientCertificatePolicy::FromCaPem(pem);
  EXPECT_TRUE(policy.ok()) << policy.status();
  return policy.ok() ? *policy : nullptr;
}

TEST(ClientCertificatePolicyTest, LeafIssuedByTheCaIsAccepted) {
  TestCa ca("root ca");
  auto policy = Policy(ca.cert_pem());
  ASSERT_NE(policy, nullptr);
  absl::Status s = policy->Check(ca.IssueClient("alice", {"alice"}).cert_pem);
  EXPECT_TRUE(s.ok()) << s;
}

TEST(ClientCertificatePolicyTest, LeafOfEitherCaOfTheFileIsAccepted) {
  TestCa old_ca("old ca"), new_ca("new ca");
  auto policy = Policy(old_ca.cert_pem() + new_ca.cert_pem());
  ASSERT_NE(policy, nullptr);
  EXPECT_TRUE(policy->Check(old_ca.IssueClient("a", {}).cert_pem).ok());
  EXPECT_TRUE(policy->Check(new_ca.IssueClient("a", {}).cert_pem).ok());
}

TEST(ClientCertificatePolicyTest, CaCertificateIsRefused) {
  TestCa ca("root ca");
  auto policy = Policy(ca.cert_pem());
  ASSERT_NE(policy, nullptr);
  absl::Status s = policy->Check(IssueIntermediate(ca).cert_pem);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(s.message(),
              HasSubstr("client certificate is a CA certificate "
                        "(basicConstraints CA:TRUE); a CA never identifies a "
                        "caller; subject: CN=intermediate; issuer: CN=root "
                        "ca; serial: "));
}

TEST(ClientCertificatePolicyTest, LeafMintedByAnIntermediateIsRefused) {
  TestCa ca("root ca");
  const TestCa minter(IssueIntermediate(ca));
  auto policy = Policy(ca.cert_pem());
  ASSERT_NE(policy, nullptr);
  absl::Status s =
      policy->Check(minter.IssueClient("alice", {"root"}).cert_pem);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(s.message(), HasSubstr("not issued directly by a CA of --ca"));
  EXPECT_THAT(s.message(), HasSubstr("subject: CN=alice; issuer: "
                                     "CN=intermediate; serial: "));
}

TEST(ClientCertificatePolicyTest,
     LeafNamingTheCaButSignedByAnotherKeyIsRefused) {
  TestCa ca("root ca");
  TestCa impostor("root ca");  // same name, another key
  auto policy = Policy(ca.cert_pem());
  ASSERT_NE(policy, nullptr);
  absl::Status s = policy->Check(impostor.IssueClient("alice", {}).cert_pem);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(s.message(), HasSubstr("not issued directly by a CA of --ca"));
}

TEST(ClientCertificatePolicyTest, GarbageIsRefusedAndNoCaIsAnError) {
  TestCa ca("root ca");
  auto policy = Policy(ca.cert_pem());
  ASSERT_NE(policy, nullptr);
  EXPECT_EQ(policy->Check("not pem").code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(ClientCertificatePolicy::FromCaPem("").status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace cmdctl

#include "tls/x509_util.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "integration_tests/common/test_pki.h"

namespace cmdctl {
namespace {

using ::cmdctl::test::CertRequest;
using ::cmdctl::test::TestCa;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;

X509Ptr Parse(const std::string& pem) {
  absl::StatusOr<std::vector<X509Ptr>> certs = ParsePemCertificates(pem);
  EXPECT_TRUE(certs.ok()) << certs.status();
  return certs.ok() ? std::move(certs->front()) : nullptr;
}

CertRequest Named(const std::string& cn) {
  CertRequest request;
  request.common_name = cn;
  return request;
}

TEST(X509UtilTest, ParsesEveryCertificateOrSaysWhatIsWrong) {
  TestCa ca("x509 ca");
  absl::StatusOr<std::vector<X509Ptr>> two =
      ParsePemCertificates(ca.cert_pem() + ca.IssueServer().cert_pem);
  ASSERT_TRUE(two.ok()) << two.status();
  EXPECT_EQ(two->size(), 2u);
  absl::Status none = ParsePemCertificates("hello\n").status();
  EXPECT_EQ(none.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(none.message(), HasSubstr("holds no PEM certificate"));
  const std::string& pem = ca.cert_pem();
  absl::Status cut =
      ParsePemCertificates(pem + pem.substr(0, pem.size() / 2)).status();
  EXPECT_THAT(cut.message(), HasSubstr("cannot be parsed"));
}

TEST(X509UtilTest, NamesArePrintableRfc2253) {
  TestCa ca("x509 ca");
  struct Case {
    std::string cn, subject;
  };
  for (const Case& c :
       std::vector<Case>{{"alice", "CN=alice"},
                         {"a,b;c", "CN=a\\,b\\;c"},
                         {"x\ny", "CN=x\\0Ay"},
                         {"alice ", "CN=alice\\ "},
                         {"z\xc3\xbcrich", "CN=z\\C3\\BCrich"}}) {
    X509Ptr cert = Parse(ca.Issue(Named(c.cn)).cert_pem);
    ASSERT_NE(cert, nullptr);
    EXPECT_EQ(CertificateSubject(cert.get()), c.subject);
    EXPECT_EQ(CertificateIssuer(cert.get()), "CN=x509 ca");
  }
}

TEST(X509UtilTest, SerialFingerprintAndDescription) {
  TestCa ca("x509 ca");
  X509Ptr a = Parse(ca.IssueServer().cert_pem);
  X509Ptr b = Parse(ca.IssueServer().cert_pem);
  ASSERT_TRUE(a != nullptr && b != nullptr);
  EXPECT_THAT(CertificateSerial(a.get()), MatchesRegex("([0-9A-F]{2})+"));
  EXPECT_NE(CertificateSerial(a.get()), CertificateSerial(b.get()));
  EXPECT_THAT(CertificateSha256Fingerprint(a.get()),
              MatchesRegex("([0-9A-F]{2}:){31}[0-9A-F]{2}"));
  EXPECT_EQ(DescribeCertificate(a.get()),
            "subject: CN=localhost; issuer: CN=x509 ca; serial: " +
                CertificateSerial(a.get()));
}

TEST(X509UtilTest, WhatMakesACa) {
  TestCa ca("x509 ca");
  X509Ptr root = Parse(ca.cert_pem());
  X509Ptr leaf = Parse(ca.IssueClient("alice", {}).cert_pem);
  CertRequest signer = Named("signer");  // CA:FALSE, but keyCertSign
  signer.key_usage = "critical,digitalSignature,keyCertSign";
  X509Ptr signing_leaf = Parse(ca.Issue(signer).cert_pem);
  CertRequest half = Named("half");  // CA:TRUE without keyCertSign
  half.basic_constraints = "critical,CA:TRUE";
  half.key_usage = "critical,digitalSignature";
  X509Ptr half_ca = Parse(ca.Issue(half).cert_pem);
  ASSERT_TRUE(root && leaf && signing_leaf && half_ca);

  EXPECT_EQ(CaCapability(root.get()), "basicConstraints CA:TRUE");
  EXPECT_EQ(CaCapability(leaf.get()), "");
  EXPECT_EQ(CaCapability(signing_leaf.get()), "key usage keyCertSign");
  EXPECT_EQ(CaCapability(half_ca.get()), "basicConstraints CA:TRUE");

  EXPECT_EQ(MissingCaProperty(root.get()), "");
  EXPECT_EQ(MissingCaProperty(leaf.get()), "basicConstraints CA:TRUE");
  EXPECT_EQ(MissingCaProperty(signing_leaf.get()), "basicConstraints CA:TRUE");
  EXPECT_EQ(MissingCaProperty(half_ca.get()), "the key usage keyCertSign");
}

}  // namespace
}  // namespace cmdctl

#include "tls/tls_files.h"

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "integration_tests/common/test_pki.h"

namespace cmdctl {
namespace {

using ::cmdctl::test::CertRequest;
using ::cmdctl::test::TempDir;
using ::cmdctl::test::TestCa;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;

class TlsFilesTest : public ::testing::Test {
 protected:
  TlsFilesTest() : ca_("files ca") {
    auto server = ca_.IssueServer();
    ca_path_ = dir_.WriteFile("ca.pem", ca_.cert_pem());
    cert_path_ = dir_.WriteFile("server.pem", server.cert_pem);
    key_path_ = dir_.WriteFile("server.key", server.key_pem);
  }
  TempDir dir_;
  TestCa ca_;
  std::string ca_path_, cert_path_, key_path_;
};

TEST_F(TlsFilesTest, GoodFilesLoad) {
  absl::StatusOr<TlsFiles> files =
      LoadTlsFiles(ca_path_, cert_path_, key_path_);
  ASSERT_TRUE(files.ok()) << files.status();
  EXPECT_EQ(files->ca_pem, ca_.cert_pem());
}

TEST_F(TlsFilesTest, MissingFileIsNamed) {
  const std::string missing = dir_.path() + "/nope.pem";
  absl::Status s = LoadTlsFiles(missing, cert_path_, key_path_).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(s.message(), AllOf(HasSubstr("CA"), HasSubstr(missing)));
}

TEST_F(TlsFilesTest, EmptyFilesAreNamed) {
  const std::string empty = dir_.WriteFile("empty.pem", "\n");
  for (int which = 0; which < 3; ++which) {
    absl::Status s = LoadTlsFiles(which == 0 ? empty : ca_path_,
                                  which == 1 ? empty : cert_path_,
                                  which == 2 ? empty : key_path_)
                         .status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(s.message(), AllOf(HasSubstr(empty), HasSubstr("empty")));
  }
}

TEST_F(TlsFilesTest, GarbageIsNamed) {
  const std::string junk = dir_.WriteFile("junk.pem", "hello world\n");
  absl::Status ca = LoadTlsFiles(junk, cert_path_, key_path_).status();
  EXPECT_EQ(ca.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(ca.message(), AllOf(HasSubstr("CA file"), HasSubstr(junk)));
  absl::Status key = LoadTlsFiles(ca_path_, cert_path_, junk).status();
  EXPECT_EQ(key.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(key.message(), AllOf(HasSubstr("key file"), HasSubstr(junk)));
}

TEST_F(TlsFilesTest, TruncatedCertificateIsRejected) {
  const std::string& pem = ca_.cert_pem();
  const std::string cut =
      dir_.WriteFile("cut.pem", pem.substr(0, pem.size() / 2));
  absl::Status s = LoadTlsFiles(cut, cert_path_, key_path_).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr(cut));
}

TEST_F(TlsFilesTest, KeyOfAnotherCertificateIsAMismatch) {
  const std::string other_key =
      dir_.WriteFile("other.key", ca_.IssueServer().key_pem);
  absl::Status s = LoadTlsFiles(ca_path_, cert_path_, other_key).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(),
              AllOf(HasSubstr(other_key), HasSubstr("does not match")));
}

TEST_F(TlsFilesTest, ExpiredCertificateIsRefused) {
  auto expired = ca_.IssueExpiredClient("old", {});
  const std::string cert = dir_.WriteFile("old.pem", expired.cert_pem);
  const std::string key = dir_.WriteFile("old.key", expired.key_pem);
  absl::Status s = LoadTlsFiles(ca_path_, cert, key).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), AllOf(HasSubstr(cert), HasSubstr("expired")));
}

TEST_F(TlsFilesTest, EveryCaOfTheFileIsListedWithItsFingerprint) {
  TestCa second("second ca");
  const std::string both =
      dir_.WriteFile("both.pem", ca_.cert_pem() + second.cert_pem());
  absl::StatusOr<TlsFiles> files = LoadTlsFiles(both, cert_path_, key_path_);
  ASSERT_TRUE(files.ok()) << files.status();
  ASSERT_EQ(files->trusted_cas.size(), 2u);
  EXPECT_EQ(files->trusted_cas[0].subject, "CN=files ca");
  EXPECT_EQ(files->trusted_cas[1].subject, "CN=second ca");
  for (const TrustedCa& ca : files->trusted_cas) {
    EXPECT_THAT(ca.sha256_fingerprint,
                MatchesRegex("([0-9A-F]{2}:){31}[0-9A-F]{2}"));
  }
  EXPECT_NE(files->trusted_cas[0].sha256_fingerprint,
            files->trusted_cas[1].sha256_fingerprint);
}

TEST_F(TlsFilesTest, CertificateThatIsNotACaIsRefusedInTheCaFile) {
  auto leaf = ca_.IssueClient("alice", {"alice"});
  CertRequest no_cert_sign;  // CA:TRUE, but may not sign certificates
  no_cert_sign.common_name = "half ca";
  no_cert_sign.basic_constraints = "critical,CA:TRUE";
  no_cert_sign.key_usage = "critical,digitalSignature";
  struct Case {
    std::string pem, want;
  };
  for (const Case& c : std::vector<Case>{
           {leaf.cert_pem,
            "certificate 1 of 1 (subject: CN=alice) is not a CA certificate "
            "(it lacks basicConstraints CA:TRUE)"},
           {ca_.cert_pem() + leaf.cert_pem,
            "certificate 2 of 2 (subject: CN=alice) is not a CA certificate"},
           {ca_.Issue(no_cert_sign).cert_pem,
            "(subject: CN=half ca) is not a CA certificate (it lacks the key "
            "usage keyCertSign)"}}) {
    const std::string path = dir_.WriteFile("bad-ca.pem", c.pem);
    absl::Status s = LoadTlsFiles(path, cert_path_, key_path_).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(s.message(),
                AllOf(HasSubstr("CA file " + path + ": "), HasSubstr(c.want)));
  }
}

TEST_F(TlsFilesTest, ExpiredCaInTheFileIsRefused) {
  CertRequest old;
  old.common_name = "old ca";
  old.basic_constraints = "critical,CA:TRUE";
  old.key_usage = "critical,keyCertSign";
  old.not_before = -absl::Hours(48);
  old.not_after = -absl::Hours(24);
  const std::string path =
      dir_.WriteFile("old-ca.pem", ca_.cert_pem() + ca_.Issue(old).cert_pem);
  absl::Status s = LoadTlsFiles(path, cert_path_, key_path_).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), AllOf(HasSubstr("expired"),
                                 HasSubstr("certificate 2 of 2 (subject: "
                                           "CN=old ca)")));
}

}  // namespace
}  // namespace cmdctl

// Certificates for tests, made in memory with OpenSSL: a CA, server
// certificates for 127.0.0.1/localhost, client certificates with a CN and
// `principal:<login>` SAN URIs, expired ones, and as many CAs as a test
// wants. Keys are EC P-256 (fast to make).
#ifndef CMDCTL_INTEGRATION_TESTS_COMMON_TEST_PKI_H_
#define CMDCTL_INTEGRATION_TESTS_COMMON_TEST_PKI_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace cmdctl::test {

// A certificate and its private key, both PEM.
struct IssuedCert {
  std::string cert_pem;
  std::string key_pem;
};

// What goes into a leaf certificate.
struct CertRequest {
  std::string common_name;
  std::vector<std::string> san_uris;  // e.g. "principal:alice"
  std::vector<std::string> san_dns;   // e.g. "localhost"
  std::vector<std::string> san_ips;   // e.g. "127.0.0.1"
  bool server = false;                // serverAuth, else clientAuth
  // basicConstraints and keyUsage, in OpenSSL's configuration syntax
  // (e.g. "critical,CA:TRUE" and "critical,keyCertSign" for a CA).
  std::string basic_constraints = "critical,CA:FALSE";
  std::string key_usage = "critical,digitalSignature,keyEncipherment";
  // Validity relative to now: [now + not_before, now + not_after].
  absl::Duration not_before = -absl::Hours(1);
  absl::Duration not_after = absl::Hours(24);
};

class TestCa {
 public:
  // A self-signed CA named `name`. CHECK-fails if OpenSSL fails.
  explicit TestCa(const std::string& name);
  // A CA that signs with an existing certificate and key, e.g. a CA:TRUE
  // certificate another TestCa issued (an intermediate).
  explicit TestCa(const IssuedCert& ca);
  ~TestCa();
  TestCa(const TestCa&) = delete;
  TestCa& operator=(const TestCa&) = delete;

  const std::string& cert_pem() const { return ca_.cert_pem; }

  IssuedCert Issue(const CertRequest& request) const;

  // Shorthands.
  IssuedCert IssueServer() const;  // CN=localhost, DNS:localhost, IP:127.0.0.1
  IssuedCert IssueClient(const std::string& identity,
                         const std::vector<std::string>& principals) const;
  IssuedCert IssueExpiredClient(
      const std::string& identity,
      const std::vector<std::string>& principals) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  IssuedCert ca_;
};

// A fresh directory under $TMPDIR (or /tmp), removed with its contents.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  // Writes `contents` to path()/name (mode 0600) and returns the full path.
  std::string WriteFile(const std::string& name,
                        const std::string& contents) const;

 private:
  std::string path_;
};

}  // namespace cmdctl::test

#endif  // CMDCTL_INTEGRATION_TESTS_COMMON_TEST_PKI_H_

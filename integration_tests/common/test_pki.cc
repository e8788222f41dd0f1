#include "integration_tests/common/test_pki.h"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "glog/logging.h"

namespace cmdctl::test {
namespace {

using KeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using X509Ptr = std::unique_ptr<X509, decltype(&X509_free)>;

KeyPtr NewKey() {
  KeyPtr key(EVP_EC_gen("P-256"), EVP_PKEY_free);
  CHECK(key != nullptr) << "EC key generation failed";
  return key;
}

std::string KeyPem(EVP_PKEY* key) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  CHECK_EQ(PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0,
                                    nullptr, nullptr),
           1);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

std::string CertPem(X509* cert) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  CHECK_EQ(PEM_write_bio_X509(bio.get(), cert), 1);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

void AddExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  CHECK(ext != nullptr) << "bad extension " << nid << "=" << value;
  CHECK_EQ(X509_add_ext(cert, ext, -1), 1);
  X509_EXTENSION_free(ext);
}

// A certificate for `key` named `cn`, not yet signed.
X509Ptr NewCert(EVP_PKEY* key, const std::string& cn, absl::Duration not_before,
                absl::Duration not_after) {
  X509Ptr cert(X509_new(), X509_free);
  CHECK_EQ(X509_set_version(cert.get(), 2), 1);
  unsigned char serial[16];
  CHECK_EQ(RAND_bytes(serial, sizeof(serial)), 1);
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof(serial), nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()),
                  absl::ToInt64Seconds(not_before));
  X509_gmtime_adj(X509_getm_notAfter(cert.get()),
                  absl::ToInt64Seconds(not_after));
  X509_NAME* name = X509_get_subject_name(cert.get());
  if (!cn.empty()) {
    CHECK_EQ(X509_NAME_add_entry_by_txt(
                 name, "CN", MBSTRING_UTF8,
                 reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0),
             1);
  }
  CHECK_EQ(X509_set_pubkey(cert.get(), key), 1);
  return cert;
}

}  // namespace

struct TestCa::Impl {
  KeyPtr key{nullptr, EVP_PKEY_free};
  X509Ptr cert{nullptr, X509_free};
};

TestCa::TestCa(const std::string& name) : impl_(std::make_unique<Impl>()) {
  impl_->key = NewKey();
  impl_->cert =
      NewCert(impl_->key.get(), name, -absl::Hours(1), absl::Hours(24 * 30));
  X509* cert = impl_->cert.get();
  CHECK_EQ(X509_set_issuer_name(cert, X509_get_subject_name(cert)), 1);
  AddExtension(cert, cert, NID_basic_constraints, "critical,CA:TRUE");
  AddExtension(cert, cert, NID_key_usage, "critical,keyCertSign,cRLSign");
  AddExtension(cert, cert, NID_subject_key_identifier, "hash");
  CHECK_GT(X509_sign(cert, impl_->key.get(), EVP_sha256()), 0);
  ca_.cert_pem = CertPem(cert);
  ca_.key_pem = KeyPem(impl_->key.get());
}

TestCa::TestCa(const IssuedCert& ca)
    : impl_(std::make_unique<Impl>()), ca_(ca) {
  std::unique_ptr<BIO, decltype(&BIO_free)> cert_bio(
      BIO_new_mem_buf(ca.cert_pem.data(), static_cast<int>(ca.cert_pem.size())),
      BIO_free);
  impl_->cert.reset(
      PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr));
  CHECK(impl_->cert != nullptr) << "bad CA certificate";
  std::unique_ptr<BIO, decltype(&BIO_free)> key_bio(
      BIO_new_mem_buf(ca.key_pem.data(), static_cast<int>(ca.key_pem.size())),
      BIO_free);
  impl_->key.reset(
      PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  CHECK(impl_->key != nullptr) << "bad CA key";
}

TestCa::~TestCa() = default;

IssuedCert TestCa::Issue(const CertRequest& request) const {
  KeyPtr key = NewKey();
  X509Ptr cert = NewCert(key.get(), request.common_name, request.not_before,
                         request.not_after);
  X509* issuer = impl_->cert.get();
  CHECK_EQ(X509_set_issuer_name(cert.get(), X509_get_subject_name(issuer)), 1);
  AddExtension(cert.get(), issuer, NID_basic_constraints,
               request.basic_constraints);
  AddExtension(cert.get(), issuer, NID_key_usage, request.key_usage);
  // Its own key identifier, so that certificates it signs can name it.
  AddExtension(cert.get(), cert.get(), NID_subject_key_identifier, "hash");
  AddExtension(cert.get(), issuer, NID_ext_key_usage,
               request.server ? "serverAuth" : "clientAuth");
  AddExtension(cert.get(), issuer, NID_authority_key_identifier, "keyid");
  std::vector<std::string> sans;
  for (const auto& uri : request.san_uris) sans.push_back("URI:" + uri);
  for (const auto& dns : request.san_dns) sans.push_back("DNS:" + dns);
  for (const auto& ip : request.san_ips) sans.push_back("IP:" + ip);
  if (!sans.empty()) {
    AddExtension(cert.get(), issuer, NID_subject_alt_name,
                 absl::StrJoin(sans, ","));
  }
  CHECK_GT(X509_sign(cert.get(), impl_->key.get(), EVP_sha256()), 0);
  return IssuedCert{CertPem(cert.get()), KeyPem(key.get())};
}

IssuedCert TestCa::IssueServer() const {
  CertRequest request;
  request.common_name = "localhost";
  request.san_dns = {"localhost"};
  request.san_ips = {"127.0.0.1"};
  request.server = true;
  return Issue(request);
}

IssuedCert TestCa::IssueClient(
    const std::string& identity,
    const std::vector<std::string>& principals) const {
  CertRequest request;
  request.common_name = identity;
  for (const auto& p : principals) request.san_uris.push_back("principal:" + p);
  return Issue(request);
}

IssuedCert TestCa::IssueExpiredClient(
    const std::string& identity,
    const std::vector<std::string>& principals) const {
  CertRequest request;
  request.common_name = identity;
  for (const auto& p : principals) request.san_uris.push_back("principal:" + p);
  request.not_before = -absl::Hours(48);
  request.not_after = -absl::Hours(24);
  return Issue(request);
}

TempDir::TempDir() {
  const char* base = getenv("TMPDIR");
  std::string tmpl = absl::StrCat(
      base != nullptr && *base != '\0' ? base : "/tmp", "/cmdctl_test_XXXXXX");
  CHECK(mkdtemp(tmpl.data()) != nullptr) << "mkdtemp " << tmpl;
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::string TempDir::WriteFile(const std::string& name,
                               const std::string& contents) const {
  const std::string full = absl::StrCat(path_, "/", name);
  const int fd =
      open(full.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  CHECK_GE(fd, 0) << "open " << full;
  size_t done = 0;
  while (done < contents.size()) {
    const ssize_t n = write(fd, contents.data() + done, contents.size() - done);
    CHECK_GT(n, 0) << "write " << full;
    done += static_cast<size_t>(n);
  }
  close(fd);
  return full;
}

}  // namespace cmdctl::test

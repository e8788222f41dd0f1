#include "tls/tls_files.h"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <time.h>

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/file_util.h"

namespace cmdctl {
namespace {

using BioPtr = std::unique_ptr<BIO, decltype(&BIO_free)>;
using X509Ptr = std::unique_ptr<X509, decltype(&X509_free)>;
using KeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

std::string OpenSslError() {
  const unsigned long code = ERR_peek_last_error();
  ERR_clear_error();
  if (code == 0) return "";
  char buf[256];
  ERR_error_string_n(code, buf, sizeof(buf));
  return absl::StrCat(" (", buf, ")");
}

BioPtr MemBio(const std::string& data) {
  return BioPtr(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())),
                BIO_free);
}

// Checks that every certificate of `pem` parses, and that there is one.
// Returns the first.
absl::StatusOr<X509Ptr> ParseCertificates(const std::string& what,
                                          const std::string& path,
                                          const std::string& pem) {
  BioPtr bio = MemBio(pem);
  X509Ptr first(nullptr, X509_free);
  int count = 0;
  for (;;) {
    X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr),
                 X509_free);
    if (cert == nullptr) break;
    if (count++ == 0) first = std::move(cert);
  }
  const unsigned long err = ERR_peek_last_error();
  // Running off the end of the data is how the loop ends; anything else is
  // a broken certificate.
  const bool clean_end = ERR_GET_LIB(err) == ERR_LIB_PEM &&
                         ERR_GET_REASON(err) == PEM_R_NO_START_LINE;
  if (count == 0 || (err != 0 && !clean_end)) {
    const std::string detail = OpenSslError();
    return absl::InvalidArgumentError(
        absl::StrCat(what, " file ", path,
                     count == 0 ? ": holds no PEM certificate"
                                : ": holds a certificate that cannot be parsed",
                     detail));
  }
  ERR_clear_error();
  return first;
}

// "2026-11-27 14:05:01 UTC"; "an unreadable date" if it cannot be read.
std::string FormatAsn1Time(const ASN1_TIME* time) {
  struct tm tm {};
  if (ASN1_TIME_to_tm(time, &tm) != 1) return "an unreadable date";
  char buf[64];
  if (strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S UTC", &tm) == 0) {
    return "an unreadable date";
  }
  return buf;
}

absl::Status CheckValidity(const std::string& what, const std::string& path,
                           X509* cert) {
  if (X509_cmp_current_time(X509_get0_notAfter(cert)) < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(what, " file ", path, ": the certificate has expired (on ",
                     FormatAsn1Time(X509_get0_notAfter(cert)), ")"));
  }
  if (X509_cmp_current_time(X509_get0_notBefore(cert)) > 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        what, " file ", path, ": the certificate is not valid yet (until ",
        FormatAsn1Time(X509_get0_notBefore(cert)), ")"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> ReadPemFile(const std::string& what,
                                        const std::string& path) {
  if (path.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(what, " file: no path"));
  }
  absl::StatusOr<std::string> data =
      ReadFileToString(AT_FDCWD, path, kMaxPemBytes);
  if (!data.ok()) {
    return absl::Status(data.status().code(),
                        absl::StrCat(what, " file ", data.status().message()));
  }
  if (data->find_first_not_of(" \t\r\n") == std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " file ", path, ": is empty"));
  }
  return data;
}

absl::Status CheckTlsFiles(const TlsFiles& files, const TlsFileNames& names) {
  ERR_clear_error();
  absl::StatusOr<X509Ptr> ca_cert =
      ParseCertificates("CA", names.ca, files.ca_pem);
  if (!ca_cert.ok()) return ca_cert.status();
  absl::Status valid = CheckValidity("CA", names.ca, ca_cert->get());
  if (!valid.ok()) return valid;

  absl::StatusOr<X509Ptr> leaf =
      ParseCertificates("certificate", names.cert, files.cert_pem);
  if (!leaf.ok()) return leaf.status();
  valid = CheckValidity("certificate", names.cert, leaf->get());
  if (!valid.ok()) return valid;

  BioPtr key_bio = MemBio(files.key_pem);
  KeyPtr pkey(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr,
                                      const_cast<char*>("")),
              EVP_PKEY_free);
  if (pkey == nullptr) {
    const std::string detail = OpenSslError();
    return absl::InvalidArgumentError(
        absl::StrCat("key file ", names.key,
                     ": holds no unencrypted PEM private key", detail));
  }
  if (X509_check_private_key(leaf->get(), pkey.get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(absl::StrCat(
        "key file ", names.key, " does not match certificate ", names.cert));
  }
  return absl::OkStatus();
}

absl::StatusOr<TlsFiles> LoadTlsFiles(const std::string& ca_path,
                                      const std::string& cert_path,
                                      const std::string& key_path) {
  TlsFiles files;
  absl::StatusOr<std::string> ca = ReadPemFile("CA", ca_path);
  if (!ca.ok()) return ca.status();
  absl::StatusOr<std::string> cert = ReadPemFile("certificate", cert_path);
  if (!cert.ok()) return cert.status();
  absl::StatusOr<std::string> key = ReadPemFile("key", key_path);
  if (!key.ok()) return key.status();
  files.ca_pem = *std::move(ca);
  files.cert_pem = *std::move(cert);
  files.key_pem = *std::move(key);
  absl::Status checked =
      CheckTlsFiles(files, TlsFileNames{ca_path, cert_path, key_path});
  if (!checked.ok()) return checked;
  return files;
}

}  // namespace cmdctl

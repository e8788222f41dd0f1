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
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "tls/x509_util.h"

namespace cmdctl {
namespace {

using BioPtr = std::unique_ptr<BIO, decltype(&BIO_free)>;
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

absl::StatusOr<std::vector<X509Ptr>> ParseCertificates(const std::string& what,
                                                       const std::string& path,
                                                       const std::string& pem) {
  absl::StatusOr<std::vector<X509Ptr>> certs = ParsePemCertificates(pem);
  if (!certs.ok()) {
    return absl::Status(
        certs.status().code(),
        absl::StrCat(what, " file ", path, ": ", certs.status().message()));
  }
  return certs;
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

// Every certificate of a --ca file must be a CA, currently valid: a leaf
// there would be trusted as an issuer of client certificates (or, with
// OpenSSL, as a client itself).
absl::StatusOr<std::vector<TrustedCa>> CheckCaFile(const std::string& path,
                                                   const std::string& pem) {
  absl::StatusOr<std::vector<X509Ptr>> certs =
      ParseCertificates("CA", path, pem);
  if (!certs.ok()) return certs.status();
  std::vector<TrustedCa> cas;
  for (size_t i = 0; i < certs->size(); ++i) {
    X509* cert = (*certs)[i].get();
    const std::string which =
        absl::StrCat("certificate ", i + 1, " of ", certs->size(),
                     " (subject: ", CertificateSubject(cert), ")");
    const std::string missing = MissingCaProperty(cert);
    if (!missing.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "CA file ", path, ": ", which, " is not a CA certificate (it lacks ",
          missing,
          "); the file must hold only the CA certificates that "
          "issue the peer's certificates, never a server or client "
          "certificate"));
    }
    absl::Status valid = CheckValidity("CA", path, cert);
    if (!valid.ok()) {
      return absl::Status(valid.code(),
                          absl::StrCat(valid.message(), " (", which, ")"));
    }
    cas.push_back(TrustedCa{CertificateSubject(cert),
                            CertificateSha256Fingerprint(cert)});
  }
  return cas;
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

namespace {

// The checks of CheckTlsFiles; on success, the CAs of the CA file.
absl::StatusOr<std::vector<TrustedCa>> CheckFiles(const TlsFiles& files,
                                                  const TlsFileNames& names) {
  ERR_clear_error();
  absl::StatusOr<std::vector<TrustedCa>> cas =
      CheckCaFile(names.ca, files.ca_pem);
  if (!cas.ok()) return cas.status();

  absl::StatusOr<std::vector<X509Ptr>> chain =
      ParseCertificates("certificate", names.cert, files.cert_pem);
  if (!chain.ok()) return chain.status();
  X509* leaf = chain->front().get();
  absl::Status valid = CheckValidity("certificate", names.cert, leaf);
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
  if (X509_check_private_key(leaf, pkey.get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(absl::StrCat(
        "key file ", names.key, " does not match certificate ", names.cert));
  }
  return cas;
}

}  // namespace

absl::Status CheckTlsFiles(const TlsFiles& files, const TlsFileNames& names) {
  return CheckFiles(files, names).status();
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
  absl::StatusOr<std::vector<TrustedCa>> cas =
      CheckFiles(files, TlsFileNames{ca_path, cert_path, key_path});
  if (!cas.ok()) return cas.status();
  files.trusted_cas = *std::move(cas);
  return files;
}

}  // namespace cmdctl

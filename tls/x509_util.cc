#include "tls/x509_util.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace cmdctl {
namespace {

using BioPtr = std::unique_ptr<BIO, decltype(&BIO_free)>;

// What a memory BIO holds.
std::string BioText(BIO* bio) {
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  return len > 0 ? std::string(data, static_cast<size_t>(len)) : "";
}

std::string NameText(const X509_NAME* name) {
  if (name == nullptr) return "";
  BioPtr bio(BIO_new(BIO_s_mem()), BIO_free);
  if (bio == nullptr) return "(out of memory)";
  // RFC 2253 with ESC_CTRL and ESC_MSB: printable ASCII only.
  if (X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0) {
    ERR_clear_error();
    return "(unprintable name)";
  }
  return BioText(bio.get());
}

}  // namespace

absl::StatusOr<std::vector<X509Ptr>> ParsePemCertificates(
    absl::string_view pem) {
  ERR_clear_error();
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())),
             BIO_free);
  if (bio == nullptr) return absl::ResourceExhaustedError("out of memory");
  std::vector<X509Ptr> certs;
  for (;;) {
    X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (cert == nullptr) break;
    certs.push_back(std::move(cert));
  }
  const unsigned long err = ERR_peek_last_error();
  // Running off the end of the data is how the loop ends; anything else is
  // a broken certificate.
  const bool clean_end = ERR_GET_LIB(err) == ERR_LIB_PEM &&
                         ERR_GET_REASON(err) == PEM_R_NO_START_LINE;
  if (certs.empty() || (err != 0 && !clean_end)) {
    std::string detail;
    if (err != 0) {
      char buf[256];
      ERR_error_string_n(err, buf, sizeof(buf));
      detail = absl::StrCat(" (", buf, ")");
    }
    ERR_clear_error();
    return absl::InvalidArgumentError(absl::StrCat(
        certs.empty() ? "holds no PEM certificate"
                      : "holds a certificate that cannot be parsed",
        detail));
  }
  ERR_clear_error();
  return certs;
}

std::string CertificateSubject(X509* cert) {
  return NameText(X509_get_subject_name(cert));
}

std::string CertificateIssuer(X509* cert) {
  return NameText(X509_get_issuer_name(cert));
}

std::string CertificateSerial(X509* cert) {
  std::unique_ptr<BIGNUM, decltype(&BN_free)> bn(
      ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr), BN_free);
  char* hex = bn != nullptr ? BN_bn2hex(bn.get()) : nullptr;
  if (hex == nullptr) {
    ERR_clear_error();
    return "(no serial)";
  }
  std::string text(hex);
  OPENSSL_free(hex);
  return text;
}

std::string CertificateSha256Fingerprint(X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (X509_digest(cert, EVP_sha256(), md, &len) != 1) {
    ERR_clear_error();
    return "(no fingerprint)";
  }
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string text;
  for (unsigned int i = 0; i < len; ++i) {
    if (i > 0) text.push_back(':');
    text.push_back(kHex[md[i] >> 4]);
    text.push_back(kHex[md[i] & 0xf]);
  }
  return text;
}

std::string DescribeCertificate(X509* cert) {
  return absl::StrCat("subject: ", CertificateSubject(cert),
                      "; issuer: ", CertificateIssuer(cert),
                      "; serial: ", CertificateSerial(cert));
}

std::string CaCapability(X509* cert) {
  // Also computes the cached extension flags the calls below read.
  const int check_ca = X509_check_ca(cert);
  const uint32_t flags = X509_get_extension_flags(cert);
  if ((flags & EXFLAG_CA) != 0) return "basicConstraints CA:TRUE";
  if ((flags & EXFLAG_KUSAGE) != 0 &&
      (X509_get_key_usage(cert) & KU_KEY_CERT_SIGN) != 0) {
    return "key usage keyCertSign";
  }
  if (check_ca != 0) return "OpenSSL accepts it as a CA";
  return "";
}

std::string MissingCaProperty(X509* cert) {
  X509_check_ca(cert);  // computes the cached extension flags
  const uint32_t flags = X509_get_extension_flags(cert);
  if ((flags & EXFLAG_CA) == 0) return "basicConstraints CA:TRUE";
  if ((flags & EXFLAG_KUSAGE) != 0 &&
      (X509_get_key_usage(cert) & KU_KEY_CERT_SIGN) == 0) {
    return "the key usage keyCertSign";
  }
  return "";
}

}  // namespace cmdctl

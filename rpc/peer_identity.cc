#include "rpc/peer_identity.h"

#include <grpc/grpc_security_constants.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "rpc/client_certificate_policy.h"
#include "tls/x509_util.h"

namespace cmdctl {
namespace {

std::string Asn1ToString(const ASN1_STRING* s) {
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<size_t>(ASN1_STRING_length(s)));
}

// C0 controls (NUL, newline, escape...), DEL, and the C1 controls
// U+0080..U+009F (UTF-8 C2 80..C2 9F). Spaces are ordinary characters.
bool HasControlCharacter(absl::string_view text) {
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == 0x7f) return true;
    if (c == 0xc2 && i + 1 < text.size()) {
      const auto next = static_cast<unsigned char>(text[i + 1]);
      if (next >= 0x80 && next <= 0x9f) return true;
    }
  }
  return false;
}

absl::StatusOr<std::string> CommonName(X509* cert) {
  X509_NAME* subject = X509_get_subject_name(cert);
  if (subject == nullptr) {
    return absl::UnauthenticatedError("client certificate has no subject");
  }
  const int index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (index < 0) {
    return absl::UnauthenticatedError(
        "client certificate has no Subject CN (the caller identity)");
  }
  if (X509_NAME_get_index_by_NID(subject, NID_commonName, index) >= 0) {
    return absl::UnauthenticatedError(
        "client certificate has more than one Subject CN");
  }
  const ASN1_STRING* data =
      X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index));
  unsigned char* utf8 = nullptr;
  const int len = ASN1_STRING_to_UTF8(&utf8, data);
  if (len < 0) {
    return absl::UnauthenticatedError("client certificate CN is not text");
  }
  std::string cn(reinterpret_cast<char*>(utf8), static_cast<size_t>(len));
  OPENSSL_free(utf8);
  if (cn.empty()) {
    return absl::UnauthenticatedError("client certificate CN is empty");
  }
  if (HasControlCharacter(cn)) {
    return absl::UnauthenticatedError(
        "client certificate CN holds a control character");
  }
  return cn;
}

std::vector<std::string> Principals(X509* cert) {
  std::vector<std::string> principals;
  auto* names = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr) return principals;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    if (name->type != GEN_URI) continue;
    const std::string uri = Asn1ToString(name->d.uniformResourceIdentifier);
    if (!absl::StartsWith(uri, kPrincipalUriPrefix)) continue;
    std::string login = uri.substr(kPrincipalUriPrefix.size());
    if (login.empty() || login.find('\0') != std::string::npos) continue;
    principals.push_back(std::move(login));
  }
  GENERAL_NAMES_free(names);
  return principals;
}

absl::StatusOr<Caller> CallerFromCertificate(X509* cert) {
  if (absl::Status not_ca = CheckNotCa(cert); !not_ca.ok()) return not_ca;
  absl::StatusOr<std::string> cn = CommonName(cert);
  if (!cn.ok()) return cn.status();
  Caller caller;
  caller.identity = *std::move(cn);
  caller.principals = Principals(cert);
  return caller;
}

}  // namespace

absl::StatusOr<Caller> CallerFromCertificatePem(absl::string_view pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  if (bio == nullptr) return absl::ResourceExhaustedError("out of memory");
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (cert == nullptr) {
    return absl::UnauthenticatedError("cannot parse the client certificate");
  }
  absl::StatusOr<Caller> caller = CallerFromCertificate(cert.get());
  if (!caller.ok()) {
    // Which certificate, so that an operator can find it (the audit line
    // of the refused call carries this message).
    return absl::Status(caller.status().code(),
                        absl::StrCat(caller.status().message(), "; ",
                                     DescribeCertificate(cert.get())));
  }
  return caller;
}

absl::StatusOr<Caller> CallerFromAuthContext(const grpc::AuthContext& auth) {
  const std::vector<grpc::string_ref> certs =
      auth.FindPropertyValues(GRPC_X509_PEM_CERT_PROPERTY_NAME);
  if (certs.empty()) {
    return absl::UnauthenticatedError("no verified client certificate");
  }
  absl::StatusOr<Caller> caller = CallerFromCertificatePem(
      absl::string_view(certs.front().data(), certs.front().size()));
  // Checked second, so that a refused certificate is described above.
  if (caller.ok() && !auth.IsPeerAuthenticated()) {
    return absl::UnauthenticatedError("client certificate not verified");
  }
  return caller;
}

absl::StatusOr<Caller> CallerFromTlsPeer(
    const grpc::CallbackServerContext& context) {
  std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  if (auth == nullptr) {
    return absl::UnauthenticatedError("no verified client certificate");
  }
  return CallerFromAuthContext(*auth);
}

}  // namespace cmdctl

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

namespace cmdctl {
namespace {

using X509Ptr = std::unique_ptr<X509, decltype(&X509_free)>;

std::string Asn1ToString(const ASN1_STRING* s) {
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<size_t>(ASN1_STRING_length(s)));
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
  if (cn.empty() || cn.find('\0') != std::string::npos) {
    return absl::UnauthenticatedError(
        "client certificate CN is empty or holds a NUL byte");
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

}  // namespace

absl::StatusOr<Caller> CallerFromCertificatePem(absl::string_view pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  if (bio == nullptr) return absl::ResourceExhaustedError("out of memory");
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr),
               X509_free);
  if (cert == nullptr) {
    return absl::UnauthenticatedError("cannot parse the client certificate");
  }
  absl::StatusOr<std::string> cn = CommonName(cert.get());
  if (!cn.ok()) return cn.status();
  Caller caller;
  caller.identity = *std::move(cn);
  caller.principals = Principals(cert.get());
  return caller;
}

absl::StatusOr<Caller> CallerFromAuthContext(const grpc::AuthContext& auth) {
  const std::vector<grpc::string_ref> certs =
      auth.FindPropertyValues(GRPC_X509_PEM_CERT_PROPERTY_NAME);
  if (!auth.IsPeerAuthenticated() || certs.empty()) {
    return absl::UnauthenticatedError("no verified client certificate");
  }
  return CallerFromCertificatePem(
      absl::string_view(certs.front().data(), certs.front().size()));
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

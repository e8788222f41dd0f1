#include "rpc/client_certificate_policy.h"

#include <glog/logging.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "rpc/status_mapping.h"

namespace cmdctl {
namespace {

absl::Status Refuse(X509* cert, absl::string_view why) {
  return absl::UnauthenticatedError(
      absl::StrCat(why, "; ", DescribeCertificate(cert)));
}

class Verifier final : public grpc::experimental::ExternalCertificateVerifier {
 public:
  explicit Verifier(std::shared_ptr<const ClientCertificatePolicy> policy)
      : policy_(std::move(policy)) {}

  bool Verify(grpc::experimental::TlsCustomVerificationCheckRequest* request,
              std::function<void(grpc::Status)> /*callback*/,
              grpc::Status* sync_status) override {
    const grpc::string_ref pem = request->peer_cert();
    absl::Status verdict =
        policy_->Check(absl::string_view(pem.data(), pem.size()));
    if (!verdict.ok()) {
      LOG(WARNING) << "TLS handshake refused: " << verdict.message();
    }
    *sync_status = ToGrpcStatus(verdict);
    return true;  // decided synchronously
  }

  // Nothing is ever pending.
  void Cancel(grpc::experimental::TlsCustomVerificationCheckRequest*) override {
  }

 private:
  const std::shared_ptr<const ClientCertificatePolicy> policy_;
};

}  // namespace

absl::Status CheckNotCa(X509* cert) {
  const std::string ca = CaCapability(cert);
  if (ca.empty()) return absl::OkStatus();
  return absl::UnauthenticatedError(
      absl::StrCat("client certificate is a CA certificate (", ca,
                   "); a CA never identifies a caller"));
}

absl::StatusOr<std::shared_ptr<const ClientCertificatePolicy>>
ClientCertificatePolicy::FromCaPem(absl::string_view ca_pem) {
  absl::StatusOr<std::vector<X509Ptr>> cas = ParsePemCertificates(ca_pem);
  if (!cas.ok()) {
    return absl::Status(cas.status().code(),
                        absl::StrCat("CA: ", cas.status().message()));
  }
  return std::shared_ptr<const ClientCertificatePolicy>(
      new ClientCertificatePolicy(*std::move(cas)));
}

bool ClientCertificatePolicy::IssuedByTrustedCa(X509* leaf) const {
  for (const X509Ptr& ca : cas_) {
    // Names (and key identifiers) match, and the CA's key signed it.
    if (X509_check_issued(ca.get(), leaf) == X509_V_OK &&
        X509_verify(leaf, X509_get0_pubkey(ca.get())) == 1) {
      return true;
    }
  }
  ERR_clear_error();
  return false;
}

absl::Status ClientCertificatePolicy::Check(absl::string_view leaf_pem) const {
  absl::StatusOr<std::vector<X509Ptr>> certs = ParsePemCertificates(leaf_pem);
  if (!certs.ok()) {
    return absl::UnauthenticatedError(absl::StrCat(
        "cannot parse the client certificate: ", certs.status().message()));
  }
  X509* leaf = certs->front().get();
  if (absl::Status not_ca = CheckNotCa(leaf); !not_ca.ok()) {
    return Refuse(leaf, not_ca.message());
  }
  if (!IssuedByTrustedCa(leaf)) {
    return Refuse(leaf,
                  "client certificate is not issued directly by a CA of --ca "
                  "(intermediate CAs are not trusted to issue client "
                  "certificates)");
  }
  return absl::OkStatus();
}

std::shared_ptr<grpc::experimental::CertificateVerifier>
NewClientCertificateVerifier(
    std::shared_ptr<const ClientCertificatePolicy> policy) {
  return grpc::experimental::ExternalCertificateVerifier::Create<Verifier>(
      std::move(policy));
}

}  // namespace cmdctl

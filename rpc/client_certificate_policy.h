// What cmdctld requires of a client certificate beyond the chain OpenSSL
// verifies (SPEC §4), checked at the TLS handshake:
//
// - it is not a CA certificate (basicConstraints CA:TRUE, keyCertSign, ...):
//   a CA never identifies a caller, and one without a path length limit
//   could mint certificates for any identity;
// - it is issued directly by a CA of --ca: no intermediate CA, wherever it
//   comes from, is trusted to issue client certificates. This is what stops
//   a "minted chain": the holder of a CA:TRUE certificate signed by our CA
//   (issued by mistake, without pathlen:0) signs `CN=alice
//   principal:root` and presents it with its own certificate as the chain.
//   OpenSSL accepts that chain; this check does not.
//
// A refused certificate fails the handshake (the client sees UNAVAILABLE)
// and leaves a WARNING log line naming it (subject, issuer, serial).
#ifndef CMDCTL_RPC_CLIENT_CERTIFICATE_POLICY_H_
#define CMDCTL_RPC_CLIENT_CERTIFICATE_POLICY_H_

#include <grpcpp/security/tls_certificate_verifier.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "tls/x509_util.h"

namespace cmdctl {

// UNAUTHENTICATED "client certificate is a CA certificate (<why>)..." when
// `cert` could issue certificates (CaCapability); OK otherwise. Also used
// after the handshake, by the caller identity (peer_identity.h).
absl::Status CheckNotCa(X509* cert);

class ClientCertificatePolicy {
 public:
  // `ca_pem`: the --ca file's certificates (already checked by
  // LoadTlsFiles). INVALID_ARGUMENT when it holds none or one is broken.
  static absl::StatusOr<std::shared_ptr<const ClientCertificatePolicy>>
  FromCaPem(absl::string_view ca_pem);

  // OK, or UNAUTHENTICATED saying why, followed by "; " and
  // DescribeCertificate of the certificate. `leaf_pem`: the peer's
  // certificate, already verified by OpenSSL against the same CAs.
  absl::Status Check(absl::string_view leaf_pem) const;

 private:
  explicit ClientCertificatePolicy(std::vector<X509Ptr> cas)
      : cas_(std::move(cas)) {}

  // Whether one of cas_ signed `leaf` itself.
  bool IssuedByTrustedCa(X509* leaf) const;

  std::vector<X509Ptr> cas_;  // read-only after construction
};

// A gRPC certificate verifier (run by gRPC after OpenSSL has verified the
// chain, on a gRPC thread; synchronous) that applies `policy`.
std::shared_ptr<grpc::experimental::CertificateVerifier>
NewClientCertificateVerifier(
    std::shared_ptr<const ClientCertificatePolicy> policy);

}  // namespace cmdctl

#endif  // CMDCTL_RPC_CLIENT_CERTIFICATE_POLICY_H_

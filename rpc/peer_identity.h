// Who is calling: the client certificate's Subject CN and its
// `principal:<login>` SAN URIs (SPEC §4), read by parsing the certificate
// with OpenSSL.
#ifndef CMDCTL_RPC_PEER_IDENTITY_H_
#define CMDCTL_RPC_PEER_IDENTITY_H_

#include <grpcpp/security/auth_context.h>
#include <grpcpp/server_context.h>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "domain/authorization.h"

namespace cmdctl {

// The SAN URI prefix that names a unix login the holder may run as.
inline constexpr absl::string_view kPrincipalUriPrefix = "principal:";

// Parses one PEM certificate. UNAUTHENTICATED when it cannot be parsed, is
// a CA certificate (basicConstraints CA:TRUE or the keyCertSign key usage:
// a CA never identifies a caller), or has no, an empty or more than one
// Subject CN, or a CN with a control character (C0, DEL, C1; a space is not
// one, so "alice " and "alice" are two identities). The message of a
// refusal ends with "; subject: ...; issuer: ...; serial: ..."
// (DescribeCertificate in tls/x509_util.h: escaped, printable ASCII), so
// that the audit line of the refused call names the certificate. SAN URIs
// that do not start with "principal:" are ignored; an empty login is
// ignored.
absl::StatusOr<Caller> CallerFromCertificatePem(absl::string_view pem);

// The caller of a call authenticated by mutual TLS: the verified peer
// certificate (GRPC_X509_PEM_CERT_PROPERTY_NAME). UNAUTHENTICATED without
// one.
absl::StatusOr<Caller> CallerFromAuthContext(const grpc::AuthContext& auth);

// The caller of a call on the callback API: CallerFromAuthContext of its
// auth context (the production CallerResolver of the service).
absl::StatusOr<Caller> CallerFromTlsPeer(
    const grpc::CallbackServerContext& context);

}  // namespace cmdctl

#endif  // CMDCTL_RPC_PEER_IDENTITY_H_

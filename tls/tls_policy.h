// The process-wide TLS policy of cmdctl (SPEC §4): TLS 1.3 only, the server
// prefers TLS_AES_256_GCM_SHA384.
//
// Debian's gRPC 1.51 has no public setter for the TLS version and sets the
// minimum protocol version of every SSL_CTX it makes itself (TLS 1.2), so a
// MinProtocol setting would be overridden. What survives is an OpenSSL
// configuration applied to every new SSL_CTX ("system_default"): the
// `Protocol` line turns into SSL_OP_NO_TLSv1_2 (and older) options, which
// gRPC does not touch. EnforceTls13Policy loads that configuration from
// memory and then checks on a fresh SSL_CTX that it is in effect, because
// OpenSSL skips a configuration line it does not understand silently.
//
// Call it once, early in main(), before anything creates gRPC credentials or
// an SSL_CTX. Both cmdctld and cmdctl call it.
#ifndef CMDCTL_TLS_TLS_POLICY_H_
#define CMDCTL_TLS_TLS_POLICY_H_

#include "absl/status/status.h"

namespace cmdctl {

// The TLS 1.3 cipher suites we accept, in the server's order of preference.
inline constexpr char kTls13Ciphersuites[] =
    "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:"
    "TLS_AES_128_GCM_SHA256";

// Installs the policy and verifies it. FAILED_PRECONDITION (with what is
// wrong) when OpenSSL did not take it; the caller must then refuse to run.
// Idempotent.
absl::Status EnforceTls13Policy();

// Checks, on a new SSL_CTX, that the policy is in effect: TLS 1.2 and older
// disabled, server cipher preference on, TLS_AES_256_GCM_SHA384 first.
absl::Status VerifyTls13Policy();

}  // namespace cmdctl

#endif  // CMDCTL_TLS_TLS_POLICY_H_

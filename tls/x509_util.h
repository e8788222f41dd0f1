// Small OpenSSL helpers for X.509 certificates, shared by the PEM file checks
// (tls_files.cc), the server's client-certificate policy and the caller
// identity (rpc/): parsing PEM, and the facts an operator needs in a log
// line (subject, issuer, serial, fingerprint) or a policy needs (can this
// certificate issue certificates?).
//
// Every string returned here is printable ASCII: names are printed in
// RFC 2253 form with control characters and non-ASCII bytes escaped as \XX
// (and `,+"\<>;` escaped as RFC 2253 says), so a crafted name cannot forge a
// log line or a field of DescribeCertificate.
#ifndef CMDCTL_TLS_X509_UTIL_H_
#define CMDCTL_TLS_X509_UTIL_H_

#include <openssl/x509.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace cmdctl {

struct X509Deleter {
  void operator()(X509* cert) const { X509_free(cert); }
};
using X509Ptr = std::unique_ptr<X509, X509Deleter>;

// Every certificate of a PEM text, in order. INVALID_ARGUMENT when there is
// none ("holds no PEM certificate") or one does not parse ("holds a
// certificate that cannot be parsed (<OpenSSL's reason>)").
absl::StatusOr<std::vector<X509Ptr>> ParsePemCertificates(
    absl::string_view pem);

// The subject / issuer name in RFC 2253 form ("CN=alice,O=example"),
// escaped as above.
std::string CertificateSubject(X509* cert);
std::string CertificateIssuer(X509* cert);
// The serial number in upper-case hex, two digits a byte, as
// `openssl x509 -noout -serial` prints it (whatever its length, on one line).
std::string CertificateSerial(X509* cert);
// The SHA-256 fingerprint of the DER certificate, upper-case hex bytes
// separated by colons, as `openssl x509 -noout -fingerprint -sha256` prints it.
std::string CertificateSha256Fingerprint(X509* cert);
// "subject: <subject>; issuer: <issuer>; serial: <serial>" (no field can
// hold a raw ';', RFC 2253 escapes it).
std::string DescribeCertificate(X509* cert);

// Why `cert` is able to issue certificates, or "" when it is not: a
// certificate with basicConstraints CA:TRUE, or the keyCertSign key usage,
// or that OpenSSL would otherwise accept as a CA (a self-signed version 1
// certificate, a Netscape CA cert type). Such a certificate is never a
// client's.
std::string CaCapability(X509* cert);

// What a trust anchor in a --ca file must be: basicConstraints CA:TRUE and,
// when a key usage is present, keyCertSign in it. "" when it is one, else
// what is missing.
std::string MissingCaProperty(X509* cert);

}  // namespace cmdctl

#endif  // CMDCTL_TLS_X509_UTIL_H_

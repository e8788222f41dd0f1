// Loading and checking the PEM files of a mutual TLS endpoint before they are
// handed to gRPC (which would only log a vague error at the first handshake).
// Used by cmdctld and by the cmdctl client.
#ifndef CMDCTL_TLS_TLS_FILES_H_
#define CMDCTL_TLS_TLS_FILES_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace cmdctl {

// A CA certificate of the --ca file, for the start-up log.
struct TrustedCa {
  std::string subject;             // RFC 2253, escaped (x509_util.h)
  std::string sha256_fingerprint;  // "AB:CD:..."
};

struct TlsFiles {
  std::string ca_pem;                  // one or more CA certificates
  std::string cert_pem;                // this endpoint's certificate (chain)
  std::string key_pem;                 // its private key
  std::vector<TrustedCa> trusted_cas;  // what ca_pem holds, in file order
};

// The most a PEM file may hold.
inline constexpr size_t kMaxPemBytes = 1 << 20;

// Reads one PEM file whole (at most kMaxPemBytes). Errors start with
// "<what> file <path>: " and say what is wrong: NOT_FOUND, PERMISSION_DENIED
// (from errno), INVALID_ARGUMENT (empty, too large).
absl::StatusOr<std::string> ReadPemFile(const std::string& what,
                                        const std::string& path);

// Reads and checks the three files. Every error names the file and the
// problem: cannot be read (NOT_FOUND / PERMISSION_DENIED / ...), empty, not
// PEM of the right kind, the key does not match the certificate, the
// certificate is expired or not yet valid (FAILED_PRECONDITION or
// INVALID_ARGUMENT). Every certificate of the CA file must be a CA
// (basicConstraints CA:TRUE, and keyCertSign if it has a key usage) and
// currently valid: INVALID_ARGUMENT naming the certificate otherwise.
absl::StatusOr<TlsFiles> LoadTlsFiles(const std::string& ca_path,
                                      const std::string& cert_path,
                                      const std::string& key_path);

// How the messages of CheckTlsFiles name each file: its path, and where the
// caller likes where that path came from (cmdctl: "~/x.pem ($CMDCTL_CERT)").
struct TlsFileNames {
  std::string ca;
  std::string cert;
  std::string key;
};

// The checks LoadTlsFiles makes once the files are read: every certificate
// parses, the CA and the leaf are valid now (an expired one is named with
// its end date, one not valid yet with its start date), the key parses and
// matches the leaf certificate. INVALID_ARGUMENT or FAILED_PRECONDITION
// naming the file.
absl::Status CheckTlsFiles(const TlsFiles& files, const TlsFileNames& names);

}  // namespace cmdctl

#endif  // CMDCTL_TLS_TLS_FILES_H_

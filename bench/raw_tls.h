// The physical limit of an encrypted stream: plain OpenSSL, TLS 1.3 only,
// TLS_AES_256_GCM_SHA384 only, mutual authentication against the same CA as
// cmdctld. The server (cmdctl_bench_tls_server) writes the number of bytes
// the client asks for; the client reads them and times it.
//
// Protocol: the client sends the byte count as 8 bytes, big-endian; the
// server writes that many zero bytes and closes.
#ifndef CMDCTL_BENCH_RAW_TLS_H_
#define CMDCTL_BENCH_RAW_TLS_H_

#include <openssl/ssl.h>

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace cmdctl::bench {

struct TlsFiles {
  std::string ca;
  std::string cert;
  std::string key;
};

// An SSL_CTX restricted to TLS 1.3 and TLS_AES_256_GCM_SHA384 that requires
// and verifies the peer's certificate against files.ca.
absl::StatusOr<SSL_CTX*> MakeTlsContext(const TlsFiles& files, bool server);

// The last OpenSSL errors, as one line.
std::string OpenSslErrors();

struct RawTlsResult {
  uint64_t bytes = 0;
  double first_to_last_seconds = 0;  // First byte received to the last one.
  std::string cipher;                // Negotiated, e.g. TLS_AES_256_GCM_SHA384.
  std::string version;               // Negotiated, e.g. TLSv1.3.
};

// Connects to 127.0.0.1:port, asks for `bytes` and reads them.
absl::StatusOr<RawTlsResult> ReadRawTlsStream(SSL_CTX* ctx, int port,
                                              uint64_t bytes);

}  // namespace cmdctl::bench

#endif  // CMDCTL_BENCH_RAW_TLS_H_

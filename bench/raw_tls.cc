#include "bench/raw_tls.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"

namespace cmdctl::bench {

std::string OpenSslErrors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "no OpenSSL error queued" : out;
}

absl::StatusOr<SSL_CTX*> MakeTlsContext(const TlsFiles& files, bool server) {
  SSL_CTX* ctx =
      SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
  if (ctx == nullptr) return absl::InternalError(OpenSslErrors());
  auto fail = [ctx](absl::string_view what) {
    std::string msg = absl::StrCat(what, ": ", OpenSslErrors());
    SSL_CTX_free(ctx);
    return absl::InvalidArgumentError(msg);
  };
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1 ||
      SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1 ||
      SSL_CTX_set_ciphersuites(ctx, "TLS_AES_256_GCM_SHA384") != 1) {
    return fail("TLS 1.3 policy");
  }
  if (SSL_CTX_use_certificate_chain_file(ctx, files.cert.c_str()) != 1) {
    return fail(absl::StrCat("certificate ", files.cert));
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, files.key.c_str(), SSL_FILETYPE_PEM) !=
      1) {
    return fail(absl::StrCat("key ", files.key));
  }
  if (SSL_CTX_load_verify_locations(ctx, files.ca.c_str(), nullptr) != 1) {
    return fail(absl::StrCat("CA ", files.ca));
  }
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                     nullptr);
  // Read whole socket buffers, not one record per read(2): the limit should
  // be the cipher and the copies, not syscalls.
  SSL_CTX_set_read_ahead(ctx, 1);
  SSL_CTX_set_default_read_buffer_len(ctx, 1 << 17);
  return ctx;
}

absl::StatusOr<RawTlsResult> ReadRawTlsStream(SSL_CTX* ctx, int port,
                                              uint64_t bytes) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError("socket failed");
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(ctx), &SSL_free);
  struct Closer {
    int fd;
    ~Closer() { close(fd); }
  } closer{fd};
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    return absl::UnavailableError(
        absl::StrCat("connect to 127.0.0.1:", port, " failed"));
  }
  SSL_set_fd(ssl.get(), fd);
  SSL_set_tlsext_host_name(ssl.get(), "localhost");
  if (SSL_connect(ssl.get()) != 1) {
    return absl::UnavailableError(
        absl::StrCat("TLS handshake: ", OpenSslErrors()));
  }
  unsigned char request[8];
  for (int i = 0; i < 8; ++i) {
    request[i] = static_cast<unsigned char>(bytes >> (56 - 8 * i));
  }
  if (SSL_write(ssl.get(), request, sizeof request) != sizeof request) {
    return absl::UnavailableError(absl::StrCat("write: ", OpenSslErrors()));
  }
  RawTlsResult result;
  result.cipher = SSL_get_cipher_name(ssl.get());
  result.version = SSL_get_version(ssl.get());
  std::vector<char> buf(1 << 18);
  std::chrono::steady_clock::time_point first;
  while (result.bytes < bytes) {
    int n = SSL_read(ssl.get(), buf.data(), static_cast<int>(buf.size()));
    if (n <= 0) break;
    if (result.bytes == 0) first = std::chrono::steady_clock::now();
    result.bytes += static_cast<uint64_t>(n);
  }
  auto last = std::chrono::steady_clock::now();
  if (result.bytes != bytes) {
    return absl::DataLossError(absl::StrCat(
        "raw TLS stream ended after ", result.bytes, " of ", bytes, " bytes"));
  }
  result.first_to_last_seconds =
      std::chrono::duration<double>(last - first).count();
  SSL_shutdown(ssl.get());
  return result;
}

}  // namespace cmdctl::bench

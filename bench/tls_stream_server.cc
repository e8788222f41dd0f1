// cmdctl_bench_tls_server: the raw TLS 1.3 AES-256-GCM peer of the streaming
// benchmark (see raw_tls.h). Listens on 127.0.0.1, an ephemeral port written
// to --port_file, serves one connection at a time until killed.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <memory>
#include <vector>

#include "bench/raw_tls.h"
#include "gflags/gflags.h"

DEFINE_string(ca, "",
              "CA certificate (PEM) that client certificates must chain to");
DEFINE_string(cert, "", "server certificate (PEM)");
DEFINE_string(key, "", "server private key (PEM)");
DEFINE_string(port_file, "", "where to write the port once listening");

namespace cmdctl::bench {
namespace {

bool ReadExactly(SSL* ssl, unsigned char* buf, int size) {
  int got = 0;
  while (got < size) {
    int n = SSL_read(ssl, buf + got, size - got);
    if (n <= 0) return false;
    got += n;
  }
  return true;
}

void Serve(SSL_CTX* ctx, int fd) {
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(ctx), &SSL_free);
  SSL_set_fd(ssl.get(), fd);
  if (SSL_accept(ssl.get()) != 1) {
    fprintf(stderr, "tls_server: handshake failed: %s\n",
            OpenSslErrors().c_str());
    return;
  }
  unsigned char request[8];
  if (!ReadExactly(ssl.get(), request, sizeof request)) return;
  uint64_t bytes = 0;
  for (unsigned char c : request) bytes = (bytes << 8) | c;
  static std::vector<char> zeros(1 << 20);
  while (bytes > 0) {
    int n = static_cast<int>(bytes < zeros.size() ? bytes : zeros.size());
    int w = SSL_write(ssl.get(), zeros.data(), n);
    if (w <= 0) return;
    bytes -= static_cast<uint64_t>(w);
  }
  SSL_shutdown(ssl.get());
}

int Main() {
  signal(SIGPIPE, SIG_IGN);
  auto ctx = MakeTlsContext({FLAGS_ca, FLAGS_cert, FLAGS_key}, /*server=*/true);
  if (!ctx.ok()) {
    fprintf(stderr, "tls_server: %s\n", ctx.status().ToString().c_str());
    return 1;
  }
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      listen(lfd, 16) != 0 ||
      getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    perror("tls_server: listen on 127.0.0.1");
    return 1;
  }
  {
    std::ofstream out(FLAGS_port_file + ".tmp");
    out << ntohs(addr.sin_port) << "\n";
  }
  if (rename((FLAGS_port_file + ".tmp").c_str(), FLAGS_port_file.c_str()) !=
      0) {
    perror("tls_server: port file");
    return 1;
  }
  for (;;) {
    int fd = accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      perror("tls_server: accept");
      return 1;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    Serve(*ctx, fd);
    close(fd);
  }
}

}  // namespace
}  // namespace cmdctl::bench

int main(int argc, char** argv) {
  gflags::SetUsageMessage(
      "raw TLS 1.3 AES-256-GCM stream server for benchmarks");
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  return cmdctl::bench::Main();
}

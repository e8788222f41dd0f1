#include "rpc/listen_sockets.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/errno_status.h"

namespace cmdctl {
namespace {

struct HostPort {
  std::string host;  // without brackets
  int port = 0;
};

absl::StatusOr<HostPort> Split(const std::string& address) {
  HostPort out;
  std::string port;
  if (!address.empty() && address[0] == '[') {
    const size_t close = address.find(']');
    if (close == std::string::npos || close + 1 >= address.size() ||
        address[close + 1] != ':') {
      return absl::InvalidArgumentError(
          absl::StrCat("not [ipv6]:port: ", address));
    }
    out.host = address.substr(1, close - 1);
    port = address.substr(close + 2);
  } else {
    const size_t colon = address.rfind(':');
    if (colon == std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("not host:port: ", address));
    }
    out.host = address.substr(0, colon);
    port = address.substr(colon + 1);
    if (out.host.find(':') != std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat(
          "an IPv6 address needs brackets ([::1]:9090): ", address));
    }
  }
  if (!absl::SimpleAtoi(port, &out.port) || out.port < 0 || out.port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a port (0-65535): ", address));
  }
  return out;
}

std::string Format(const sockaddr_storage& addr) {
  char text[INET6_ADDRSTRLEN] = "?";
  if (addr.ss_family == AF_INET6) {
    const auto& a = reinterpret_cast<const sockaddr_in6&>(addr);
    inet_ntop(AF_INET6, &a.sin6_addr, text, sizeof(text));
    return absl::StrCat("[", text, "]:", ntohs(a.sin6_port));
  }
  const auto& a = reinterpret_cast<const sockaddr_in&>(addr);
  inet_ntop(AF_INET, &a.sin_addr, text, sizeof(text));
  return absl::StrCat(text, ":", ntohs(a.sin_port));
}

void SetPort(sockaddr_storage* addr, int port) {
  if (addr->ss_family == AF_INET6) {
    reinterpret_cast<sockaddr_in6*>(addr)->sin6_port = htons(port);
  } else {
    reinterpret_cast<sockaddr_in*>(addr)->sin_port = htons(port);
  }
}

// The addresses to bind, in order (each once).
absl::StatusOr<std::vector<sockaddr_storage>> Resolve(const HostPort& hp) {
  std::vector<sockaddr_storage> out;
  const bool wildcard = hp.host.empty() || hp.host == "0.0.0.0" ||
                        hp.host == "::" || hp.host == "*";
  if (wildcard) {
    sockaddr_storage v6 = {}, v4 = {};
    auto* a6 = reinterpret_cast<sockaddr_in6*>(&v6);
    a6->sin6_family = AF_INET6;
    a6->sin6_addr = in6addr_any;
    auto* a4 = reinterpret_cast<sockaddr_in*>(&v4);
    a4->sin_family = AF_INET;
    a4->sin_addr.s_addr = htonl(INADDR_ANY);
    out = {v6, v4};
  } else {
    struct addrinfo hints = {};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    struct addrinfo* found = nullptr;
    const int rc = getaddrinfo(hp.host.c_str(), nullptr, &hints, &found);
    if (rc != 0) {
      return absl::UnavailableError(
          absl::StrCat("cannot resolve ", hp.host, ": ", gai_strerror(rc)));
    }
    for (struct addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
      if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6) continue;
      sockaddr_storage addr = {};
      memcpy(&addr, ai->ai_addr,
             std::min<size_t>(ai->ai_addrlen, sizeof(addr)));
      const bool seen = std::any_of(out.begin(), out.end(),
                                    [&](const sockaddr_storage& other) {
                                      return Format(other) == Format(addr);
                                    });
      if (!seen) out.push_back(addr);
    }
    freeaddrinfo(found);
  }
  for (sockaddr_storage& addr : out) SetPort(&addr, hp.port);
  return out;
}

// One listening socket on `addr`; on success the port bound.
absl::StatusOr<int> Listen(const sockaddr_storage& addr, int backlog,
                           UniqueFd* out) {
  UniqueFd fd(
      socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return ErrnoStatus(errno, "socket", ErrnoCause::kMachinery);
  const int one = 1;
  setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  // Accepted sockets inherit it: no Nagle delay on small replies.
  setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  // Each family on its own socket (the wildcard binds both).
  if (addr.ss_family == AF_INET6) {
    setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
  }
  const socklen_t len =
      addr.ss_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
  if (bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), len) != 0 ||
      listen(fd.get(), backlog) != 0) {
    return ErrnoStatus(errno, Format(addr), ErrnoCause::kMachinery);
  }
  sockaddr_storage bound = {};
  socklen_t bound_len = sizeof(bound);
  if (getsockname(fd.get(), reinterpret_cast<sockaddr*>(&bound), &bound_len) !=
      0) {
    return ErrnoStatus(errno, "getsockname", ErrnoCause::kMachinery);
  }
  *out = std::move(fd);
  return ntohs(bound.ss_family == AF_INET6
                   ? reinterpret_cast<sockaddr_in6&>(bound).sin6_port
                   : reinterpret_cast<sockaddr_in&>(bound).sin_port);
}

}  // namespace

absl::StatusOr<ListenSockets> OpenListenSockets(const std::string& address,
                                                int backlog) {
  absl::StatusOr<HostPort> hp = Split(address);
  if (!hp.ok()) return hp.status();
  absl::StatusOr<std::vector<sockaddr_storage>> addrs = Resolve(*hp);
  if (!addrs.ok()) return addrs.status();
  ListenSockets out;
  out.port = hp->port;
  std::vector<std::string> errors;
  for (sockaddr_storage& addr : *addrs) {
    // Port 0: the first socket picks it, the others take the same.
    if (out.port != 0) SetPort(&addr, out.port);
    UniqueFd fd;
    absl::StatusOr<int> port = Listen(addr, backlog, &fd);
    if (!port.ok()) {
      errors.push_back(std::string(port.status().message()));
      continue;
    }
    out.port = *port;
    SetPort(&addr, out.port);
    out.addresses.push_back(Format(addr));
    out.fds.push_back(std::move(fd));
  }
  if (!out.fds.empty()) {
    out.skipped = std::move(errors);
  } else {
    return absl::UnavailableError(absl::StrCat(
        "cannot listen on ", address, " (",
        errors.empty() ? "no address" : absl::StrJoin(errors, "; "), ")"));
  }
  return out;
}

}  // namespace cmdctl

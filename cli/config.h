// Where cmdctl connects and with which certificate (SPEC §7): a flag wins,
// then the CMDCTL_* environment variable, then the default.
#ifndef CMDCTL_CLI_CONFIG_H_
#define CMDCTL_CLI_CONFIG_H_

#include <functional>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "grpcpp/security/credentials.h"

namespace cmdctl::cli {

inline constexpr char kDefaultServer[] = "localhost:9090";
// The port of a --server given without one.
inline constexpr char kDefaultPort[] = "9090";

// A server address as gRPC wants it, from what a user writes: HOST:PORT,
// HOST alone (port 9090), [IPv6]:PORT, [IPv6] or a bare IPv6 address.
// INVALID_ARGUMENT naming the text for anything else: a URL, an empty host
// (":9090"), a bad port, characters no host name has.
absl::StatusOr<std::string> NormalizeServerAddress(absl::string_view text);

// One resolved setting and where it came from, for error messages:
// "--cert", "$CMDCTL_CERT" or "default".
struct Setting {
  std::string value;
  std::string source;
};

struct ConnectionConfig {
  Setting server;
  Setting cert;
  Setting key;
  Setting ca;
};

// The global flags the user gave explicitly (nullopt: not given).
struct GlobalFlagValues {
  std::optional<std::string> server;
  std::optional<std::string> cert;
  std::optional<std::string> key;
  std::optional<std::string> ca;
};

// Reads an environment variable; nullopt when unset.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;

// Flag, else $CMDCTL_SERVER/CERT/KEY/CA (an empty variable counts as unset),
// else localhost:9090 and $HOME/.config/cmdctl/{client.pem,client.key,ca.pem}.
// The server address is normalized (NormalizeServerAddress). INVALID_ARGUMENT
// for an empty flag value, a malformed address (naming where it came from),
// or when a default path is needed and HOME is unknown.
absl::StatusOr<ConnectionConfig> ResolveConnectionConfig(
    const GlobalFlagValues& flags, const EnvLookup& env);

// Reads the three PEM files and checks them as the TLS handshake would
// (tls/tls_files.h: each parses, the certificate and CA are valid now, the
// key matches the certificate), so the problem is named before connecting.
// INVALID_ARGUMENT naming the file, where its name came from, the problem
// (an expired certificate with its end date), and how to get good ones.
absl::StatusOr<grpc::SslCredentialsOptions> LoadCredentials(
    const ConnectionConfig& config);

}  // namespace cmdctl::cli

#endif  // CMDCTL_CLI_CONFIG_H_

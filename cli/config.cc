#include "cli/config.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "tls/tls_files.h"

namespace cmdctl::cli {
namespace {

absl::StatusOr<Setting> Resolve(
    const std::optional<std::string>& flag, const std::string& flag_name,
    const std::string& env_name, const EnvLookup& env,
    const std::function<absl::StatusOr<std::string>()>& fallback) {
  if (flag.has_value()) {
    if (flag->empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", flag_name, " must not be empty"));
    }
    return Setting{*flag, absl::StrCat("--", flag_name)};
  }
  std::optional<std::string> from_env = env(env_name);
  if (from_env.has_value() && !from_env->empty()) {
    return Setting{*from_env, absl::StrCat("$", env_name)};
  }
  absl::StatusOr<std::string> value = fallback();
  if (!value.ok()) return value.status();
  return Setting{*value, "default"};
}

// Where the user can turn when a certificate file is the problem.
constexpr char kCertificateHint[] =
    "; pass --cert/--key/--ca, set CMDCTL_CERT/CMDCTL_KEY/CMDCTL_CA, or "
    "create ~/.config/cmdctl with ci/dev-pki.sh (docs/DEPLOYMENT.md)";

// "/path ($CMDCTL_CERT)": the file and where its name came from.
std::string Named(const Setting& setting) {
  return absl::StrCat(setting.value, " (", setting.source, ")");
}

absl::StatusOr<std::string> ReadSetting(const Setting& setting,
                                        const std::string& what) {
  absl::StatusOr<std::string> data = ReadPemFile(what, setting.value);
  if (!data.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        data.status().message(), " (", setting.source, ")", kCertificateHint));
  }
  return data;
}

bool IsHostChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' ||
         c == '.' || c == '_';
}

// A port number 1..65535, written in decimal digits.
bool IsPort(absl::string_view text) {
  int port = 0;
  if (text.empty() || text.size() > 5) return false;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    port = port * 10 + (c - '0');
  }
  return port >= 1 && port <= 65535;
}

}  // namespace

absl::StatusOr<std::string> NormalizeServerAddress(absl::string_view text) {
  const auto bad = [text](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", text, "' is not a server address: ", why,
                     "; use HOST or HOST:PORT, e.g. db1.example.com:9090, "
                     "127.0.0.1, [::1]:9090"));
  };
  if (absl::StrContains(text, "://") || absl::StartsWith(text, "dns:") ||
      absl::StartsWith(text, "unix:")) {
    return bad("not a URL");
  }
  absl::string_view host = text;
  absl::string_view port;
  bool bracketed = false;
  if (absl::StartsWith(text, "[")) {  // [IPv6] or [IPv6]:PORT
    const size_t close = text.find(']');
    if (close == absl::string_view::npos) return bad("no ']'");
    host = text.substr(1, close - 1);
    absl::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest[0] != ':') return bad("text after ']'");
      port = rest.substr(1);
      if (port.empty()) return bad("no port after ':'");
    }
    bracketed = true;
  } else if (std::count(text.begin(), text.end(), ':') > 1) {
    bracketed = true;  // an IPv6 address alone: [::1] for a port
  } else if (const size_t colon = text.find(':');
             colon != absl::string_view::npos) {
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (port.empty()) return bad("no port after ':'");
  }
  if (host.empty()) return bad("no host");
  bool zone = false;  // after the '%' of an IPv6 zone (fe80::1%eth0)
  for (char c : host) {
    zone = zone || (bracketed && c == '%');
    const bool ok = bracketed && !zone
                        ? absl::ascii_isxdigit(static_cast<unsigned char>(c)) ||
                              c == ':' || c == '.'
                        : IsHostChar(c) || c == '%';
    if (!ok) return bad(absl::StrCat("'", std::string(1, c), "' in the host"));
  }
  if (!port.empty() && !IsPort(port)) return bad("the port must be 1-65535");
  return absl::StrCat(bracketed ? "[" : "", host, bracketed ? "]" : "", ":",
                      port.empty() ? kDefaultPort : port);
}

absl::StatusOr<ConnectionConfig> ResolveConnectionConfig(
    const GlobalFlagValues& flags, const EnvLookup& env) {
  auto home_file = [&env](const char* name) {
    return [&env, name]() -> absl::StatusOr<std::string> {
      std::optional<std::string> home = env("HOME");
      if (!home.has_value() || home->empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat("cannot find ~/.config/cmdctl/", name,
                         " (HOME is not set); pass --cert, --key and --ca"));
      }
      return absl::StrCat(*home, "/.config/cmdctl/", name);
    };
  };
  auto default_server = []() -> absl::StatusOr<std::string> {
    return std::string(kDefaultServer);
  };
  ConnectionConfig config;
  absl::StatusOr<Setting> s =
      Resolve(flags.server, "server", "CMDCTL_SERVER", env, default_server);
  if (!s.ok()) return s.status();
  config.server = *s;
  absl::StatusOr<std::string> address =
      NormalizeServerAddress(config.server.value);
  if (!address.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(config.server.source, ": ", address.status().message()));
  }
  config.server.value = *std::move(address);
  s = Resolve(flags.cert, "cert", "CMDCTL_CERT", env, home_file("client.pem"));
  if (!s.ok()) return s.status();
  config.cert = *s;
  s = Resolve(flags.key, "key", "CMDCTL_KEY", env, home_file("client.key"));
  if (!s.ok()) return s.status();
  config.key = *s;
  s = Resolve(flags.ca, "ca", "CMDCTL_CA", env, home_file("ca.pem"));
  if (!s.ok()) return s.status();
  config.ca = *s;
  return config;
}

absl::StatusOr<grpc::SslCredentialsOptions> LoadCredentials(
    const ConnectionConfig& config) {
  TlsFiles files;
  absl::StatusOr<std::string> data = ReadSetting(config.ca, "CA certificate");
  if (!data.ok()) return data.status();
  files.ca_pem = *std::move(data);
  data = ReadSetting(config.cert, "client certificate");
  if (!data.ok()) return data.status();
  files.cert_pem = *std::move(data);
  data = ReadSetting(config.key, "client key");
  if (!data.ok()) return data.status();
  files.key_pem = *std::move(data);
  // What the server would only say as a failed handshake, said before
  // connecting: an expired certificate (with its end date), a key that is
  // not the certificate's.
  absl::Status checked = CheckTlsFiles(
      files,
      TlsFileNames{Named(config.ca), Named(config.cert), Named(config.key)});
  if (!checked.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(checked.message(), kCertificateHint));
  }
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = std::move(files.ca_pem);
  options.pem_cert_chain = std::move(files.cert_pem);
  options.pem_private_key = std::move(files.key_pem);
  return options;
}

}  // namespace cmdctl::cli

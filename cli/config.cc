#include "cli/config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"

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

// Reads a whole small file. The error names errno's text.
absl::StatusOr<std::string> ReadFile(const std::string& path) {
  int fd;
  do {
    fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return absl::NotFoundError(strerror(errno));
  std::string data;
  char buf[8192];
  for (;;) {
    const ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int saved = errno;
      close(fd);
      return absl::UnknownError(strerror(saved));
    }
    if (n == 0) break;
    data.append(buf, static_cast<size_t>(n));
    if (data.size() > (1u << 20)) {
      close(fd);
      return absl::InvalidArgumentError("larger than 1 MiB, not a PEM file");
    }
  }
  close(fd);
  if (data.empty()) return absl::InvalidArgumentError("empty file");
  if (data.find("-----BEGIN ") == std::string::npos) {
    return absl::InvalidArgumentError("not a PEM file");
  }
  return data;
}

absl::StatusOr<std::string> ReadSetting(const Setting& setting,
                                        const std::string& what) {
  absl::StatusOr<std::string> data = ReadFile(setting.value);
  if (!data.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot read ", what, " ", setting.value, " (", setting.source,
        "): ", data.status().message(),
        "; pass --cert/--key/--ca, set CMDCTL_CERT/CMDCTL_KEY/CMDCTL_CA, or "
        "create ~/.config/cmdctl with ci/dev-pki.sh (docs/DEPLOYMENT.md)"));
  }
  return data;
}

}  // namespace

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
  grpc::SslCredentialsOptions options;
  absl::StatusOr<std::string> data = ReadSetting(config.ca, "CA certificate");
  if (!data.ok()) return data.status();
  options.pem_root_certs = *std::move(data);
  data = ReadSetting(config.cert, "client certificate");
  if (!data.ok()) return data.status();
  options.pem_cert_chain = *std::move(data);
  data = ReadSetting(config.key, "client key");
  if (!data.ok()) return data.status();
  options.pem_private_key = *std::move(data);
  return options;
}

}  // namespace cmdctl::cli

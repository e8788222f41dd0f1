#include "cli/flags.h"

#include "absl/strings/str_cat.h"

DEFINE_string(server, "",
              "cmdctld address HOST:PORT (default: $CMDCTL_SERVER, else "
              "localhost:9090)");
DEFINE_string(cert, "",
              "client certificate, PEM (default: $CMDCTL_CERT, else "
              "~/.config/cmdctl/client.pem)");
DEFINE_string(key, "",
              "client private key, PEM (default: $CMDCTL_KEY, else "
              "~/.config/cmdctl/client.key)");
DEFINE_string(ca, "",
              "CA certificate that signed the server's, PEM (default: "
              "$CMDCTL_CA, else ~/.config/cmdctl/ca.pem)");

DEFINE_string(as, "",
              "unix user to run as, one of your certificate's principals "
              "(default: its first)");
DEFINE_bool(wait, false,
            "stream the output instead of printing the id, and exit with the "
            "job's exit status (128+N for signal N), like ssh");
DEFINE_string(workdir, "",
              "working directory of the job (default: the run-as user's home)");
DEFINE_string(env, "",
              "KEY=VALUE added to the job's clean environment; repeat it for "
              "more variables");
DEFINE_bool(follow, true,
            "follow a running job until it ends; --follow=false prints what "
            "is stored now and returns");
DEFINE_string(output, "text",
              "text, or json: the canonical proto3 JSON mapping, as grpcurl "
              "prints it (default values included)");
// No default here: the server's --stop_grace is the one default grace.
DEFINE_string(grace, "",
              "time between SIGTERM and SIGKILL, e.g. 500ms, 5s, 1m30s "
              "(default: the server's --stop_grace, 5s unless its operator "
              "changed it)");

namespace cmdctl::cli {

const std::vector<std::string>& GlobalFlagNames() {
  static const auto* names =
      new std::vector<std::string>{"server", "cert", "key", "ca"};
  return *names;
}

gflags::CommandLineFlagInfo FlagInfo(const std::string& name) {
  gflags::CommandLineFlagInfo info;
  gflags::GetCommandLineFlagInfo(name.c_str(), &info);
  return info;
}

FlagTable FlagTableOf(const std::vector<std::string>& names) {
  FlagTable table;
  for (const std::string& name : names) {
    table[name] = FlagInfo(name).type == "bool";
  }
  return table;
}

std::optional<std::string> ExplicitFlag(const std::string& name) {
  gflags::CommandLineFlagInfo info = FlagInfo(name);
  if (info.is_default) return std::nullopt;
  return info.current_value;
}

absl::StatusOr<RepeatedFlags> ApplyFlags(const std::vector<FlagArg>& flags) {
  RepeatedFlags repeated;
  for (const FlagArg& flag : flags) {
    if (flag.name == "env") {
      const size_t eq = flag.value.find('=');
      if (eq == std::string::npos || eq == 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("--env wants KEY=VALUE, got '", flag.value, "'"));
      }
      repeated.env[flag.value.substr(0, eq)] = flag.value.substr(eq + 1);
    }
    if (gflags::SetCommandLineOption(flag.name.c_str(), flag.value.c_str())
            .empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid value '", flag.value, "' for --", flag.name));
    }
  }
  return repeated;
}

}  // namespace cmdctl::cli

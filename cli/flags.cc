#include "cli/flags.h"

#include <algorithm>

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
// run's limits and timeout (SPEC §5a). Strings, parsed by limits.h, which
// names the flag in its errors. Unset: the server's defaults.
DEFINE_string(memory, "",
              "memory limit of the job, e.g. 512M or 2G (powers of 1024); "
              "its processes are killed together when it runs out");
DEFINE_string(cpus, "",
              "CPU limit of the job in CPUs, e.g. 1.5 (at most 3 decimals)");
DEFINE_string(pids_limit, "",
              "most processes and threads the job may have at once");
DEFINE_string(io_read_bps, "",
              "read rate limit of the job per block device, bytes per second, "
              "e.g. 20M");
DEFINE_string(io_write_bps, "",
              "write rate limit of the job per block device, bytes per second, "
              "e.g. 20M");
DEFINE_string(timeout, "",
              "stop the job (as `cmdctl stop` does) once it has run this long, "
              "e.g. 30s, 1m30s, 2h (default: never)");
DEFINE_string(tail, "",
              "start with the last N lines of each stream (0: with nothing "
              "old, only what the job writes from now on)");
DEFINE_string(state, "",
              "only the jobs in this state: running, exited, signaled, "
              "stopped or lost");
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

std::string GflagsName(const std::string& name) {
  std::string out = name;
  std::replace(out.begin(), out.end(), '-', '_');
  return out;
}

gflags::CommandLineFlagInfo FlagInfo(const std::string& name) {
  gflags::CommandLineFlagInfo info;
  gflags::GetCommandLineFlagInfo(GflagsName(name).c_str(), &info);
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
    if (gflags::SetCommandLineOption(GflagsName(flag.name).c_str(),
                                     flag.value.c_str())
            .empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid value '", flag.value, "' for --", flag.name));
    }
  }
  return repeated;
}

}  // namespace cmdctl::cli

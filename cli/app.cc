#include "cli/app.h"

#include <pwd.h>
#include <stdlib.h>
#include <unistd.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "cli/args.h"
#include "cli/command_table.h"
#include "cli/config.h"
#include "cli/connection.h"
#include "cli/exit_codes.h"
#include "cli/flags.h"
#include "cli/help.h"
#include "cli/session.h"
#include "common/file_util.h"
#include "grpc/support/log.h"
#include "tls/tls_policy.h"

namespace cmdctl::cli {
namespace {

// `show_help_hint`: add where to read the usage (not when the message
// already says what to do).
int UsageError(const std::string& message, bool show_help_hint = true) {
  std::string text = absl::StrCat("cmdctl: ", message, "\n");
  if (show_help_hint && !absl::StrContains(message, "usage: ")) {
    absl::StrAppend(&text, "Run 'cmdctl --help' for usage.\n");
  }
  WriteAll(STDERR_FILENO, text);
  return kExitUsage;
}

std::optional<std::string> GetEnv(const std::string& name) {
  const char* value = getenv(name.c_str());
  if (value != nullptr) return std::string(value);
  if (name == "HOME") {
    // No HOME (e.g. under some service managers): ask the password database.
    struct passwd pw;
    struct passwd* result = nullptr;
    char buf[4096];
    if (getpwuid_r(getuid(), &pw, buf, sizeof(buf), &result) == 0 &&
        result != nullptr && result->pw_dir != nullptr) {
      return std::string(result->pw_dir);
    }
  }
  return std::nullopt;
}

void SilenceGrpcLogs() {
  // gRPC logs connection errors on stderr itself; we report them once, in
  // our own words. GRPC_VERBOSITY=debug (or any value) brings them back.
  if (getenv("GRPC_VERBOSITY") == nullptr) {
    gpr_set_log_function([](gpr_log_func_args*) {});
  }
}

// Connects to the server the flags and environment name and returns the
// session, or the exit status after reporting why not. `failure_exit`:
// the exit status of cmdctl's own failures (1, or 255 for a command whose
// status is a job's). A malformed --server is a usage error (2); so is a
// certificate problem, unless the command's status is a job's: a
// certificate expires between two runs of the same script, and 2 would
// read as the job's.
int Connect(int failure_exit, Session** session) {
  const int certificate_exit =
      failure_exit == kExitServerError ? kExitUsage : failure_exit;
  const auto fail = [](int code, absl::string_view message) {
    return Report(Failure{code, absl::StrCat("cmdctl: ", message)});
  };
  absl::StatusOr<ConnectionConfig> config = ResolveConnectionConfig(
      GlobalFlagValues{ExplicitFlag("server"), ExplicitFlag("cert"),
                       ExplicitFlag("key"), ExplicitFlag("ca")},
      &GetEnv);
  if (!config.ok()) return fail(kExitUsage, config.status().message());
  absl::Status tls = EnforceTls13Policy();
  if (!tls.ok()) return fail(failure_exit, tls.message());
  absl::StatusOr<grpc::SslCredentialsOptions> credentials =
      LoadCredentials(*config);
  if (!credentials.ok()) {
    return fail(certificate_exit, credentials.status().message());
  }
  // The channel and the session are never destroyed: main() leaves with
  // ExitWithoutTeardown once Main returns, and destroying them here would
  // start the very gRPC shutdown that skips (see there).
  static const auto* const channel = new std::shared_ptr<grpc::Channel>(
      MakeChannel(config->server.value, *credentials));
  const bool verbose = getenv("GRPC_VERBOSITY") != nullptr;
  grpc::Status connected = cli::Connect(*channel, kConnectTimeout);
  if (!connected.ok()) {
    Failure failure = FailureFromRpc(
        connected,
        CallContext{config->server.value, "", /*connected=*/false, verbose});
    failure.exit_code = failure_exit;
    return Report(failure);
  }
  *session = new Session{config->server.value,
                         cmdctl::v1::ProcessService::NewStub(*channel),
                         *channel, failure_exit, verbose};
  return kExitOk;
}

}  // namespace

int Main(const std::vector<std::string>& argv) {
  SilenceGrpcLogs();
  absl::StatusOr<Invocation> inv =
      SplitCommandLine(argv, FlagTableOf(GlobalFlagNames()), CommandSyntaxes());
  if (!inv.ok()) return UsageError(std::string(inv.status().message()));
  const Command* command = FindCommand(inv->command);
  if (inv->help) {
    WriteAll(STDOUT_FILENO,
             command == nullptr ? ToolHelp() : CommandHelp(*command));
    return kExitOk;
  }
  std::vector<FlagArg> flags = inv->global_flags;
  flags.insert(flags.end(), inv->command_flags.begin(),
               inv->command_flags.end());
  absl::StatusOr<RepeatedFlags> repeated = ApplyFlags(flags);
  if (!repeated.ok()) {
    return UsageError(std::string(repeated.status().message()));
  }
  absl::StatusOr<Action> action = command->prepare(*inv, *repeated);
  if (!action.ok()) return UsageError(std::string(action.status().message()));
  if (!action->needs_server) return action->run(nullptr);
  Session* session = nullptr;
  const int failure_exit =
      action->exits_with_job_status ? kExitOwnFailure : kExitServerError;
  if (int status = Connect(failure_exit, &session); status != kExitOk) {
    return status;
  }
  return action->run(session);
}

}  // namespace cmdctl::cli

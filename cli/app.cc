#include "cli/app.h"

#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "cli/config.h"
#include "cli/connection.h"
#include "cli/duration.h"
#include "cli/exit_codes.h"
#include "gflags/gflags.h"
#include "grpc/support/log.h"
#include "tls/tls_policy.h"

// Global flags (before the command).
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

// Command flags.
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
DEFINE_string(grace, "5s",
              "time between SIGTERM and SIGKILL, e.g. 500ms, 5s, 1m30s");

namespace cmdctl::cli {
namespace {

struct CommandInfo {
  const char* name;
  const char* summary;
  const char* usage;  // without "cmdctl "
  std::vector<const char*> flags;
  ScanMode mode;
  int min_arguments;
  int max_arguments;
  const char* missing_arguments;
  const char* details;  // description and examples
};

const std::vector<const char*>& GlobalFlagNames() {
  static const auto* names =
      new std::vector<const char*>{"server", "cert", "key", "ca"};
  return *names;
}

const std::vector<CommandInfo>& Commands() {
  static const auto* commands = new std::vector<CommandInfo>{
      {"run",
       "start a program as a job; print its id (or --wait for it)",
       "run [--as=LOGIN] [--wait] [--workdir=DIR] [--env=KEY=VALUE]... "
       "PROGRAM [ARGS...]",
       {"as", "wait", "workdir", "env"},
       ScanMode::kStopAtFirstArgument,
       1,
       -1,
       "missing PROGRAM",
       "Starts PROGRAM with ARGS as a job on the server's host and prints the\n"
       "job id alone on a line. PROGRAM without a '/' is looked up in\n"
       "PATH=/usr/local/bin:/usr/bin:/bin. Flags of run go before PROGRAM;\n"
       "everything after PROGRAM is passed to it untouched (use `--` before\n"
       "a PROGRAM that starts with '-'). The job runs with a clean\n"
       "environment (HOME, USER, LOGNAME, SHELL, PATH, plus --env), stdin\n"
       "from /dev/null, in the run-as user's home unless --workdir.\n"
       "\n"
       "With --wait, cmdctl streams the job's stdout to stdout and its stderr\n"
       "to stderr and exits with the job's exit status (128+N when signal N\n"
       "ended it). Ctrl-C detaches and leaves the job running.\n"
       "\n"
       "Examples:\n"
       "  cmdctl run ls -la\n"
       "  cmdctl run sh -c 'echo hi; echo oops >&2'\n"
       "  cmdctl run --wait make -C /srv/app test; echo \"exit $?\"\n"
       "  cmdctl run --as=deploy --workdir=/srv/app --env=MODE=prod "
       "./deploy.sh\n"
       "  cmdctl run -- -weird-program-name\n"},
      {"get-output",
       "print a job's stdout and stderr, following it",
       "get-output [--follow=false] ID",
       {"follow"},
       ScanMode::kInterspersed,
       1,
       1,
       "missing job ID",
       "Writes the job's stdout to stdout and its stderr to stderr, byte for\n"
       "byte, from the first byte. Follows a running job until it ends;\n"
       "--follow=false prints what is stored now and returns.\n"
       "\n"
       "Examples:\n"
       "  cmdctl get-output 3f2a9c1e-...\n"
       "  cmdctl get-output --follow=false 3f2a9c1e-... > out.txt 2> "
       "err.txt\n"},
      {"get-status",
       "show a job's state, exit code or signal, and times",
       "get-status [--output=text|json] ID",
       {"output"},
       ScanMode::kInterspersed,
       1,
       1,
       "missing job ID",
       "Shows the job's command, state in words (running, exited with code N,\n"
       "killed by signal, stopped), run-as user, pid, start time and\n"
       "duration. --output=json prints the ProcessStatus message in the\n"
       "canonical proto3 JSON mapping (field names like exitCode, state as\n"
       "\"JOB_STATE_EXITED\", times in RFC 3339).\n"
       "\n"
       "Examples:\n"
       "  cmdctl get-status 3f2a9c1e-...\n"
       "  cmdctl get-status --output=json 3f2a9c1e-... | jq -r .state\n"},
      {"stop",
       "stop a job: SIGTERM to its whole tree, SIGKILL after --grace",
       "stop [--grace=DURATION] ID",
       {"grace"},
       ScanMode::kInterspersed,
       1,
       1,
       "missing job ID",
       "Sends SIGTERM to every process of the job, then SIGKILL to whatever\n"
       "is left when the grace period has passed, and returns once no process\n"
       "of the job remains, printing how it ended. Stopping an ended job\n"
       "prints how it ended.\n"
       "\n"
       "Examples:\n"
       "  cmdctl stop 3f2a9c1e-...\n"
       "  cmdctl stop --grace=500ms 3f2a9c1e-...\n"
       "  cmdctl stop 3f2a9c1e-... --grace=1m30s\n"},
      {"list",
       "list your jobs",
       "list [--output=text|json]",
       {"output"},
       ScanMode::kInterspersed,
       0,
       0,
       "",
       "Lists the jobs your identity started, oldest first, in columns ID,\n"
       "STATE, EXIT/SIGNAL, STARTED, COMMAND; --output=json prints the\n"
       "ListProcessesResponse message as proto3 JSON.\n"
       "\n"
       "Examples:\n"
       "  cmdctl list\n"
       "  cmdctl list --output=json | jq -r '.processes[].jobId'\n"},
  };
  return *commands;
}

const CommandInfo* FindCommand(const std::string& name) {
  for (const CommandInfo& c : Commands()) {
    if (name == c.name) return &c;
  }
  return nullptr;
}

gflags::CommandLineFlagInfo FlagInfo(const char* name) {
  gflags::CommandLineFlagInfo info;
  gflags::GetCommandLineFlagInfo(name, &info);
  return info;
}

FlagTable TableOf(const std::vector<const char*>& names) {
  FlagTable table;
  for (const char* name : names) table[name] = FlagInfo(name).type == "bool";
  return table;
}

std::map<std::string, CommandSyntax> Syntaxes() {
  std::map<std::string, CommandSyntax> syntaxes;
  for (const CommandInfo& c : Commands()) {
    syntaxes[c.name] = CommandSyntax{TableOf(c.flags),    c.mode,
                                     c.min_arguments,     c.max_arguments,
                                     c.missing_arguments, c.usage};
  }
  return syntaxes;
}

// What a flag's value is, for the help text.
std::string Placeholder(const std::string& name) {
  static const auto* names = new std::map<std::string, std::string>{
      {"server", "HOST:PORT"}, {"cert", "FILE"},        {"key", "FILE"},
      {"ca", "FILE"},          {"as", "LOGIN"},         {"workdir", "DIR"},
      {"env", "KEY=VALUE"},    {"output", "text|json"}, {"grace", "DURATION"}};
  auto it = names->find(name);
  return it == names->end() ? "VALUE" : it->second;
}

// `text` in lines of at most `width` columns, every line after the first
// indented by `indent` spaces.
std::string Wrap(const std::string& text, size_t indent, size_t width) {
  std::string out;
  size_t column = indent;
  for (absl::string_view word : absl::StrSplit(text, ' ', absl::SkipEmpty())) {
    if (column > indent && column + 1 + word.size() > width) {
      absl::StrAppend(&out, "\n", std::string(indent, ' '));
      column = indent;
    } else if (column > indent) {
      out += ' ';
      ++column;
    }
    absl::StrAppend(&out, word);
    column += word.size();
  }
  return out;
}

std::string FlagHelp(const std::vector<const char*>& names) {
  constexpr size_t kIndent = 22;
  std::string out;
  for (const char* name : names) {
    gflags::CommandLineFlagInfo info = FlagInfo(name);
    std::string spelled =
        info.type == "bool" ? absl::StrCat("--[no]", name)
                            : absl::StrCat("--", name, "=", Placeholder(name));
    std::string line = absl::StrCat("  ", spelled);
    std::string description = info.description;
    if (info.type == "bool" || !info.default_value.empty()) {
      absl::StrAppend(&description, " [default: ", info.default_value, "]");
    }
    if (line.size() + 2 > kIndent) {
      absl::StrAppend(&line, "\n", std::string(kIndent, ' '));
    } else {
      line += std::string(kIndent - line.size(), ' ');
    }
    absl::StrAppend(&out, line, Wrap(description, kIndent, 79), "\n");
  }
  return out;
}

std::string ToolHelp() {
  std::string out =
      "cmdctl: run processes on a host through cmdctld, stop them, see their\n"
      "status, and stream their output (gRPC over mutual TLS 1.3).\n"
      "\n"
      "Usage: cmdctl [GLOBAL FLAGS] COMMAND [COMMAND FLAGS] [ARGS...]\n"
      "\n"
      "Commands:\n";
  for (const CommandInfo& c : Commands()) {
    std::string name = absl::StrCat("  ", c.name);
    absl::StrAppend(&out, name, std::string(14 - name.size(), ' '), c.summary,
                    "\n");
  }
  absl::StrAppend(
      &out, "\nGlobal flags (before COMMAND):\n", FlagHelp(GlobalFlagNames()),
      "\n"
      "Exit status: 0 success; 1 an error from the server or reaching it (one\n"
      "line on stderr); 2 a usage error. `run --wait` exits with the job's\n"
      "status instead (128+N when signal N ended it).\n"
      "\n"
      "Examples:\n"
      "  cmdctl run ls -la\n"
      "  id=$(cmdctl run sh -c 'for i in 1 2 3; do echo $i; sleep 1; done')\n"
      "  cmdctl get-output \"$id\"\n"
      "  cmdctl run --wait sh -c 'exit 3'; echo $?      # 3\n"
      "  cmdctl --server=db1.example.com:9090 list\n"
      "  CMDCTL_SERVER=db1.example.com:9090 cmdctl get-status \"$id\"\n"
      "\n"
      "Run 'cmdctl COMMAND --help' for a command's flags and examples.\n");
  return out;
}

std::string CommandHelp(const CommandInfo& c) {
  return absl::StrCat("Usage: cmdctl [GLOBAL FLAGS] ", c.usage, "\n\n",
                      c.details, c.flags.empty() ? "" : "\nFlags:\n",
                      FlagHelp(c.flags),
                      "\nGlobal flags: see 'cmdctl --help'.\n");
}

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

// Applies the flags through gflags (which checks the values), collecting
// the repeatable --env ourselves.
absl::Status ApplyFlags(const std::vector<FlagArg>& flags,
                        std::map<std::string, std::string>* env) {
  for (const FlagArg& flag : flags) {
    if (flag.name == "env") {
      const size_t eq = flag.value.find('=');
      if (eq == std::string::npos || eq == 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("--env wants KEY=VALUE, got '", flag.value, "'"));
      }
      (*env)[flag.value.substr(0, eq)] = flag.value.substr(eq + 1);
    }
    if (gflags::SetCommandLineOption(flag.name.c_str(), flag.value.c_str())
            .empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid value '", flag.value, "' for --", flag.name));
    }
  }
  return absl::OkStatus();
}

std::optional<std::string> ExplicitFlag(const char* name) {
  gflags::CommandLineFlagInfo info = FlagInfo(name);
  if (info.is_default) return std::nullopt;
  return info.current_value;
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

absl::StatusOr<OutputFormat> ParseOutputFormat(const std::string& text) {
  if (text == "text") return OutputFormat::kText;
  if (text == "json") return OutputFormat::kJson;
  return absl::InvalidArgumentError(
      absl::StrCat("--output must be text or json, got '", text, "'"));
}

void SilenceGrpcLogs() {
  // gRPC logs connection errors on stderr itself; we report them once, in
  // our own words. GRPC_VERBOSITY=debug (or any value) brings them back.
  if (getenv("GRPC_VERBOSITY") == nullptr) {
    gpr_set_log_function([](gpr_log_func_args*) {});
  }
}

// One command with its flags read and checked.
struct CommandRequest {
  std::string command;
  std::string job_id;  // get-output, get-status, stop
  RunOptions run;
  bool follow = true;
  OutputFormat format = OutputFormat::kText;
  std::optional<absl::Duration> grace;  // unset: the server's default
};

// Reads the command's flags (already applied to gflags) and checks what can
// be checked before connecting. INVALID_ARGUMENT is a usage error.
absl::StatusOr<CommandRequest> ReadCommand(
    const Invocation& inv, std::map<std::string, std::string> env) {
  CommandRequest request;
  request.command = inv.command;
  if (inv.command == "run") {
    if (inv.arguments[0].empty()) {
      return absl::InvalidArgumentError("PROGRAM must not be empty");
    }
    request.run.program = inv.arguments[0];
    request.run.args.assign(inv.arguments.begin() + 1, inv.arguments.end());
    request.run.run_as = FLAGS_as;
    request.run.working_dir = FLAGS_workdir;
    request.run.env = std::move(env);
    request.run.wait = FLAGS_wait;
    return request;
  }
  if (inv.command != "list") request.job_id = inv.arguments[0];
  request.follow = FLAGS_follow;
  if (inv.command == "get-status" || inv.command == "list") {
    absl::StatusOr<OutputFormat> format = ParseOutputFormat(FLAGS_output);
    if (!format.ok()) return format.status();
    request.format = *format;
  }
  if (inv.command == "stop" && !FlagInfo("grace").is_default) {
    absl::StatusOr<absl::Duration> grace = ParseGracePeriod(FLAGS_grace);
    if (!grace.ok()) return grace.status();
    request.grace = *grace;
  }
  return request;
}

int Dispatch(const CommandRequest& request, Session& session) {
  const std::string& command = request.command;
  if (command == "run") return RunJob(session, request.run);
  if (command == "get-output") {
    return GetOutput(session, request.job_id, request.follow);
  }
  if (command == "get-status") {
    return GetStatus(session, request.job_id, request.format);
  }
  if (command == "stop") return StopJob(session, request.job_id, request.grace);
  return ListJobs(session, request.format);
}

}  // namespace

int Main(const std::vector<std::string>& argv) {
  SilenceGrpcLogs();
  absl::StatusOr<Invocation> inv =
      SplitCommandLine(argv, TableOf(GlobalFlagNames()), Syntaxes());
  if (!inv.ok()) return UsageError(std::string(inv.status().message()));
  if (inv->help) {
    const CommandInfo* command = FindCommand(inv->command);
    WriteAll(STDOUT_FILENO,
             command == nullptr ? ToolHelp() : CommandHelp(*command));
    return kExitOk;
  }
  std::map<std::string, std::string> env;
  absl::Status applied = ApplyFlags(inv->global_flags, &env);
  if (applied.ok()) applied = ApplyFlags(inv->command_flags, &env);
  if (!applied.ok()) return UsageError(std::string(applied.message()));
  absl::StatusOr<CommandRequest> request = ReadCommand(*inv, std::move(env));
  if (!request.ok()) return UsageError(std::string(request.status().message()));

  absl::StatusOr<ConnectionConfig> config = ResolveConnectionConfig(
      GlobalFlagValues{ExplicitFlag("server"), ExplicitFlag("cert"),
                       ExplicitFlag("key"), ExplicitFlag("ca")},
      &GetEnv);
  if (!config.ok()) {
    return UsageError(std::string(config.status().message()),
                      /*show_help_hint=*/false);
  }
  absl::Status tls = EnforceTls13Policy();
  if (!tls.ok()) {
    WriteAll(STDERR_FILENO, absl::StrCat("cmdctl: ", tls.message(), "\n"));
    return kExitServerError;
  }
  absl::StatusOr<grpc::SslCredentialsOptions> credentials =
      LoadCredentials(*config);
  if (!credentials.ok()) {
    return UsageError(std::string(credentials.status().message()),
                      /*show_help_hint=*/false);
  }
  // The channel and the session are never destroyed: main() leaves with
  // ExitWithoutTeardown once Main returns, and destroying them here would
  // start the very gRPC shutdown that skips (see there).
  static const auto* const channel = new std::shared_ptr<grpc::Channel>(
      MakeChannel(config->server.value, *credentials));
  grpc::Status connected = Connect(*channel, kConnectTimeout);
  if (!connected.ok()) {
    Failure failure =
        FailureFromRpc(connected, CallContext{config->server.value, "",
                                              /*connected=*/false});
    WriteAll(STDERR_FILENO, failure.message + "\n");
    return failure.exit_code;
  }
  static auto* const session = new Session{
      config->server.value, cmdctl::v1::ProcessService::NewStub(*channel)};
  return Dispatch(*request, *session);
}

void ExitWithoutTeardown(int code) {
  // cmdctl writes its output with write(2) (WriteAll) and checks every write
  // where it happens (EPIPE: exit 141 quietly, as SIGPIPE would; other
  // errors: a message and exit 1), so by now the result is out. stdio holds
  // nothing of ours; flush it anyway, as exit() would, for anything a
  // library printed through it, and check it like our own writes.
  if (std::fflush(stdout) != 0 && code == kExitOk) {
    code = errno == EPIPE ? kExitBrokenPipe : kExitServerError;
  }
  std::fflush(stderr);
  // A file system may report a failed write only at close (NFS); a normal
  // exit would not see it either, but it costs one call to check.
  if (close(STDOUT_FILENO) != 0 && errno != EBADF && errno != EINTR &&
      code == kExitOk) {
    WriteAll(STDERR_FILENO, absl::StrCat("cmdctl: cannot write the output: ",
                                         strerror(errno), "\n"));
    code = kExitServerError;
  }
  // _exit, not exit: exit() would run the static destructors and atexit
  // handlers, among them gRPC's shutdown (the channel's disconnect, then
  // joining its executor, timer and event-engine threads), which took 2-8 ms
  // of every cmdctl run (docs/BENCHMARKS.md) and achieves nothing the
  // kernel does not do at exit: it closes the connection (the server sees
  // the stream ended, as on any client exit) and frees the memory. Nothing
  // of cmdctl waits on a destructor: every call has finished, and the
  // output went out unbuffered (above).
  _exit(code);
}

}  // namespace cmdctl::cli

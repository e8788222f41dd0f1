#include "cli/command_table.h"

#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "cli/duration.h"

namespace cmdctl::cli {
namespace {

absl::StatusOr<OutputFormat> ParseOutputFormat(const std::string& text) {
  if (text == "text") return OutputFormat::kText;
  if (text == "json") return OutputFormat::kJson;
  return absl::InvalidArgumentError(
      absl::StrCat("--output must be text or json, got '", text, "'"));
}

// --- The handlers: flags and arguments in, checked; the action out. ---

absl::StatusOr<Action> PrepareRun(const Invocation& inv,
                                  const RepeatedFlags& repeated) {
  if (inv.arguments[0].empty()) {
    return absl::InvalidArgumentError("PROGRAM must not be empty");
  }
  RunOptions run;
  run.program = inv.arguments[0];
  run.args.assign(inv.arguments.begin() + 1, inv.arguments.end());
  run.run_as = FLAGS_as;
  run.working_dir = FLAGS_workdir;
  run.env = repeated.env;
  run.wait = FLAGS_wait;
  return Action([run = std::move(run)](Session& session) {
    return RunJob(session, run);
  });
}

absl::StatusOr<Action> PrepareGetOutput(const Invocation& inv,
                                        const RepeatedFlags&) {
  return Action(
      [id = inv.arguments[0], follow = FLAGS_follow](Session& session) {
        return GetOutput(session, id, follow);
      });
}

absl::StatusOr<Action> PrepareGetStatus(const Invocation& inv,
                                        const RepeatedFlags&) {
  absl::StatusOr<OutputFormat> format = ParseOutputFormat(FLAGS_output);
  if (!format.ok()) return format.status();
  return Action([id = inv.arguments[0], format = *format](Session& session) {
    return GetStatus(session, id, format);
  });
}

absl::StatusOr<Action> PrepareStop(const Invocation& inv,
                                   const RepeatedFlags&) {
  std::optional<absl::Duration> grace;  // unset: the server's --stop_grace
  if (std::optional<std::string> text = ExplicitFlag("grace")) {
    absl::StatusOr<absl::Duration> parsed = ParseGracePeriod(*text);
    if (!parsed.ok()) return parsed.status();
    grace = *parsed;
  }
  return Action([id = inv.arguments[0], grace](Session& session) {
    return StopJob(session, id, grace);
  });
}

absl::StatusOr<Action> PrepareList(const Invocation&, const RepeatedFlags&) {
  absl::StatusOr<OutputFormat> format = ParseOutputFormat(FLAGS_output);
  if (!format.ok()) return format.status();
  return Action([format = *format](Session& session) {
    return ListJobs(session, format);
  });
}

}  // namespace

const std::vector<Command>& Commands() {
  static const auto* commands = new std::vector<Command>{
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
       "  cmdctl run -- -weird-program-name\n",
       &PrepareRun},
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
       "err.txt\n",
       &PrepareGetOutput},
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
       "  cmdctl get-status --output=json 3f2a9c1e-... | jq -r .state\n",
       &PrepareGetStatus},
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
       "prints how it ended. Without --grace the server's default applies\n"
       "(its --stop_grace), and cmdctl waits as long as the server takes.\n"
       "\n"
       "Examples:\n"
       "  cmdctl stop 3f2a9c1e-...\n"
       "  cmdctl stop --grace=500ms 3f2a9c1e-...\n"
       "  cmdctl stop 3f2a9c1e-... --grace=1m30s\n",
       &PrepareStop},
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
       "  cmdctl list --output=json | jq -r '.processes[].jobId'\n",
       &PrepareList},
  };
  return *commands;
}

const Command* FindCommand(std::string_view name) {
  for (const Command& command : Commands()) {
    if (name == command.name) return &command;
  }
  return nullptr;
}

std::map<std::string, CommandSyntax> CommandSyntaxes() {
  std::map<std::string, CommandSyntax> syntaxes;
  for (const Command& c : Commands()) {
    syntaxes[c.name] = CommandSyntax{FlagTableOf(c.flags), c.mode,
                                     c.min_arguments,      c.max_arguments,
                                     c.missing_arguments,  c.usage};
  }
  return syntaxes;
}

}  // namespace cmdctl::cli

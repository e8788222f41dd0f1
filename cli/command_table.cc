#include "cli/command_table.h"

#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "cli/commands.h"
#include "cli/completion.h"
#include "cli/duration.h"
#include "cli/exit_codes.h"
#include "cli/flag_values.h"
#include "cli/job_ids.h"
#include "cli/job_tie.h"
#include "cli/version.h"

namespace cmdctl::cli {
namespace {

absl::StatusOr<OutputFormat> ParseOutputFormat(const std::string& text) {
  if (text == "text") return OutputFormat::kText;
  if (text == "json") return OutputFormat::kJson;
  return absl::InvalidArgumentError(
      absl::StrCat("--output must be text or json, got '", text, "'"));
}

// Every argument checked as a job ID (a whole one or a prefix).
absl::StatusOr<std::vector<std::string>> CheckJobIds(
    const std::vector<std::string>& arguments) {
  std::vector<std::string> ids;
  for (const std::string& argument : arguments) {
    absl::StatusOr<std::string> id = CheckJobIdArgument(argument);
    if (!id.ok()) return id.status();
    ids.push_back(*std::move(id));
  }
  return ids;
}

Action Remote(std::function<int(Session&)> run) {
  return Action{
      [run = std::move(run)](Session* session) { return run(*session); }};
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
  absl::StatusOr<RunLimits> limits = ParseRunLimits(
      LimitFlags{ExplicitFlag("memory"), ExplicitFlag("cpus"),
                 ExplicitFlag("pids-limit"), ExplicitFlag("io-read-bps"),
                 ExplicitFlag("io-write-bps"), ExplicitFlag("timeout")});
  if (!limits.ok()) return limits.status();
  run.limits = *std::move(limits);
  // Tied to the job before gRPC starts a thread (job_tie.h).
  if (run.wait) run.tie = &JobTie::Arm();
  Action action = Remote([run = std::move(run)](Session& session) {
    return RunJob(session, run);
  });
  action.exits_with_job_status = FLAGS_wait;
  return action;
}

absl::StatusOr<Action> PrepareGetOutput(const Invocation& inv,
                                        const RepeatedFlags&) {
  absl::StatusOr<std::vector<std::string>> ids = CheckJobIds(inv.arguments);
  if (!ids.ok()) return ids.status();
  std::optional<int64_t> tail;
  if (std::optional<std::string> text = ExplicitFlag("tail")) {
    absl::StatusOr<int64_t> lines = ParseTailLines(*text);
    if (!lines.ok()) return lines.status();
    tail = *lines;
  }
  return Remote(
      [id = (*ids)[0], follow = FLAGS_follow, tail](Session& session) {
        return GetOutput(session, id, follow, tail);
      });
}

absl::StatusOr<Action> PrepareGetStatus(const Invocation& inv,
                                        const RepeatedFlags&) {
  absl::StatusOr<std::vector<std::string>> ids = CheckJobIds(inv.arguments);
  if (!ids.ok()) return ids.status();
  absl::StatusOr<OutputFormat> format = ParseOutputFormat(FLAGS_output);
  if (!format.ok()) return format.status();
  return Remote([ids = *std::move(ids), format = *format](Session& session) {
    return GetStatus(session, ids, format);
  });
}

absl::StatusOr<Action> PrepareStop(const Invocation& inv,
                                   const RepeatedFlags&) {
  absl::StatusOr<std::vector<std::string>> ids = CheckJobIds(inv.arguments);
  if (!ids.ok()) return ids.status();
  std::optional<absl::Duration> grace;  // unset: the server's --stop_grace
  if (std::optional<std::string> text = ExplicitFlag("grace")) {
    absl::StatusOr<absl::Duration> parsed = ParseDurationFlag("grace", *text);
    if (!parsed.ok()) return parsed.status();
    grace = *parsed;
  }
  return Remote([ids = *std::move(ids), grace](Session& session) {
    return StopJobs(session, ids, grace);
  });
}

absl::StatusOr<Action> PrepareWait(const Invocation& inv,
                                   const RepeatedFlags&) {
  absl::StatusOr<std::vector<std::string>> ids = CheckJobIds(inv.arguments);
  if (!ids.ok()) return ids.status();
  Action action = Remote([ids = *std::move(ids)](Session& session) {
    return WaitJobs(session, ids);
  });
  action.exits_with_job_status = true;
  return action;
}

absl::StatusOr<Action> PrepareList(const Invocation&, const RepeatedFlags&) {
  absl::StatusOr<OutputFormat> format = ParseOutputFormat(FLAGS_output);
  if (!format.ok()) return format.status();
  cmdctl::v1::JobState state = cmdctl::v1::JOB_STATE_UNSPECIFIED;
  if (std::optional<std::string> text = ExplicitFlag("state")) {
    absl::StatusOr<cmdctl::v1::JobState> parsed = ParseStateFilter(*text);
    if (!parsed.ok()) return parsed.status();
    state = *parsed;
  }
  return Remote([format = *format, state](Session& session) {
    return ListJobs(session, format, state);
  });
}

absl::StatusOr<Action> PrepareRemove(const Invocation& inv,
                                     const RepeatedFlags&) {
  absl::StatusOr<std::vector<std::string>> ids = CheckJobIds(inv.arguments);
  if (!ids.ok()) return ids.status();
  return Remote([ids = *std::move(ids)](Session& session) {
    return RemoveJobs(session, ids);
  });
}

// Prints `text`; for the commands that need no server.
Action PrintLocally(std::string text) {
  return Action{[text = std::move(text)](Session*) {
                  return PrintStdout(text) ? kExitOk : kExitServerError;
                },
                /*needs_server=*/false};
}

absl::StatusOr<Action> PrepareVersion(const Invocation&, const RepeatedFlags&) {
  return PrintLocally(absl::StrCat("cmdctl ", kVersion, "\n"));
}

absl::StatusOr<Action> PrepareCompletion(const Invocation& inv,
                                         const RepeatedFlags&) {
  absl::StatusOr<std::string> script = CompletionScript(inv.arguments[0]);
  if (!script.ok()) return script.status();
  return PrintLocally(*std::move(script));
}

}  // namespace

const std::vector<Command>& Commands() {
  static const auto* commands = new std::vector<Command>{
      {"run",
       {},
       "start a program as a job; print its id (or --wait for it)",
       "run [--as=LOGIN] [--wait] [--workdir=DIR] [--env=KEY=VALUE]... "
       "[--memory=SIZE] [--cpus=N] [--pids-limit=N] [--io-read-bps=SIZE] "
       "[--io-write-bps=SIZE] [--timeout=DURATION] PROGRAM [ARGS...]",
       {"as", "wait", "workdir", "env", "memory", "cpus", "pids-limit",
        "io-read-bps", "io-write-bps", "timeout"},
       ScanMode::kStopAtFirstArgument,
       1,
       -1,
       "missing PROGRAM",
       "Starts PROGRAM with ARGS as a job on the server's host and prints the\n"
       "job id alone on a line. PROGRAM without a '/' is looked up in the\n"
       "job's PATH: /usr/local/bin:/usr/bin:/bin, or the one --env=PATH=...\n"
       "sets. Flags of run go before PROGRAM; everything after PROGRAM is\n"
       "passed to it untouched (use `--` before a PROGRAM that starts with\n"
       "'-'). The job runs with a clean environment (HOME, USER, LOGNAME,\n"
       "SHELL, PATH, plus --env), stdin from /dev/null, in the run-as user's\n"
       "home unless --workdir.\n"
       "\n"
       "Limits (each left out: the server's default, if it has one): --memory\n"
       "(the job's processes are killed together when it runs out), --cpus,\n"
       "--pids-limit, --io-read-bps and --io-write-bps (per block device).\n"
       "Sizes are 512M, 2G, 10M (powers of 1024); --cpus=1.5 is one and a\n"
       "half CPUs. --timeout=DURATION (500ms, 5s, 1m30s, 30m) stops the job\n"
       "as `cmdctl stop` would once it has run that long. A server whose host\n"
       "cannot enforce a limit refuses the job, naming the controller.\n"
       "\n"
       "With --wait, cmdctl streams the job's stdout to stdout and its stderr\n"
       "to stderr and exits with the job's exit status (128+N when signal N\n"
       "ended it; 127 when PROGRAM does not exist, 126 when it cannot be\n"
       "executed; 255 when cmdctl itself fails). The job is tied to cmdctl,\n"
       "as with ssh: Ctrl-C, SIGTERM, SIGHUP or a closed stdout stops the job\n"
       "(SIGTERM, then SIGKILL after the server's grace period), and cmdctl\n"
       "then ends by that same signal, so a shell loop stops too. If the\n"
       "connection to cmdctld is lost (it restarts), cmdctl reconnects for\n"
       "about 30s and goes on where it was, without losing or repeating a\n"
       "byte.\n"
       "\n"
       "Examples:\n"
       "  cmdctl run ls -la\n"
       "  cmdctl run sh -c 'echo hi; echo oops >&2'\n"
       "  cmdctl run --wait make -C /srv/app test; echo \"exit $?\"\n"
       "  cmdctl run --as=deploy --workdir=/srv/app --env=MODE=prod "
       "./deploy.sh\n"
       "  cmdctl run --memory=512M --cpus=1.5 --timeout=30m ./build.sh\n"
       "  cmdctl run -- -weird-program-name\n",
       Completes::kProgram,
       {},
       &PrepareRun},
      {"get-output",
       {"logs"},
       "print a job's stdout and stderr, following it",
       "get-output [--follow=false] [--tail=N] ID",
       {"follow", "tail"},
       ScanMode::kInterspersed,
       1,
       1,
       "missing job ID",
       "Writes the job's stdout to stdout and its stderr to stderr, byte for\n"
       "byte, from the first byte. Follows a running job until it ends;\n"
       "--follow=false prints what is stored now and returns. --tail=N\n"
       "starts each stream at the beginning of its last N lines (--tail=0:\n"
       "only what comes from now on). Ctrl-C only stops following: the job\n"
       "runs on. If the connection to cmdctld is lost (it restarts), cmdctl\n"
       "reconnects for about 30s and goes on where it was. ID may be any\n"
       "unique prefix of one of your job IDs.\n"
       "\n"
       "Examples:\n"
       "  cmdctl get-output 3f2a9c1e-...\n"
       "  cmdctl logs --tail=20 3f2a\n"
       "  cmdctl get-output --follow=false 3f2a9c1e-... > out.txt 2> "
       "err.txt\n",
       Completes::kJobIds,
       {},
       &PrepareGetOutput},
      {"get-status",
       {"status"},
       "show jobs' state, exit code or signal, and times",
       "get-status [--output=text|json] ID...",
       {"output"},
       ScanMode::kInterspersed,
       1,
       -1,
       "missing job ID",
       "Shows each job's command, state in words (running, exited with code\n"
       "N, killed by signal, stopped; timed out, killed: out of memory),\n"
       "run-as user, pid, start time and duration, and where set its limits,\n"
       "timeout, resource usage and output sizes; the job's control\n"
       "characters are shown escaped (\\033).\n"
       "--output=json prints the ProcessStatus message in the canonical\n"
       "proto3 JSON mapping (field names like exitCode, state as\n"
       "\"JOB_STATE_EXITED\", times in RFC 3339), one object per job.\n"
       "\n"
       "Examples:\n"
       "  cmdctl get-status 3f2a9c1e-...\n"
       "  cmdctl status 3f2a 7b1c\n"
       "  cmdctl get-status --output=json 3f2a9c1e-... | jq -r .state\n",
       Completes::kJobIds,
       {},
       &PrepareGetStatus},
      {"stop",
       {},
       "stop jobs: SIGTERM to each whole tree, SIGKILL after --grace",
       "stop [--grace=DURATION] ID...",
       {"grace"},
       ScanMode::kInterspersed,
       1,
       -1,
       "missing job ID",
       "Sends SIGTERM to every process of each job, then SIGKILL to whatever\n"
       "is left when the grace period has passed, and returns once no process\n"
       "of the jobs remains, printing how each ended (the jobs are stopped\n"
       "together). Stopping an ended job prints how it ended. Without --grace\n"
       "the server's default applies (its --stop_grace), and cmdctl waits as\n"
       "long as the server takes.\n"
       "\n"
       "Examples:\n"
       "  cmdctl stop 3f2a9c1e-...\n"
       "  cmdctl stop --grace=500ms 3f2a 7b1c\n"
       "  cmdctl stop 3f2a9c1e-... --grace=1m30s\n",
       Completes::kJobIds,
       {},
       &PrepareStop},
      {"wait",
       {},
       "wait for jobs to end; exit with the last one's status",
       "wait ID...",
       {},
       ScanMode::kInterspersed,
       1,
       -1,
       "missing job ID",
       "Returns once every job has ended, and exits with the last one's exit\n"
       "status as `run --wait` would (128+N when signal N ended it; 255 when\n"
       "cmdctl itself fails). Ctrl-C only stops waiting: the jobs run on. If\n"
       "the connection to cmdctld is lost (it restarts), cmdctl reconnects "
       "for\n"
       "about 30s and goes on waiting.\n"
       "\n"
       "Examples:\n"
       "  id=$(cmdctl run make test); ...; cmdctl wait \"$id\"; echo $?\n"
       "  cmdctl wait 3f2a 7b1c && echo all done\n",
       Completes::kJobIds,
       {},
       &PrepareWait},
      {"list",
       {"ps"},
       "list your jobs",
       "list [--state=STATE] [--output=text|json]",
       {"state", "output"},
       ScanMode::kInterspersed,
       0,
       0,
       "",
       "Lists the jobs your identity started, newest first, one per line in\n"
       "columns ID, STATE, EXIT/SIGNAL, STARTED, COMMAND (control characters\n"
       "escaped); --output=json prints the ListProcessesResponse message as\n"
       "proto3 JSON. --state=STATE lists only the jobs in that state:\n"
       "running, exited, signaled, stopped or lost.\n"
       "\n"
       "Examples:\n"
       "  cmdctl list\n"
       "  cmdctl ps --state=running\n"
       "  cmdctl list --output=json | jq -r '.processes[].jobId'\n",
       Completes::kNothing,
       {},
       &PrepareList},
      {"rm",
       {},
       "remove ended jobs: their records and output",
       "rm ID...",
       {},
       ScanMode::kInterspersed,
       1,
       -1,
       "missing job ID",
       "Removes each job's record and its stored output now, instead of when\n"
       "the server's retention runs out, and prints `job ID: removed`. A\n"
       "running job is not removed (stop it first); the others still are,\n"
       "and the exit status is 1.\n"
       "\n"
       "Examples:\n"
       "  cmdctl rm 3f2a9c1e-...\n"
       "  cmdctl rm $(cmdctl list --state=exited --output=json | jq -r "
       "'.processes[].jobId')\n",
       Completes::kJobIds,
       {},
       &PrepareRemove},
      {"version",
       {},
       "print cmdctl's version",
       "version",
       {},
       ScanMode::kInterspersed,
       0,
       0,
       "",
       "Prints `cmdctl VERSION` (also: cmdctl --version).\n",
       Completes::kNothing,
       {},
       &PrepareVersion},
      {"completion",
       {},
       "print a shell completion script (bash or zsh)",
       "completion bash|zsh",
       {},
       ScanMode::kInterspersed,
       1,
       1,
       "missing shell: bash or zsh",
       "Prints a script that completes cmdctl's commands, flags and your job\n"
       "IDs in bash or zsh. The Debian package installs both.\n"
       "\n"
       "Examples:\n"
       "  source <(cmdctl completion bash)        # in ~/.bashrc\n"
       "  cmdctl completion zsh > \"${fpath[1]}/_cmdctl\"\n",
       Completes::kWords,
       {"bash", "zsh"},
       &PrepareCompletion},
  };
  return *commands;
}

const Command* FindCommand(absl::string_view name) {
  for (const Command& command : Commands()) {
    if (name == command.name) return &command;
    for (const std::string& alias : command.aliases) {
      if (name == alias) return &command;
    }
  }
  return nullptr;
}

std::map<std::string, CommandSyntax> CommandSyntaxes() {
  std::map<std::string, CommandSyntax> syntaxes;
  for (const Command& c : Commands()) {
    CommandSyntax syntax{FlagTableOf(c.flags), c.mode,
                         c.min_arguments,      c.max_arguments,
                         c.missing_arguments,  c.usage};
    for (const std::string& alias : c.aliases) syntaxes[alias] = syntax;
    syntaxes[c.name] = std::move(syntax);
  }
  return syntaxes;
}

}  // namespace cmdctl::cli

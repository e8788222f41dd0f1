#include "cli/help.h"

#include <map>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "cli/flags.h"

namespace cmdctl::cli {
namespace {

// What a flag's value is, for the help text.
std::string Placeholder(const std::string& name) {
  static const auto* names = new std::map<std::string, std::string>{
      {"server", "HOST:PORT"}, {"cert", "FILE"},
      {"key", "FILE"},         {"ca", "FILE"},
      {"as", "LOGIN"},         {"workdir", "DIR"},
      {"env", "KEY=VALUE"},    {"output", "text|json"},
      {"grace", "DURATION"},   {"memory", "SIZE"},
      {"cpus", "N"},           {"pids-limit", "N"},
      {"io-read-bps", "SIZE"}, {"io-write-bps", "SIZE"},
      {"timeout", "DURATION"}, {"tail", "N"},
      {"state", "STATE"}};
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

std::string FlagHelp(const std::vector<std::string>& names) {
  constexpr size_t kIndent = 22;
  std::string out;
  for (const std::string& name : names) {
    gflags::CommandLineFlagInfo info = FlagInfo(name);
    // A boolean is shown as it is used: `--wait` (off by default), or
    // `--follow=false` (on by default).
    std::string spelled =
        info.type != "bool" ? absl::StrCat("--", name, "=", Placeholder(name))
        : info.default_value == "true" ? absl::StrCat("--", name, "=false")
                                       : absl::StrCat("--", name);
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

}  // namespace

std::string ToolHelp() {
  std::string out =
      "cmdctl: run processes on a host through cmdctld, stop them, see their\n"
      "status, and stream their output (gRPC over mutual TLS 1.3).\n"
      "\n"
      "Usage: cmdctl [GLOBAL FLAGS] COMMAND [COMMAND FLAGS] [ARGS...]\n"
      "\n"
      "Commands:\n";
  for (const Command& c : Commands()) {
    std::string name = absl::StrCat("  ", c.name);
    std::string summary = c.summary;
    if (!c.aliases.empty()) {
      absl::StrAppend(&summary, " (also: ", absl::StrJoin(c.aliases, ", "),
                      ")");
    }
    absl::StrAppend(&out, name, std::string(14 - name.size(), ' '),
                    Wrap(summary, 14, 79), "\n");
  }
  absl::StrAppend(
      &out, "\nGlobal flags (before COMMAND):\n", FlagHelp(GlobalFlagNames()),
      "  --version           print cmdctl's version\n"
      "\n"
      "Job IDs may be shortened to any unique prefix of one of yours.\n"
      "\n"
      "Exit status: 0 success; 1 an error from the server or reaching it (one\n"
      "line on stderr); 2 a usage error (also a malformed --server or job ID,\n"
      "or a certificate that is unreadable, expired or not matching its\n"
      "key). `run --wait` and `wait` exit with the job's status instead\n"
      "(128+N when signal N ended it; 127/126 when the program was not\n"
      "found / cannot be executed), and 255 when cmdctl itself fails.\n"
      "\n"
      "Examples:\n"
      "  cmdctl run ls -la                      # prints the job id\n"
      "  cmdctl logs 3f2a                       # its output (ID prefix)\n"
      "  id=$(cmdctl run sh -c 'for i in 1 2 3; do echo $i; sleep 1; done')\n"
      "  cmdctl get-output \"$id\"\n"
      "  cmdctl run --wait sh -c 'exit 3'; echo $?      # 3\n"
      "  cmdctl --server=db1.example.com:9090 list\n"
      "  CMDCTL_SERVER=db1.example.com:9090 cmdctl get-status \"$id\"\n"
      "\n"
      "Run 'cmdctl COMMAND --help' for a command's flags and examples.\n");
  return out;
}

std::string CommandHelp(const Command& c) {
  return absl::StrCat("Usage: cmdctl [GLOBAL FLAGS] ", c.usage, "\n\n",
                      c.details, c.flags.empty() ? "" : "\nFlags:\n",
                      FlagHelp(c.flags),
                      "\nGlobal flags: see 'cmdctl --help'.\n");
}

}  // namespace cmdctl::cli

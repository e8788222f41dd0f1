#include "cli/completion.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cli/command_table.h"
#include "cli/flags.h"

namespace cmdctl::cli {
namespace {

// A flag as completion offers it: "--wait", or "--as=" for one that takes
// a value.
std::string Spelled(const std::string& flag) {
  return absl::StrCat("--", flag, FlagInfo(flag).type == "bool" ? "" : "=");
}

std::string FlagWords(const std::vector<std::string>& flags) {
  std::vector<std::string> words;
  for (const std::string& flag : flags) words.push_back(Spelled(flag));
  words.push_back("--help");
  return absl::StrJoin(words, " ");
}

// Every name and alias of the commands whose arguments are `kind`, as one
// case pattern: "get-output|logs|stop".
std::string NamesCompleting(Completes kind) {
  std::vector<std::string> names;
  for (const Command& c : Commands()) {
    if (c.completes != kind) continue;
    names.push_back(c.name);
    names.insert(names.end(), c.aliases.begin(), c.aliases.end());
  }
  return absl::StrJoin(names, "|");
}

std::string AllCommandNames() {
  std::vector<std::string> names;
  for (const Command& c : Commands()) {
    names.push_back(c.name);
    names.insert(names.end(), c.aliases.begin(), c.aliases.end());
  }
  names.push_back("help");
  return absl::StrJoin(names, " ");
}

// `case` arms setting `flags` to each command's flags (bash and zsh share
// the syntax), each line indented by `indent`.
std::string FlagCases(const std::string& indent) {
  std::string out;
  for (const Command& c : Commands()) {
    std::vector<std::string> names{c.name};
    names.insert(names.end(), c.aliases.begin(), c.aliases.end());
    absl::StrAppend(&out, indent, absl::StrJoin(names, "|"), ") flags=\"",
                    FlagWords(c.flags), "\" ;;\n");
  }
  return out;
}

// `case` arms completing the fixed words of the commands that take them:
// each is `prefix`, the words, `suffix`.
std::string WordCases(const std::string& prefix, const std::string& suffix) {
  std::string out;
  for (const Command& c : Commands()) {
    if (c.completes != Completes::kWords) continue;
    absl::StrAppend(&out, "    ", c.name, ") ", prefix,
                    absl::StrJoin(c.words, " "), suffix, " ;;\n");
  }
  return out;
}

// The caller's job IDs, one per line, for both shells.
constexpr char kJobIds[] =
    "cmdctl list 2>/dev/null | awk 'NR > 1 { print $1 }'";

// Finds the command word, for both shells: the first word from index `i`
// (before `cword`, the word being completed) that is not a global flag or a
// global flag's value. bash splits `--server=x` into `--server`, `=`, `x`.
constexpr char kFindCommand[] = R"(  local cmd=''
  while (( i < cword )); do
    case ${words[i]} in
      --server|--cert|--key|--ca|-server|-cert|-key|-ca)
        if [[ ${words[i+1]} == = ]]; then (( i += 3 )); else (( i += 2 )); fi ;;
      =) (( i += 2 )) ;;
      -*) (( i += 1 )) ;;
      *) cmd=${words[i]}; break ;;
    esac
  done
)";

// How one shell offers what the arguments can be.
struct ShellActions {
  std::string ids;           // the caller's job IDs (kJobIds)
  std::string program;       // command names, for PROGRAM
  std::string program_args;  // the program's own arguments
  std::string words_prefix;  // fixed words: prefix, the words, suffix
  std::string words_suffix;
};

// The `case` on the command that completes its arguments (both shells
// share the syntax; `i` is the command's index, `cword` the current one).
std::string ArgumentCases(const ShellActions& shell) {
  return absl::StrCat(
      "  case $cmd in\n"
      "    ",
      NamesCompleting(Completes::kJobIds), ") ", shell.ids,
      " ;;\n"
      "    ",
      NamesCompleting(Completes::kProgram),
      ")\n"
      "      # PROGRAM (the first word after run's flags), then its own\n"
      "      # arguments.\n"
      "      local j=$((i + 1))\n"
      "      while (( j < cword )) && [[ ${words[j]} == -* ]]; do\n"
      "        (( j += 1 ))\n"
      "      done\n"
      "      if (( j == cword )); then ",
      shell.program, "; else ", shell.program_args, "; fi ;;\n",
      WordCases(shell.words_prefix, shell.words_suffix), "  esac\n");
}

std::string BashScript() {
  return absl::StrCat(
      "# bash completion for cmdctl (made by `cmdctl completion bash`).\n"
      "# Job IDs complete from `cmdctl list`.\n"
      "_cmdctl() {\n"
      "  local cur=${COMP_WORDS[COMP_CWORD]} cword=$COMP_CWORD i=1\n"
      "  local -a words=(\"${COMP_WORDS[@]}\")\n",
      kFindCommand,
      "  local flags\n"
      "  if [[ -z $cmd ]]; then\n"
      "    if [[ $cur == -* ]]; then\n"
      "      flags=\"",
      FlagWords(GlobalFlagNames()),
      " --version\"\n"
      "      COMPREPLY=($(compgen -W \"$flags\" -- \"$cur\"))\n"
      "      if [[ ${COMPREPLY[0]} == *= ]]; then compopt -o nospace; fi\n"
      "    else\n"
      "      COMPREPLY=($(compgen -W \"",
      AllCommandNames(),
      "\" -- \"$cur\"))\n"
      "    fi\n"
      "    return\n"
      "  fi\n"
      "  case $cmd in\n",
      FlagCases("    "),
      "  esac\n"
      "  if [[ $cur == -* ]]; then\n"
      "    COMPREPLY=($(compgen -W \"$flags\" -- \"$cur\"))\n"
      "    if [[ ${COMPREPLY[0]} == *= ]]; then compopt -o nospace; fi\n"
      "    return\n"
      "  fi\n",
      ArgumentCases(ShellActions{absl::StrCat("COMPREPLY=($(compgen -W \"$(",
                                              kJobIds, ")\" -- \"$cur\"))"),
                                 "COMPREPLY=($(compgen -c -- \"$cur\"))",
                                 "compopt -o default; COMPREPLY=()",
                                 "COMPREPLY=($(compgen -W \"",
                                 "\" -- \"$cur\"))"}),
      "}\n"
      "complete -F _cmdctl cmdctl\n");
}

std::string ZshScript() {
  std::string described;
  for (const Command& c : Commands()) {
    absl::StrAppend(&described, "        '", c.name, ":", c.summary, "'\n");
    for (const std::string& alias : c.aliases) {
      absl::StrAppend(&described, "        '", alias, ":same as ", c.name,
                      "'\n");
    }
  }
  return absl::StrCat(
      "#compdef cmdctl\n"
      "# zsh completion for cmdctl (made by `cmdctl completion zsh`).\n"
      "# Job IDs complete from `cmdctl list`.\n"
      "_cmdctl() {\n"
      "  local cword=$CURRENT i=2\n",
      kFindCommand,
      "  local flags\n"
      "  if [[ -z $cmd ]]; then\n"
      "    if [[ $PREFIX != -* ]]; then\n"
      "      local -a commands=(\n",
      described,
      "      )\n"
      "      _describe -t commands 'cmdctl command' commands\n"
      "      return\n"
      "    fi\n"
      "    flags=\"",
      FlagWords(GlobalFlagNames()),
      " --version\"\n"
      "  else\n"
      "    case $cmd in\n",
      FlagCases("      "),
      "    esac\n"
      "  fi\n"
      "  if [[ $PREFIX == -* ]]; then\n"
      "    local -a all=(${=flags})\n"
      "    compadd -S '' -- ${(M)all:#*=}\n"
      "    compadd -- ${all:#*=}\n"
      "    return\n"
      "  fi\n",
      ArgumentCases(
          ShellActions{absl::StrCat("compadd -- ${(f)\"$(", kJobIds, ")\"}"),
                       "_command_names -e", "_files", "compadd -- ", ""}),
      "}\n"
      "if [[ $funcstack[1] == _cmdctl ]]; then\n"
      "  _cmdctl \"$@\"\n"
      "else\n"
      "  compdef _cmdctl cmdctl\n"
      "fi\n");
}

}  // namespace

absl::StatusOr<std::string> CompletionScript(const std::string& shell) {
  if (shell == "bash") return BashScript();
  if (shell == "zsh") return ZshScript();
  return absl::InvalidArgumentError(
      absl::StrCat("no completion for '", shell, "': bash or zsh"));
}

}  // namespace cmdctl::cli

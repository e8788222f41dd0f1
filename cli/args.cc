#include "cli/args.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "cli/suggest.h"

namespace cmdctl::cli {
namespace {

bool IsHelp(const std::string& name) { return name == "h" || name == "help"; }

bool IsBoolValue(const std::string& token) {
  return token == "true" || token == "false";
}

// " (did you mean --NAME?)" for the flag of `known` nearest to `name`.
std::string FlagSuggestion(const std::string& name, const FlagTable& known) {
  std::vector<std::string> names;
  for (const auto& [flag, is_bool] : known) names.push_back(flag);
  std::optional<std::string> nearest = NearestName(name, names);
  return nearest ? absl::StrCat(" (did you mean --", *nearest, "?)") : "";
}

// Everything after one or two leading dashes.
std::string StripDashes(const std::string& token) {
  return token.substr(absl::StartsWith(token, "--") ? 2 : 1);
}

bool LooksLikeFlag(const std::string& token) {
  return token.size() > 1 && token[0] == '-';
}

struct Scanner {
  absl::Span<const std::string> args;
  const FlagTable& known;
  ScanMode mode;
  // Extra text for an unknown flag (e.g. where it belongs), may be empty.
  std::string (*unknown_hint)(const std::string& name, const void* context);
  const void* hint_context;

  // The global phase also takes --version (as `cmdctl version`).
  bool version_flag = false;

  absl::StatusOr<FlagScan> Run() {
    FlagScan scan;
    size_t i = 0;
    while (i < args.size()) {
      const std::string& token = args[i];
      if (token == "--") {
        scan.arguments.insert(scan.arguments.end(), args.begin() + i + 1,
                              args.end());
        return scan;
      }
      if (!LooksLikeFlag(token)) {
        if (mode == ScanMode::kStopAtFirstArgument) {
          scan.arguments.insert(scan.arguments.end(), args.begin() + i,
                                args.end());
          return scan;
        }
        scan.arguments.push_back(token);
        ++i;
        continue;
      }
      absl::Status status = ScanOne(&i, &scan);
      if (!status.ok()) return status;
    }
    return scan;
  }

  // Consumes the flag at args[*i] (and its value, if separate).
  absl::Status ScanOne(size_t* i, FlagScan* scan) {
    const std::string& token = args[*i];
    std::string body = StripDashes(token);
    std::string name = body;
    std::string value;
    const size_t eq = body.find('=');
    const bool has_value = eq != std::string::npos;
    if (has_value) {
      name = body.substr(0, eq);
      value = body.substr(eq + 1);
    }
    ++*i;
    if (IsHelp(name)) {
      scan->help = true;
      return absl::OkStatus();
    }
    if (version_flag && name == "version") {
      scan->version = true;
      return absl::OkStatus();
    }
    if (name.empty() || name[0] == '-') {
      return absl::InvalidArgumentError(
          absl::StrCat("malformed flag '", token, "'"));
    }
    auto it = known.find(name);
    if (it == known.end() && !has_value && absl::StartsWith(name, "no")) {
      auto negated = known.find(name.substr(2));
      if (negated != known.end() && negated->second) {
        scan->flags.push_back({negated->first, "false"});
        return absl::OkStatus();
      }
    }
    if (it == known.end()) {
      std::string hint =
          unknown_hint == nullptr ? "" : unknown_hint(name, hint_context);
      return absl::InvalidArgumentError(
          absl::StrCat("unknown flag --", name, hint.empty() ? "" : ": ", hint,
                       FlagSuggestion(name, known)));
    }
    const bool is_bool = it->second;
    if (!has_value) {
      if (is_bool && mode == ScanMode::kInterspersed && *i < args.size() &&
          IsBoolValue(args[*i])) {
        // `--follow false`: gflags' booleans take no separate value, so the
        // "false" would be an argument. Say so instead of miscounting.
        return absl::InvalidArgumentError(absl::StrCat(
            "--", name, " takes its value after '=': --", name, "=", args[*i],
            " (a separate '", args[*i], "' would be an argument)"));
      }
      if (is_bool) {
        value = "true";
      } else if (*i < args.size()) {
        value = args[(*i)++];
      } else {
        return absl::InvalidArgumentError(absl::StrCat(
            "flag --", name, " needs a value (--", name, "=VALUE)"));
      }
    }
    scan->flags.push_back({name, std::move(value)});
    return absl::OkStatus();
  }
};

struct SplitContext {
  const FlagTable& global_flags;
  const std::map<std::string, CommandSyntax>& commands;
  std::string command;
};

// For an unknown flag before the command: is it some command's flag?
std::string GlobalPhaseHint(const std::string& name, const void* context) {
  const auto* ctx = static_cast<const SplitContext*>(context);
  for (const auto& [command, syntax] : ctx->commands) {
    if (syntax.flags.count(name) > 0) {
      return absl::StrCat("it is a flag of '", command,
                          "'; put it after the command (cmdctl ", command,
                          " --", name, " ...)");
    }
  }
  return "";
}

// For an unknown flag after the command: is it a global flag?
std::string CommandPhaseHint(const std::string& name, const void* context) {
  const auto* ctx = static_cast<const SplitContext*>(context);
  if (ctx->global_flags.count(name) > 0) {
    return absl::StrCat(
        "it is a global flag; put it before the command (cmdctl --", name,
        "=... ", ctx->command, " ...)");
  }
  return absl::StrCat("'", ctx->command, "' does not take it");
}

absl::Status UnknownCommand(
    const std::string& word,
    const std::map<std::string, CommandSyntax>& commands) {
  std::vector<std::string> names;
  for (const auto& [name, syntax] : commands) names.push_back(name);
  std::optional<std::string> nearest = NearestName(word, names);
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown command '", word, "'",
      nearest ? absl::StrCat(" (did you mean ", *nearest, "?)") : ""));
}

absl::Status WithUsage(const absl::Status& status,
                       const CommandSyntax& syntax) {
  return absl::InvalidArgumentError(
      absl::StrCat(status.message(), "\nusage: cmdctl ", syntax.usage));
}

absl::Status CheckArgumentCount(const Invocation& inv,
                                const CommandSyntax& syntax) {
  const int n = static_cast<int>(inv.arguments.size());
  if (n < syntax.min_arguments) {
    return absl::InvalidArgumentError(syntax.missing_arguments);
  }
  if (syntax.max_arguments >= 0 && n > syntax.max_arguments) {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", inv.command, "' takes ", syntax.max_arguments,
        syntax.max_arguments == 1 ? " argument" : " arguments", ", got ", n,
        " (unexpected '", inv.arguments[syntax.max_arguments], "')"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<FlagScan> ScanFlags(absl::Span<const std::string> args,
                                   const FlagTable& known, ScanMode mode) {
  return Scanner{args, known, mode, nullptr, nullptr}.Run();
}

absl::StatusOr<Invocation> SplitCommandLine(
    absl::Span<const std::string> argv, const FlagTable& global_flags,
    const std::map<std::string, CommandSyntax>& commands) {
  SplitContext ctx{global_flags, commands, ""};
  Invocation inv;
  absl::Span<const std::string> rest = argv.empty() ? argv : argv.subspan(1);
  absl::StatusOr<FlagScan> global = Scanner{rest,
                                            global_flags,
                                            ScanMode::kStopAtFirstArgument,
                                            &GlobalPhaseHint,
                                            &ctx,
                                            /*version_flag=*/true}
                                        .Run();
  if (!global.ok()) return global.status();
  inv.global_flags = std::move(global->flags);
  inv.help = global->help;
  std::vector<std::string>& words = global->arguments;
  if (global->version && !inv.help) {
    inv.command = "version";
    return inv;
  }
  if (words.empty()) {
    if (inv.help) return inv;
    return absl::InvalidArgumentError("missing COMMAND");
  }
  if (words[0] == "help") {
    inv.help = true;
    if (words.size() > 2) {
      return absl::InvalidArgumentError("usage: cmdctl help [COMMAND]");
    }
    if (words.size() == 2) {
      if (commands.count(words[1]) == 0)
        return UnknownCommand(words[1], commands);
      inv.command = words[1];
    }
    return inv;
  }
  auto syntax = commands.find(words[0]);
  if (syntax == commands.end()) return UnknownCommand(words[0], commands);
  inv.command = words[0];
  ctx.command = inv.command;
  absl::StatusOr<FlagScan> scan =
      Scanner{absl::MakeConstSpan(words).subspan(1), syntax->second.flags,
              syntax->second.mode, &CommandPhaseHint, &ctx}
          .Run();
  if (!scan.ok()) return WithUsage(scan.status(), syntax->second);
  inv.command_flags = std::move(scan->flags);
  inv.arguments = std::move(scan->arguments);
  inv.help = inv.help || scan->help;
  if (!inv.help) {
    absl::Status count = CheckArgumentCount(inv, syntax->second);
    if (!count.ok()) return WithUsage(count, syntax->second);
  }
  return inv;
}

}  // namespace cmdctl::cli

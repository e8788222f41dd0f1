#include "cli/args.h"

#include <map>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cmdctl::cli {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

MATCHER_P2(Flag, name, value, "") {
  return arg.name == name && arg.value == value;
}

const FlagTable& Globals() {
  static const FlagTable table{
      {"server", false}, {"cert", false}, {"key", false}, {"ca", false}};
  return table;
}

const std::map<std::string, CommandSyntax>& Commands() {
  static const std::map<std::string, CommandSyntax> commands{
      {"run",
       {{{"as", false}, {"wait", true}, {"workdir", false}, {"env", false}},
        ScanMode::kStopAtFirstArgument,
        1,
        -1,
        "missing PROGRAM",
        "run [--as=LOGIN] [--wait] PROGRAM [ARGS...]"}},
      {"stop",
       {{{"grace", false}},
        ScanMode::kInterspersed,
        1,
        1,
        "missing job ID",
        "stop [--grace=DURATION] ID"}},
      {"get-output",
       {{{"follow", true}},
        ScanMode::kInterspersed,
        1,
        1,
        "missing job ID",
        "get-output ID"}},
      {"list", {{}, ScanMode::kInterspersed, 0, 0, "", "list"}},
  };
  return commands;
}

absl::StatusOr<Invocation> Split(std::vector<std::string> argv) {
  argv.insert(argv.begin(), "cmdctl");
  return SplitCommandLine(argv, Globals(), Commands());
}

TEST(SplitCommandLineTest, RunPassesProgramFlagsUntouched) {
  absl::StatusOr<Invocation> inv = Split({"run", "ls", "-la"});
  ASSERT_TRUE(inv.ok()) << inv.status();
  EXPECT_EQ(inv->command, "run");
  EXPECT_THAT(inv->command_flags, IsEmpty());
  EXPECT_THAT(inv->arguments, ElementsAre("ls", "-la"));
}

TEST(SplitCommandLineTest, RunPassesHelpAfterProgramToTheProgram) {
  absl::StatusOr<Invocation> inv = Split({"run", "echo", "--help"});
  ASSERT_TRUE(inv.ok()) << inv.status();
  EXPECT_FALSE(inv->help);
  EXPECT_THAT(inv->arguments, ElementsAre("echo", "--help"));
}

TEST(SplitCommandLineTest, RunPassesShellScriptAsOneArgument) {
  absl::StatusOr<Invocation> inv = Split({"run", "sh", "-c", "echo hi"});
  ASSERT_TRUE(inv.ok()) << inv.status();
  EXPECT_THAT(inv->arguments, ElementsAre("sh", "-c", "echo hi"));
}

TEST(SplitCommandLineTest, RunPassesOurOwnFlagNamesAfterProgramToTheProgram) {
  absl::StatusOr<Invocation> inv =
      Split({"run", "prog", "--wait", "--as=root", "--server=x", "--", "-x"});
  ASSERT_TRUE(inv.ok()) << inv.status();
  EXPECT_THAT(inv->command_flags, IsEmpty());
  EXPECT_THAT(inv->global_flags, IsEmpty());
  EXPECT_THAT(inv->arguments, ElementsAre("prog", "--wait", "--as=root",
                                          "--server=x", "--", "-x"));
}

TEST(SplitCommandLineTest, DoubleDashAllowsProgramStartingWithDash) {
  absl::StatusOr<Invocation> inv = Split({"run", "--", "--weird-prog", "-v"});
  ASSERT_TRUE(inv.ok()) << inv.status();
  EXPECT_THAT(inv->arguments, ElementsAre("--weird-prog", "-v"));
}

TEST(SplitCommandLineTest, RunFlagsBeforeProgramAreCommandFlags) {
  absl::StatusOr<Invocation> inv =
      Split({"run", "--as=bob", "--wait", "--env", "A=1", "--env=B=2=3",
             "--workdir", "/tmp", "env"});
  ASSERT_TRUE(inv.ok()) << inv.status();
  EXPECT_THAT(
      inv->command_flags,
      ElementsAre(Flag("as", "bob"), Flag("wait", "true"), Flag("env", "A=1"),
                  Flag("env", "B=2=3"), Flag("workdir", "/tmp")));
  EXPECT_THAT(inv->arguments, ElementsAre("env"));
}

TEST(SplitCommandLineTest, GlobalFlagsBeforeCommand) {
  absl::StatusOr<Invocation> inv =
      Split({"--server=h:1", "--cert", "c.pem", "-key=k.pem", "list"});
  ASSERT_TRUE(inv.ok()) << inv.status();
  EXPECT_THAT(inv->global_flags,
              ElementsAre(Flag("server", "h:1"), Flag("cert", "c.pem"),
                          Flag("key", "k.pem")));
  EXPECT_EQ(inv->command, "list");
}

TEST(SplitCommandLineTest, NegatedBooleanFlag) {
  absl::StatusOr<Invocation> inv = Split({"get-output", "--nofollow", "id1"});
  ASSERT_TRUE(inv.ok()) << inv.status();
  EXPECT_THAT(inv->command_flags, ElementsAre(Flag("follow", "false")));
  EXPECT_THAT(inv->arguments, ElementsAre("id1"));
}

TEST(SplitCommandLineTest, BooleanFlagWithExplicitValue) {
  absl::StatusOr<Invocation> inv =
      Split({"get-output", "--follow=false", "id1"});
  ASSERT_TRUE(inv.ok()) << inv.status();
  EXPECT_THAT(inv->command_flags, ElementsAre(Flag("follow", "false")));
}

TEST(SplitCommandLineTest, FlagsMayFollowTheIdOfOtherCommands) {
  absl::StatusOr<Invocation> inv = Split({"stop", "id1", "--grace=1m30s"});
  ASSERT_TRUE(inv.ok()) << inv.status();
  EXPECT_THAT(inv->command_flags, ElementsAre(Flag("grace", "1m30s")));
  EXPECT_THAT(inv->arguments, ElementsAre("id1"));
}

TEST(SplitCommandLineTest, SeparateValueMayLookLikeAFlag) {
  absl::StatusOr<Invocation> inv = Split({"stop", "--grace", "-1s", "id1"});
  ASSERT_TRUE(inv.ok()) << inv.status();
  EXPECT_THAT(inv->command_flags, ElementsAre(Flag("grace", "-1s")));
}

TEST(SplitCommandLineTest, CommandFlagBeforeCommandIsUsageErrorNamingPlace) {
  absl::StatusOr<Invocation> inv = Split({"--wait", "run", "ls"});
  ASSERT_FALSE(inv.ok());
  EXPECT_EQ(inv.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(inv.status().message(), HasSubstr("--wait"));
  EXPECT_THAT(inv.status().message(), HasSubstr("after the command"));
}

TEST(SplitCommandLineTest, GlobalFlagAfterCommandIsUsageErrorNamingPlace) {
  absl::StatusOr<Invocation> inv = Split({"list", "--server=x:1"});
  ASSERT_FALSE(inv.ok());
  EXPECT_THAT(inv.status().message(), HasSubstr("before the command"));
  EXPECT_THAT(inv.status().message(), HasSubstr("usage: cmdctl list"));
}

TEST(SplitCommandLineTest, UnknownFlagIsUsageError) {
  absl::StatusOr<Invocation> inv = Split({"run", "--bogus", "ls"});
  ASSERT_FALSE(inv.ok());
  EXPECT_THAT(inv.status().message(), HasSubstr("unknown flag --bogus"));
}

TEST(SplitCommandLineTest, NonBooleanFlagWithoutValueIsUsageError) {
  absl::StatusOr<Invocation> inv = Split({"stop", "id1", "--grace"});
  ASSERT_FALSE(inv.ok());
  EXPECT_THAT(inv.status().message(), HasSubstr("--grace needs a value"));
}

TEST(SplitCommandLineTest, NoNegationForNonBooleanFlags) {
  absl::StatusOr<Invocation> inv = Split({"stop", "--nograce", "id1"});
  ASSERT_FALSE(inv.ok());
  EXPECT_THAT(inv.status().message(), HasSubstr("unknown flag --nograce"));
}

TEST(SplitCommandLineTest, MissingCommandIsUsageError) {
  EXPECT_EQ(Split({}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Split({"--server=x"}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(SplitCommandLineTest, UnknownCommandIsUsageError) {
  absl::StatusOr<Invocation> inv = Split({"start", "ls"});
  ASSERT_FALSE(inv.ok());
  EXPECT_THAT(inv.status().message(), HasSubstr("unknown command 'start'"));
}

TEST(SplitCommandLineTest, MissingProgramIsUsageError) {
  absl::StatusOr<Invocation> inv = Split({"run", "--wait"});
  ASSERT_FALSE(inv.ok());
  EXPECT_THAT(inv.status().message(), HasSubstr("missing PROGRAM"));
}

TEST(SplitCommandLineTest, WrongArgumentCountIsUsageError) {
  EXPECT_THAT(Split({"stop"}).status().message(), HasSubstr("missing job ID"));
  EXPECT_THAT(Split({"stop", "a", "b"}).status().message(),
              HasSubstr("unexpected 'b'"));
  EXPECT_THAT(Split({"list", "x"}).status().message(),
              HasSubstr("unexpected 'x'"));
}

TEST(SplitCommandLineTest, HelpForTheTool) {
  for (const auto& argv : std::vector<std::vector<std::string>>{
           {"--help"}, {"-h"}, {"-help"}, {"help"}}) {
    absl::StatusOr<Invocation> inv = Split(argv);
    ASSERT_TRUE(inv.ok()) << inv.status();
    EXPECT_TRUE(inv->help);
    EXPECT_EQ(inv->command, "");
  }
}

TEST(SplitCommandLineTest, HelpForACommandSkipsArgumentChecks) {
  for (const auto& argv :
       std::vector<std::vector<std::string>>{{"run", "--help"},
                                             {"help", "run"},
                                             {"--help", "run"},
                                             {"run", "-h"}}) {
    absl::StatusOr<Invocation> inv = Split(argv);
    ASSERT_TRUE(inv.ok()) << inv.status();
    EXPECT_TRUE(inv->help);
    EXPECT_EQ(inv->command, "run");
  }
  absl::StatusOr<Invocation> inv = Split({"stop", "--help"});
  ASSERT_TRUE(inv.ok()) << inv.status();
  EXPECT_TRUE(inv->help);
}

TEST(SplitCommandLineTest, HelpForUnknownCommandIsUsageError) {
  EXPECT_FALSE(Split({"help", "nope"}).ok());
}

TEST(SplitCommandLineTest, VersionFlagIsTheVersionCommand) {
  for (const auto& argv : std::vector<std::vector<std::string>>{
           {"--version"}, {"-version"}, {"--server=x:1", "--version"}}) {
    absl::StatusOr<Invocation> inv = Split(argv);
    ASSERT_TRUE(inv.ok()) << inv.status();
    EXPECT_EQ(inv->command, "version");
    EXPECT_FALSE(inv->help);
  }
  // Only before the command: after it, --version is no flag of run's.
  EXPECT_FALSE(Split({"stop", "--version", "id1"}).ok());
}

TEST(SplitCommandLineTest, MistypedCommandOrFlagGetsTheNearestSuggested) {
  EXPECT_THAT(Split({"stpo", "id1"}).status().message(),
              HasSubstr("unknown command 'stpo' (did you mean stop?)"));
  EXPECT_THAT(Split({"run", "--wiat", "ls"}).status().message(),
              HasSubstr("unknown flag --wiat: 'run' does not take it (did you "
                        "mean --wait?)"));
  EXPECT_THAT(Split({"--sever=x:1", "list"}).status().message(),
              HasSubstr("(did you mean --server?)"));
  EXPECT_THAT(Split({"frobnicate"}).status().message(),
              Not(HasSubstr("did you mean")));
}

TEST(SplitCommandLineTest, SeparateBooleanValueIsExplained) {
  absl::StatusOr<Invocation> inv =
      Split({"get-output", "--follow", "false", "id1"});
  ASSERT_FALSE(inv.ok());
  EXPECT_THAT(inv.status().message(),
              HasSubstr("--follow takes its value after '=': --follow=false"));
  // For run, the word after the flags is PROGRAM: /bin/false is one.
  absl::StatusOr<Invocation> run = Split({"run", "--wait", "false"});
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_THAT(run->arguments, ElementsAre("false"));
}

TEST(ScanFlagsTest, StopModeKeepsEverythingFromFirstArgument) {
  const std::vector<std::string> args{"--wait", "a", "--wait", "-", "b"};
  absl::StatusOr<FlagScan> scan =
      ScanFlags(args, {{"wait", true}}, ScanMode::kStopAtFirstArgument);
  ASSERT_TRUE(scan.ok()) << scan.status();
  EXPECT_THAT(scan->flags, ElementsAre(Flag("wait", "true")));
  EXPECT_THAT(scan->arguments, ElementsAre("a", "--wait", "-", "b"));
}

TEST(ScanFlagsTest,
     InterspersedModeTreatsLoneDashAsArgumentAndStopsAtDoubleDash) {
  const std::vector<std::string> args{"-", "--wait", "--", "--wait"};
  absl::StatusOr<FlagScan> scan =
      ScanFlags(args, {{"wait", true}}, ScanMode::kInterspersed);
  ASSERT_TRUE(scan.ok()) << scan.status();
  EXPECT_THAT(scan->flags, ElementsAre(Flag("wait", "true")));
  EXPECT_THAT(scan->arguments, ElementsAre("-", "--wait"));
}

TEST(ScanFlagsTest, EmptyValueIsKept) {
  const std::vector<std::string> args{"--as="};
  absl::StatusOr<FlagScan> scan =
      ScanFlags(args, {{"as", false}}, ScanMode::kInterspersed);
  ASSERT_TRUE(scan.ok()) << scan.status();
  EXPECT_THAT(scan->flags, ElementsAre(Flag("as", "")));
}

TEST(ScanFlagsTest, TripleDashIsMalformed) {
  const std::vector<std::string> args{"---as=x"};
  EXPECT_FALSE(ScanFlags(args, {{"as", false}}, ScanMode::kInterspersed).ok());
}

}  // namespace
}  // namespace cmdctl::cli

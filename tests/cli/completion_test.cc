#include "cli/completion.h"

#include "cli/command_table.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cmdctl::cli {
namespace {

using ::testing::HasSubstr;

TEST(CompletionScriptTest, BothShellsKnowEveryCommandAliasAndFlag) {
  for (const char* shell : {"bash", "zsh"}) {
    absl::StatusOr<std::string> script = CompletionScript(shell);
    ASSERT_TRUE(script.ok()) << shell;
    for (const Command& c : Commands()) {
      EXPECT_THAT(*script, HasSubstr(c.name)) << shell;
      for (const std::string& alias : c.aliases) {
        EXPECT_THAT(*script, HasSubstr(alias)) << shell;
      }
      for (const std::string& flag : c.flags) {
        EXPECT_THAT(*script, HasSubstr("--" + flag)) << shell;
      }
    }
    EXPECT_THAT(*script, HasSubstr("cmdctl list")) << shell;  // job IDs
  }
  EXPECT_THAT(*CompletionScript("bash"),
              HasSubstr("complete -F _cmdctl cmdctl"));
  EXPECT_THAT(*CompletionScript("zsh"), HasSubstr("#compdef cmdctl"));
}

TEST(CompletionScriptTest, OtherShellsAreAUsageError) {
  EXPECT_EQ(CompletionScript("fish").status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace cmdctl::cli

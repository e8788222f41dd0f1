// --help of the other tools a user meets first (issue 13): cmdctld lists its
// own flags before the logging library's, and ci/dev-pki.sh --help is not
// an error.
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "integration_tests/cli/cli_harness.h"

namespace cmdctl::test {
namespace {

using ::testing::HasSubstr;

TEST(ToolsHelpTest, CmdctldListsItsOwnFlagsFirst) {
  ProcessResult r = RunProcess({CMDCTLD_BIN, "--help"}, {"PATH=/usr/bin:/bin"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const std::string& help = r.out;
  // gflags' format: "    -listen (description) type: string ...".
  const size_t own = help.find(" -listen (");
  const size_t stop_grace = help.find(" -stop_grace (");
  const size_t logging = help.find(" -logtostderr (");
  ASSERT_NE(own, std::string::npos) << help;
  ASSERT_NE(stop_grace, std::string::npos) << help;
  ASSERT_NE(logging, std::string::npos) << help;
  EXPECT_LT(own, logging);
  EXPECT_LT(stop_grace, logging);
  EXPECT_LT(help.find("Usage: cmdctld"), own);
}

TEST(ToolsHelpTest, DevPkiHelpIsNotAnError) {
  ProcessResult r =
      RunProcess({"/bin/bash", DEV_PKI_SH, "--help"}, {"PATH=/usr/bin:/bin"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("Usage:"));
  // A wrong call still is one.
  EXPECT_EQ(
      RunProcess({"/bin/bash", DEV_PKI_SH, "bogus"}, {"PATH=/usr/bin:/bin"})
          .exit_code,
      2);
}

}  // namespace
}  // namespace cmdctl::test

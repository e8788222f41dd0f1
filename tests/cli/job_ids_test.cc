#include "cli/job_ids.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cmdctl::cli {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr char kId[] = "3f2a9c1e-0b1d-4c2e-9f3a-5b6c7d8e9f01";

TEST(CheckJobIdArgumentTest, AcceptsWholeIdsAndPrefixesInLowerCase) {
  EXPECT_EQ(CheckJobIdArgument(kId).value_or(""), kId);
  EXPECT_EQ(CheckJobIdArgument("3F2A").value_or(""), "3f2a");
  EXPECT_EQ(CheckJobIdArgument("3f2a9c1e-0b").value_or(""), "3f2a9c1e-0b");
}

TEST(CheckJobIdArgumentTest, RejectsWhatCannotBeAnIdBeforeAnyCall) {
  for (const std::string& text :
       {std::string(""), std::string("id"), std::string("3f2a xyz"),
        std::string("3f2a9c1e-0b1d-4c2e-9f3a-5b6c7d8e9f01a"),
        std::string("../etc"), std::string("3f2a\n")}) {
    absl::StatusOr<std::string> id = CheckJobIdArgument(text);
    EXPECT_EQ(id.status().code(), absl::StatusCode::kInvalidArgument) << text;
  }
  EXPECT_THAT(CheckJobIdArgument("3f2a\033[31m").status().message(),
              HasSubstr("'3f2a\\033[31m' is not a job ID"));
}

TEST(IsWholeJobIdTest, OnlyTheCanonicalForm) {
  EXPECT_TRUE(IsWholeJobId(kId));
  EXPECT_FALSE(IsWholeJobId("3f2a9c1e"));
  EXPECT_FALSE(IsWholeJobId("3f2a9c1e00b1d-4c2e-9f3a-5b6c7d8e9f01"));
  EXPECT_FALSE(IsWholeJobId("3F2A9C1E-0B1D-4C2E-9F3A-5B6C7D8E9F01"));
}

TEST(IdsWithPrefixTest, MatchesFromTheStart) {
  const std::vector<std::string> ids{"ab12", "ab34", "cd56"};
  EXPECT_THAT(IdsWithPrefix("ab", ids), ElementsAre("ab12", "ab34"));
  EXPECT_THAT(IdsWithPrefix("ab3", ids), ElementsAre("ab34"));
  EXPECT_THAT(IdsWithPrefix("b", ids), IsEmpty());
}

}  // namespace
}  // namespace cmdctl::cli

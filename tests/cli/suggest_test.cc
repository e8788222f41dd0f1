#include "cli/suggest.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cmdctl::cli {
namespace {

const std::vector<std::string> kCommands{"run",  "get-output", "get-status",
                                         "stop", "wait",       "list"};

TEST(NearestNameTest, SuggestsForTypos) {
  EXPECT_EQ(NearestName("get-stauts", kCommands), "get-status");
  EXPECT_EQ(NearestName("get-outptu", kCommands), "get-output");
  EXPECT_EQ(NearestName("lsit", kCommands), "list");
  EXPECT_EQ(NearestName("stpo", kCommands), "stop");
  EXPECT_EQ(NearestName("wiat", {"as", "wait", "workdir", "env"}), "wait");
}

TEST(NearestNameTest, NothingForUnrelatedWords) {
  EXPECT_EQ(NearestName("frobnicate", kCommands), std::nullopt);
  EXPECT_EQ(NearestName("x", kCommands), std::nullopt);
  EXPECT_EQ(NearestName("", kCommands), std::nullopt);
}

}  // namespace
}  // namespace cmdctl::cli

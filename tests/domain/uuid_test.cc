// FormatUuidV4 / IsUuidV4: RFC 4122 version 4 ids, lower-case 8-4-4-4-12.
#include "domain/uuid.h"

#include <array>
#include <cstdint>
#include <random>
#include <set>
#include <string>

#include "gtest/gtest.h"

namespace cmdctl {
namespace {

std::array<uint8_t, 16> Filled(uint8_t b) {
  std::array<uint8_t, 16> a;
  a.fill(b);
  return a;
}

int HexValue(char c) { return c <= '9' ? c - '0' : c - 'a' + 10; }

// Parses a formatted id back into its 16 bytes.
std::array<uint8_t, 16> Parse(const std::string& s) {
  std::array<uint8_t, 16> out{};
  size_t byte = 0;
  for (size_t i = 0; i + 1 < s.size() && byte < 16;) {
    if (s[i] == '-') {
      ++i;
      continue;
    }
    out[byte++] =
        static_cast<uint8_t>(HexValue(s[i]) * 16 + HexValue(s[i + 1]));
    i += 2;
  }
  return out;
}

TEST(UuidTest, AllZeroBytesGetVersionFourAndVariantTen) {
  EXPECT_EQ(FormatUuidV4(Filled(0x00)), "00000000-0000-4000-8000-000000000000");
}

TEST(UuidTest, AllOneBytesGetVersionAndVariantBitsCleared) {
  EXPECT_EQ(FormatUuidV4(Filled(0xff)), "ffffffff-ffff-4fff-bfff-ffffffffffff");
}

TEST(UuidTest, BytesAreFormattedInOrderAsLowerCaseHexGroups) {
  std::array<uint8_t, 16> bytes;
  for (int i = 0; i < 16; ++i) bytes[i] = static_cast<uint8_t>(i * 0x11);
  // Byte 6 (0x66) keeps its low nibble under the version; byte 8 (0x88) keeps
  // its low six bits under the variant.
  EXPECT_EQ(FormatUuidV4(bytes), "00112233-4455-4677-8899-aabbccddeeff");
}

TEST(UuidTest, FormattingKeepsEveryBitExceptVersionAndVariant) {
  std::mt19937 rng(42);
  std::set<std::string> seen;
  for (int n = 0; n < 1000; ++n) {
    std::array<uint8_t, 16> bytes;
    for (auto& b : bytes) b = static_cast<uint8_t>(rng());
    const std::string id = FormatUuidV4(bytes);
    ASSERT_TRUE(IsUuidV4(id)) << id;
    const std::array<uint8_t, 16> back = Parse(id);
    for (int i = 0; i < 16; ++i) {
      uint8_t want = bytes[i];
      if (i == 6) want = static_cast<uint8_t>((want & 0x0f) | 0x40);
      if (i == 8) want = static_cast<uint8_t>((want & 0x3f) | 0x80);
      ASSERT_EQ(back[i], want) << id << " byte " << i;
    }
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(UuidTest, IsUuidV4AcceptsWellFormedIds) {
  EXPECT_TRUE(IsUuidV4("123e4567-e89b-42d3-a456-426614174000"));
  EXPECT_TRUE(IsUuidV4("00000000-0000-4000-8000-000000000000"));
  EXPECT_TRUE(IsUuidV4("ffffffff-ffff-4fff-9fff-ffffffffffff"));
  EXPECT_TRUE(IsUuidV4("ffffffff-ffff-4fff-afff-ffffffffffff"));
}

TEST(UuidTest, IsUuidV4RejectsOtherVersions) {
  EXPECT_FALSE(IsUuidV4("123e4567-e89b-12d3-a456-426614174000"));
  EXPECT_FALSE(IsUuidV4("123e4567-e89b-52d3-a456-426614174000"));
  EXPECT_FALSE(IsUuidV4("123e4567-e89b-02d3-a456-426614174000"));
}

TEST(UuidTest, IsUuidV4RejectsOtherVariants) {
  EXPECT_FALSE(IsUuidV4("123e4567-e89b-42d3-7456-426614174000"));
  EXPECT_FALSE(IsUuidV4("123e4567-e89b-42d3-c456-426614174000"));
  EXPECT_FALSE(IsUuidV4("123e4567-e89b-42d3-f456-426614174000"));
}

TEST(UuidTest, IsUuidV4RejectsMalformedText) {
  EXPECT_FALSE(IsUuidV4(""));
  EXPECT_FALSE(IsUuidV4("123E4567-E89B-42D3-A456-426614174000"));   // upper
  EXPECT_FALSE(IsUuidV4("123e4567e89b42d3a456426614174000"));       // no dashes
  EXPECT_FALSE(IsUuidV4("123e4567-e89b-42d3-a456-42661417400"));    // short
  EXPECT_FALSE(IsUuidV4("123e4567-e89b-42d3-a456-4266141740000"));  // long
  EXPECT_FALSE(IsUuidV4("123e456-7e89b-42d3-a456-426614174000"));  // dash moved
  EXPECT_FALSE(IsUuidV4("123e4567-e89b-42d3-a456-42661417400g"));  // not hex
  EXPECT_FALSE(IsUuidV4("{23e4567-e89b-42d3-a456-426614174000"));
  EXPECT_FALSE(IsUuidV4("123e4567-e89b-42d3-a456-42661417400\n"));
  EXPECT_FALSE(
      IsUuidV4(std::string("123e4567-e89b-42d3-a456-42661417400\0", 36)));
  EXPECT_FALSE(IsUuidV4("../../../../etc/passwd-0000-4000-8000"));
}

}  // namespace
}  // namespace cmdctl

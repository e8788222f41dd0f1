// Sizes and CPU counts as users write them (SPEC §7).
#include "common/units.h"

#include "gtest/gtest.h"
#include "tests/support/status_assert.h"

namespace cmdctl {
namespace {

TEST(UnitsTest, SizesArePowersOf1024) {
  EXPECT_EQ(ParseByteSize("0", "x").value(), 0);
  EXPECT_EQ(ParseByteSize("4096", "x").value(), 4096);
  EXPECT_EQ(ParseByteSize("512K", "x").value(), 512 * 1024);
  EXPECT_EQ(ParseByteSize("512M", "x").value(), int64_t{512} << 20);
  EXPECT_EQ(ParseByteSize("2G", "x").value(), int64_t{2} << 30);
  EXPECT_EQ(ParseByteSize("1t", "x").value(), int64_t{1} << 40);
  EXPECT_EQ(ParseByteSize("10Mi", "x").value(), int64_t{10} << 20);
  EXPECT_EQ(ParseByteSize("10MiB", "x").value(), int64_t{10} << 20);
  EXPECT_EQ(ParseByteSize("10mb", "x").value(), int64_t{10} << 20);
  EXPECT_EQ(ParseByteSize("1.5G", "x").value(), int64_t{3} << 29);
}

TEST(UnitsTest, MalformedSizesNameTheFlag) {
  for (const char* bad : {"", "-1", "12Q", "M", "1.", ".", "1.5", "1e9",
                          "99999999999T", "1 G", "0x10"}) {
    absl::StatusOr<int64_t> size = ParseByteSize(bad, "--memory");
    EXPECT_EQ(size.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(size.status().message().find("--memory"), std::string::npos);
  }
}

TEST(UnitsTest, CpusAreMillicores) {
  EXPECT_EQ(ParseCpuMillicores("1", "x").value(), 1000);
  EXPECT_EQ(ParseCpuMillicores("1.5", "x").value(), 1500);
  EXPECT_EQ(ParseCpuMillicores("0.25", "x").value(), 250);
  EXPECT_EQ(ParseCpuMillicores(".5", "x").value(), 500);
  EXPECT_EQ(ParseCpuMillicores("2.125", "x").value(), 2125);
  for (const char* bad : {"", "-1", "1.2345", "one", "1,5", "1."}) {
    EXPECT_EQ(ParseCpuMillicores(bad, "--cpus").status().code(),
              absl::StatusCode::kInvalidArgument)
        << bad;
  }
}

TEST(UnitsTest, FormatsRoundTrip) {
  EXPECT_EQ(FormatByteSize(0), "0");
  EXPECT_EQ(FormatByteSize(512 << 20), "512M");
  EXPECT_EQ(FormatByteSize(int64_t{3} << 29), "1.5G");
  EXPECT_EQ(FormatByteSize(1000), "1000");
  EXPECT_EQ(FormatCpus(1500), "1.5");
  EXPECT_EQ(FormatCpus(2000), "2");
  EXPECT_EQ(FormatCpus(125), "0.125");
}

}  // namespace
}  // namespace cmdctl

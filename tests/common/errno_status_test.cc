#include "common/errno_status.h"

#include <cerrno>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cmdctl {
namespace {

using ::testing::HasSubstr;

TEST(ErrnoStatusTest, RequestErrnosKeepTheirMeaning) {
  EXPECT_EQ(ErrnoStatus(ENOENT, "x").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(ErrnoStatus(EACCES, "x").code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ErrnoStatus(EINVAL, "x").code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ErrnoStatus(EEXIST, "x").code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(ErrnoStatus(EIO, "x").code(), absl::StatusCode::kInternal);
}

TEST(ErrnoStatusTest, ResourceErrnosAreResourceExhaustedWhateverTheCause) {
  for (int err : {EMFILE, ENFILE, ENOMEM, EAGAIN, ENOSPC, EDQUOT, ENOBUFS}) {
    EXPECT_TRUE(IsResourceErrno(err)) << err;
    EXPECT_EQ(ErrnoStatus(err, "x").code(),
              absl::StatusCode::kResourceExhausted);
    EXPECT_EQ(ErrnoStatus(err, "x", ErrnoCause::kMachinery).code(),
              absl::StatusCode::kResourceExhausted);
  }
  EXPECT_FALSE(IsResourceErrno(ENOENT));
}

TEST(ErrnoStatusTest, MachineryErrnosAreInternalNotTheCallersFault) {
  EXPECT_EQ(ErrnoStatus(ENOENT, "x", ErrnoCause::kMachinery).code(),
            absl::StatusCode::kInternal);
  EXPECT_EQ(ErrnoStatus(EACCES, "x", ErrnoCause::kMachinery).code(),
            absl::StatusCode::kInternal);
}

TEST(ErrnoStatusTest, MessageNamesTheOperationAndTheErrno) {
  EXPECT_THAT(ErrnoStatus(ENOENT, "opening /x").message(),
              HasSubstr("opening /x: No such file or directory"));
  EXPECT_EQ(ErrnoText(EMFILE), "Too many open files");
}

TEST(ErrnoStatusTest, ResourceErrorsNameTheResource) {
  EXPECT_EQ(ErrnoStatus(EMFILE, "socketpair", ErrnoCause::kMachinery).message(),
            "socketpair: Too many open files (EMFILE)");
  EXPECT_THAT(ErrnoStatus(ENFILE, "x").message(), HasSubstr("(ENFILE)"));
  EXPECT_THAT(ErrnoStatus(ENOMEM, "x").message(), HasSubstr("(ENOMEM)"));
  EXPECT_THAT(ErrnoStatus(EAGAIN, "x").message(), HasSubstr("(EAGAIN)"));
  EXPECT_EQ(ErrnoStatus(ENOENT, "x").message(), "x: No such file or directory");
}

}  // namespace
}  // namespace cmdctl

#include "common/file_util.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <string>

#include "gtest/gtest.h"
#include "tests/support/status_assert.h"

namespace cmdctl {
namespace {

class FileUtilTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/cmdctl-file-util-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    unlink((dir_ + "/f").c_str());
    rmdir(dir_.c_str());
  }
  std::string Write(const std::string& data) {
    const std::string path = dir_ + "/f";
    UniqueFd fd(
        open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    EXPECT_TRUE(WriteAll(fd.get(), data));
    return path;
  }
  std::string dir_;
};

TEST_F(FileUtilTest, ReadsAWholeFileBinarySafe) {
  std::string data(100000, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i);
  const std::string path = Write(data);
  absl::StatusOr<std::string> read = ReadFileToString(AT_FDCWD, path);
  ASSERT_OK(read);
  EXPECT_EQ(*read, data);
}

TEST_F(FileUtilTest, MissingFileIsNotFoundNamingThePath) {
  absl::StatusOr<std::string> read =
      ReadFileToString(AT_FDCWD, dir_ + "/missing");
  EXPECT_EQ(read.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(read.status().message().find(dir_ + "/missing"), std::string::npos);
}

TEST_F(FileUtilTest, FileOverTheLimitIsInvalidArgument) {
  const std::string path = Write(std::string(5000, 'x'));
  EXPECT_EQ(ReadFileToString(AT_FDCWD, path, 4096).status().code(),
            absl::StatusCode::kInvalidArgument);
  ASSERT_OK(ReadFileToString(AT_FDCWD, path, 5000));
}

TEST_F(FileUtilTest, PreadAllIgnoresTheFilePosition) {
  const std::string path = Write("hello");
  absl::StatusOr<UniqueFd> fd = OpenAt(AT_FDCWD, path, O_RDONLY);
  ASSERT_OK(fd);
  ASSERT_EQ(lseek(fd->get(), 3, SEEK_SET), 3);
  absl::StatusOr<std::string> data = PreadAll(fd->get());
  ASSERT_OK(data);
  EXPECT_EQ(*data, "hello");
}

TEST_F(FileUtilTest, OpenAtSetsCloseOnExec) {
  const std::string path = Write("x");
  absl::StatusOr<UniqueFd> fd = OpenAt(AT_FDCWD, path, O_RDONLY);
  ASSERT_OK(fd);
  EXPECT_TRUE(fcntl(fd->get(), F_GETFD) & FD_CLOEXEC);
}

}  // namespace
}  // namespace cmdctl

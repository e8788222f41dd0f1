// The fixture of the OutputCursor tests: one job on a fake host.
#ifndef CMDCTL_TESTS_DOMAIN_OUTPUT_CURSOR_FIXTURE_H_
#define CMDCTL_TESTS_DOMAIN_OUTPUT_CURSOR_FIXTURE_H_

#include <memory>
#include <string>

#include "domain/output_cursor.h"
#include "gtest/gtest.h"
#include "tests/domain/domain_test_support.h"
#include "tests/fakes/fake_process_host.h"

namespace cmdctl::test {

inline constexpr size_t kBig = 64 * 1024;

class OutputCursorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ProcessSpec spec;
    spec.job_id = "job-1";
    spec.program = "prog";
    spec.run_as = "alice";
    job_ = std::make_shared<Job>("job-1", "alice", spec, host_.Now());
    ASSERT_TRUE(host_.Start(spec, job_).ok());
  }

  std::unique_ptr<OutputCursor> Open(bool follow = true,
                                     size_t chunk_bytes = kBig) {
    auto cursor = OpenCursor(job_, &host_, follow, chunk_bytes);
    EXPECT_TRUE(cursor.ok()) << cursor.status();
    return cursor.ok() ? *std::move(cursor) : nullptr;
  }
  void Out(const std::string& s) {
    ASSERT_TRUE(host_.AppendOutput("job-1", OutputStream::kStdout, s));
  }
  void Err(const std::string& s) {
    ASSERT_TRUE(host_.AppendOutput("job-1", OutputStream::kStderr, s));
  }
  void End(int code = 0) { host_.Exit("job-1", ExitInfo::Exited(code)); }

  FakeProcessHost host_;
  std::shared_ptr<Job> job_;
};

}  // namespace cmdctl::test

#endif  // CMDCTL_TESTS_DOMAIN_OUTPUT_CURSOR_FIXTURE_H_

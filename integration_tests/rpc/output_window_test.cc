// The output window (SPEC §6), end to end: offsets and resume, tail, the
// output cap (newest bytes kept, disk bounded, the job never blocked), and
// the owner's truncation or replacement of its files (DATA_LOSS, never
// another file's bytes).
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "integration_tests/rpc/cmdctld_fixture.h"

namespace cmdctl {
namespace {

using it::CmdctldTest;
using it::fixture;
using it::kBound;

constexpr int64_t kCap = 1 << 20;

std::string Seq(int from, int to) {
  std::string out;
  for (int i = from; i <= to; ++i) absl::StrAppend(&out, i, "\n");
  return out;
}

class CmdctldOutputWindowTest : public CmdctldTest {
 protected:
  void SetUp() override {
    CmdctldTest::SetUp();
    ASSERT_EQ(chmod(shared_.path().c_str(), 0777), 0);  // jobs see flags
  }
  test::TempDir shared_;
  std::string StdoutPath(const std::string& id) {
    return absl::StrCat(work_.path(), "/out/", id, "/stdout");
  }

  struct Message {
    v1::OutputStream stream;
    int64_t offset;
    std::string data;
  };
  struct Stream {
    std::vector<Message> messages;
    grpc::Status status;
  };
  Stream Read(v1::ProcessService::Stub* stub,
              const v1::ProcessOutputRequest& request) {
    auto context = Context();
    auto reader = stub->GetProcessOutput(context.get(), request);
    Stream out;
    v1::ProcessOutputResponse m;
    while (reader->Read(&m)) {
      out.messages.push_back({m.stream(), m.offset(), m.data()});
    }
    out.status = reader->Finish();
    return out;
  }
  static std::string Stdout(const Stream& s) {
    std::string out;
    for (const Message& m : s.messages) {
      if (m.stream == v1::OUTPUT_STREAM_STDOUT) out += m.data;
    }
    return out;
  }
};

TEST_F(CmdctldOutputWindowTest, MessagesCarryOffsetsAndAReaderResumesExactly) {
  auto alice = Stub(fixture->alice);
  const std::string want = Seq(1, 20000);  // > one message
  const std::string id = Run(alice.get(), "seq", {"1", "20000"});
  WaitForEnd(alice.get(), id);
  v1::ProcessOutputRequest request;
  request.set_job_id(id);
  Stream all = Read(alice.get(), request);
  ASSERT_TRUE(all.status.ok()) << all.status.error_message();
  ASSERT_GT(all.messages.size(), 1u);
  int64_t next = 0;
  for (const Message& m : all.messages) {
    EXPECT_EQ(m.offset, next);
    next += static_cast<int64_t>(m.data.size());
  }
  EXPECT_EQ(Stdout(all), want);
  // Resume in the middle: exactly the rest.
  request.set_stdout_offset(12345);
  Stream rest = Read(alice.get(), request);
  ASSERT_TRUE(rest.status.ok());
  EXPECT_EQ(rest.messages.front().offset, 12345);
  EXPECT_EQ(Stdout(rest), want.substr(12345));
  // Past the end of an ended job: OUT_OF_RANGE.
  request.set_stdout_offset(static_cast<int64_t>(want.size()) + 1);
  EXPECT_EQ(Read(alice.get(), request).status.error_code(),
            grpc::StatusCode::OUT_OF_RANGE);
  request.set_stdout_offset(-1);
  EXPECT_EQ(Read(alice.get(), request).status.error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  request.set_stdout_offset(5);
  request.set_tail_lines(3);
  EXPECT_EQ(Read(alice.get(), request).status.error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(CmdctldOutputWindowTest, TailStartsAtTheLastLinesOfEachStream) {
  auto alice = Stub(fixture->alice);
  const std::string id =
      Run(alice.get(), "/bin/sh",
          {"-c", "seq 1 100000; echo e1 >&2; echo e2 >&2; printf 'no-nl' >&2"});
  WaitForEnd(alice.get(), id);
  v1::ProcessOutputRequest request;
  request.set_job_id(id);
  request.set_tail_lines(2);
  Stream tail = Read(alice.get(), request);
  ASSERT_TRUE(tail.status.ok()) << tail.status.error_message();
  std::string err;
  for (const Message& m : tail.messages) {
    if (m.stream == v1::OUTPUT_STREAM_STDERR) err += m.data;
  }
  EXPECT_EQ(Stdout(tail), "99999\n100000\n");
  EXPECT_EQ(err, "e2\nno-nl");
}

TEST_F(CmdctldOutputWindowTest, JobWritingFiveTimesTheCapKeepsTheNewestBytes) {
  KillAndRestart({absl::StrCat("--max_output_bytes=", kCap)});
  auto alice = Stub(fixture->alice);
  // ~5.9 MB of numbered lines: every byte's place can be checked.
  const std::string want = Seq(1, 800000);
  ASSERT_GT(static_cast<int64_t>(want.size()), 5 * kCap);
  const std::string id = Run(alice.get(), "seq", {"1", "800000"});
  // A follower attached throughout.
  v1::ProcessOutputRequest request;
  request.set_job_id(id);
  Stream followed = Read(alice.get(), request);
  ASSERT_TRUE(followed.status.ok()) << followed.status.error_message();
  v1::ProcessStatus status = WaitForEnd(alice.get(), id);
  EXPECT_EQ(status.state(), v1::JOB_STATE_EXITED);
  EXPECT_EQ(status.exit_code(), 0);  // never blocked nor killed for it
  EXPECT_EQ(status.stdout_bytes(), static_cast<int64_t>(want.size()));
  const int64_t first = status.stdout_discarded_bytes();
  EXPECT_GT(first, 0);
  EXPECT_GE(static_cast<int64_t>(want.size()) - first, kCap);
  // The disk holds about the cap, never more than 1.25x it.
  struct stat st;
  ASSERT_EQ(stat(StdoutPath(id).c_str(), &st), 0);
  EXPECT_LE(st.st_blocks * 512, kCap + kCap / 4) << st.st_blocks * 512;
  // The follower got every byte it was sent where it belongs, in order.
  int64_t last_end = 0;
  for (const Message& m : followed.messages) {
    if (m.stream != v1::OUTPUT_STREAM_STDOUT) continue;
    EXPECT_GE(m.offset, last_end);  // gaps only forward
    ASSERT_LE(m.offset + static_cast<int64_t>(m.data.size()),
              static_cast<int64_t>(want.size()));
    EXPECT_EQ(m.data, want.substr(m.offset, m.data.size())) << m.offset;
    last_end = m.offset + static_cast<int64_t>(m.data.size());
  }
  EXPECT_EQ(last_end, static_cast<int64_t>(want.size()));
  // A reader from byte 0 now starts at the first stored byte.
  Stream late = Read(alice.get(), request);
  ASSERT_TRUE(late.status.ok());
  ASSERT_FALSE(late.messages.empty());
  EXPECT_EQ(late.messages.front().offset, first);
  EXPECT_EQ(Stdout(late), want.substr(first));
}

TEST_F(CmdctldOutputWindowTest, OwnersTruncationEndsTheStreamWithDataLoss) {
  auto alice = Stub(fixture->alice);
  const std::string flag = absl::StrCat(shared_.path(), "/end");
  const std::string id =
      Run(alice.get(), "/bin/sh",
          {"-c", absl::StrCat("seq 1 1000; while [ ! -e ", flag,
                              " ]; do sleep 0.05; done")});
  // A follower, caught up and waiting, when the owner truncates the file.
  v1::ProcessOutputRequest request;
  request.set_job_id(id);
  auto context = Context();
  auto reader = alice->GetProcessOutput(context.get(), request);
  std::string got;
  v1::ProcessOutputResponse m;
  while (got.size() < Seq(1, 1000).size() && reader->Read(&m)) got += m.data();
  ASSERT_EQ(got, Seq(1, 1000));
  ASSERT_EQ(truncate(StdoutPath(id).c_str(), 100), 0);
  // A reader arriving now sees a file shorter than the job's output.
  Stream again = Read(alice.get(), request);
  EXPECT_EQ(again.status.error_code(), grpc::StatusCode::DATA_LOSS)
      << again.status.error_message();
  EXPECT_EQ(Stdout(again), "");
  // The follower's stream ends with DATA_LOSS too (when the job ends), never
  // as complete.
  std::ofstream(flag) << "";
  WaitForEnd(alice.get(), id);
  while (reader->Read(&m)) {
  }
  grpc::Status ended = reader->Finish();
  EXPECT_EQ(ended.error_code(), grpc::StatusCode::DATA_LOSS)
      << ended.error_message();
}

TEST_F(CmdctldOutputWindowTest, FileReplacedAfterTheEndIsDataLossNeverServed) {
  auto alice = Stub(fixture->alice);
  const std::string id = Run(alice.get(), "echo", {"job output"});
  WaitForEnd(alice.get(), id);
  // Replaced by another file with the same size, then by a link.
  const std::string path = StdoutPath(id);
  ASSERT_EQ(unlink(path.c_str()), 0);
  std::ofstream(path) << "forged!!!!!\n";
  v1::ProcessOutputRequest request;
  request.set_job_id(id);
  Stream s = Read(alice.get(), request);
  EXPECT_EQ(s.status.error_code(), grpc::StatusCode::DATA_LOSS);
  EXPECT_EQ(Stdout(s), "");
  ASSERT_EQ(unlink(path.c_str()), 0);
  ASSERT_EQ(symlink("/etc/shadow", path.c_str()), 0);
  s = Read(alice.get(), request);
  EXPECT_EQ(s.status.error_code(), grpc::StatusCode::DATA_LOSS);
  EXPECT_EQ(Stdout(s), "");
}

}  // namespace
}  // namespace cmdctl

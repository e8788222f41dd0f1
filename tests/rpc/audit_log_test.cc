// AuditLine (SPEC §4): the fields of an audit line, and that no value a
// client sends can end the line or forge another one, as glog writes it
// (captured with a LogSink). No gRPC: runs in every sanitizer build.
#include "rpc/audit_log.h"

#include <glog/logging.h>

#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/rpc/log_capture.h"

namespace cmdctl::test {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// What an attacker would put in a field to make the log show a second,
// made-up request: end the line, then write one that looks like ours.
const std::string kForgery =
    "x\"\nI0101 00:00:00.000000  1 audit_log.cc:1] audit identity=\"root\" "
    "method=RunProcess job_id=\"\" result=OK\r\x1b[2K";

TEST(AuditLineTest, FormatsEveryFieldInOrder) {
  AuditLine line("RunProcess", "ipv4:127.0.0.1:4242");
  line.set_identity("alice");
  line.set_job_id("6f9619ff-8b86-4011-b42d-00cf4fc964ff");
  line.SetText("run_as", "svc");
  line.SetText("command", "ls");
  line.SetTextList("args", std::vector<std::string>{"-la", "two words"});
  line.SetNumber("count", 3);
  EXPECT_EQ(line.Format(absl::StatusCode::kOk),
            "audit identity=\"alice\" method=RunProcess "
            "job_id=\"6f9619ff-8b86-4011-b42d-00cf4fc964ff\" result=OK "
            "peer=\"ipv4:127.0.0.1:4242\" run_as=\"svc\" command=\"ls\" "
            "args=[\"-la\",\"two words\"] count=3");
}

TEST(AuditLineTest, UnknownCallerAndNoArguments) {
  AuditLine line("ListProcesses", "");
  line.SetTextList("args", std::vector<std::string>{});
  EXPECT_EQ(line.Format(absl::StatusCode::kUnauthenticated),
            "audit identity=\"?\" method=ListProcesses job_id=\"\" "
            "result=UNAUTHENTICATED peer=\"\" args=[]");
}

TEST(AuditLineTest, ClientTextIsEscapedSoItCannotForgeALine) {
  AuditLine line("RunProcess", kForgery);
  line.set_identity(kForgery);
  line.set_job_id(kForgery);
  line.SetText("run_as", kForgery);
  line.SetText("command", kForgery);
  line.SetTextList("args", std::vector<std::string>{"ok", kForgery, "\\\""});

  LogCapture capture;
  line.Log(absl::StatusCode::kPermissionDenied);
  const std::vector<std::string> lines = capture.AuditLines();
  ASSERT_EQ(lines.size(), 1u);
  const std::string& logged = lines[0];
  for (char c : logged) {
    EXPECT_FALSE(static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
        << "control byte " << static_cast<int>(c) << " in: " << logged;
  }
  // The forged request is there only as escaped text inside quotes.
  EXPECT_THAT(logged, Not(HasSubstr("identity=\"root\"")));
  EXPECT_THAT(logged, HasSubstr("identity=\\\"root\\\""));
  EXPECT_THAT(logged, HasSubstr("\\n"));
  EXPECT_THAT(logged, HasSubstr("\\r\\x1b[2K"));
  EXPECT_TRUE(absl::StartsWith(logged, "audit identity=\"x\\\"\\nI0101"))
      << logged;
  EXPECT_THAT(logged, HasSubstr(" result=PERMISSION_DENIED "));
  // A backslash and a quote cannot close the quoting either.
  EXPECT_THAT(logged, HasSubstr(",\"\\\\\\\"\"]"));
}

}  // namespace
}  // namespace cmdctl::test

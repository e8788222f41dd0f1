// Job IDs as users type them (SPEC §7): unique prefixes, several IDs at
// once, malformed ones refused before any call; `wait`; and the job's text
// escaped in list and get-status.
#include <signal.h>
#include <unistd.h>

#include <map>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "integration_tests/cli/cli_fixture.h"

namespace cmdctl::test {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

// All of alice's job ids.
std::vector<std::string> AllIds(
    const std::vector<cmdctl::v1::ProcessStatus>& jobs) {
  std::vector<std::string> ids;
  for (const auto& job : jobs) ids.push_back(job.job_id());
  return ids;
}

class CliIdsTest : public CliTest {
 protected:
  // The shortest prefix of `id` (4 characters at least) no other job of
  // alice's has.
  static std::string UniquePrefix(const std::string& id) {
    const std::vector<std::string> ids = AllIds(AliceJobs());
    for (size_t n = 4; n < id.size(); ++n) {
      const std::string prefix = id.substr(0, n);
      int matches = 0;
      for (const std::string& other : ids)
        matches += other.rfind(prefix, 0) == 0;
      if (matches == 1) return prefix;
    }
    return id;
  }
};

TEST_F(CliIdsTest, AUniquePrefixWorksForEveryCommandThatTakesIds) {
  const std::string id = Start({"sh", "-c", "echo hi; exit 5"});
  AwaitEnd(id);
  const std::string prefix = UniquePrefix(id);
  ASSERT_LT(prefix.size(), id.size());
  ProcessResult status = Cli({"get-status", prefix});
  EXPECT_EQ(status.exit_code, 0) << Describe(status);
  EXPECT_THAT(status.out, HasSubstr("Job:      " + id + "\n"));
  // The alias, and upper case as some UUID printers write it.
  ProcessResult logs = Cli({"logs", absl::AsciiStrToUpper(prefix)});
  EXPECT_EQ(logs.exit_code, 0) << Describe(logs);
  EXPECT_EQ(logs.out, "hi\n");
  EXPECT_EQ(Cli({"wait", prefix}).exit_code, 5);
  ProcessResult stop = Cli({"stop", prefix});
  EXPECT_EQ(stop.exit_code, 0) << Describe(stop);
  EXPECT_EQ(stop.out, "job " + id + ": exited with code 5\n");
}

TEST_F(CliIdsTest, AnAmbiguousPrefixIsAUsageErrorListingTheMatches) {
  // Jobs until two share a first character (at most 17, by pigeonhole).
  std::map<char, std::vector<std::string>> by_first;
  std::vector<std::string> pair;
  for (int i = 0; i < 17 && pair.empty(); ++i) {
    const std::string id = Start({"true"});
    std::vector<std::string>& same = by_first[id[0]];
    same.push_back(id);
    if (same.size() == 2) pair = same;
  }
  ASSERT_EQ(pair.size(), 2u);
  const std::string prefix(1, pair[0][0]);
  for (const char* command : {"get-status", "stop", "wait", "get-output"}) {
    ProcessResult r = Cli({command, prefix});
    EXPECT_EQ(r.exit_code, 2) << command << Describe(r);
    EXPECT_THAT(r.err,
                AllOf(HasSubstr("'" + prefix + "' is ambiguous"),
                      HasSubstr("\n  " + pair[0]), HasSubstr("\n  " + pair[1])))
        << command;
    EXPECT_THAT(r.out, IsEmpty()) << command;
  }
}

TEST_F(CliIdsTest, APrefixOfNoJobIsNotFound) {
  const std::vector<std::string> ids = AllIds(AliceJobs());
  std::string prefix;
  for (const char* candidate : {"0000", "1111", "2222", "3333", "4444"}) {
    bool used = false;
    for (const std::string& id : ids)
      used = used || id.rfind(candidate, 0) == 0;
    if (!used) prefix = candidate;
  }
  ASSERT_FALSE(prefix.empty());
  ProcessResult r = Cli({"get-status", prefix});
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_THAT(r.err,
              AllOf(HasSubstr("no job of yours has an ID starting with '" +
                              prefix + "'"),
                    OneLine()));
  EXPECT_EQ(Cli({"wait", prefix}).exit_code, 255);  // wait's own failure
}

TEST_F(CliIdsTest, AMalformedIdIsAUsageErrorBeforeAnyCall) {
  // No server there: a call would fail with exit 1 (255 for wait).
  const std::string nowhere = absl::StrCat("--server=127.0.0.1:", UnusedPort());
  for (const char* command :
       {"get-status", "stop", "wait", "get-output", "logs"}) {
    for (const char* id :
         {"not-an-id", "3f2a9c1e-0b1d-4c2e-9f3a-5b6c7d8e9f01ff", "3f2a/../x"}) {
      ProcessResult r = Cli({nowhere, command, id});
      EXPECT_EQ(r.exit_code, 2) << command << " " << id << Describe(r);
      EXPECT_THAT(r.err, StartsWith("cmdctl: '")) << command << " " << id;
      EXPECT_THAT(r.err, HasSubstr("is not a job ID")) << command;
    }
  }
}

TEST_F(CliIdsTest, AWholeIdNeedsNoListCall) {
  const std::string id = Start({"true"});
  AwaitEnd(id);
  const std::string prefix = UniquePrefix(id);  // lists the jobs
  const int before = ServerRequests("ListProcesses");
  EXPECT_EQ(Cli({"get-status", id}).exit_code, 0);
  EXPECT_EQ(Cli({"stop", id}).exit_code, 0);
  EXPECT_EQ(ServerRequests("ListProcesses"), before);
  // A prefix is looked up by the server: one ListProcesses per distinct
  // prefix, however many jobs there are.
  EXPECT_EQ(Cli({"get-status", prefix, prefix}).exit_code, 0);
  EXPECT_EQ(ServerRequests("ListProcesses"), before + 1);
  const std::string other = Start({"true"});
  const std::string other_prefix = UniquePrefix(other);  // lists the jobs
  const int before_two = ServerRequests("ListProcesses");
  EXPECT_EQ(Cli({"get-status", prefix, other_prefix, prefix}).exit_code, 0);
  EXPECT_EQ(ServerRequests("ListProcesses"), before_two + 2);
}

TEST_F(CliIdsTest, StopTakesSeveralJobsAndStopsThemTogether) {
  const std::string script =
      "trap '' TERM; echo armed; while :; do sleep 1; done";
  const std::string a = Start({"sh", "-c", script});
  const std::string b = Start({"sh", "-c", script});
  for (const std::string& id : {a, b}) {
    ProcessResult armed;
    for (int i = 0; i < 600 && armed.out != "armed\n"; ++i) {
      armed = Cli({"get-output", "--follow=false", id});
    }
    ASSERT_EQ(armed.out, "armed\n");
  }
  const absl::Time before = absl::Now();
  ProcessResult r = Cli({"stop", "--grace=3s", a, b});
  const absl::Duration took = absl::Now() - before;
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(r.out, "job " + a + ": stopped: terminated by SIGKILL (9)\n" +
                       "job " + b + ": stopped: terminated by SIGKILL (9)\n");
  // One grace period for both: one after the other would take 6 s.
  EXPECT_GE(took, absl::Seconds(3));
  EXPECT_LT(took, absl::Milliseconds(5500));
}

TEST_F(CliIdsTest, GetStatusTakesSeveralJobs) {
  const std::string a = Start({"sh", "-c", "exit 3"});
  const std::string b = Start({"sh", "-c", "exit 4"});
  AwaitEnd(a);
  AwaitEnd(b);
  ProcessResult text = Cli({"status", a, b});
  EXPECT_EQ(text.exit_code, 0) << Describe(text);
  const size_t at_a = text.out.find("Job:      " + a);
  const size_t at_b = text.out.find("\n\nJob:      " + b);
  EXPECT_NE(at_a, std::string::npos) << text.out;
  EXPECT_NE(at_b, std::string::npos) << text.out;
  EXPECT_LT(at_a, at_b);
  ProcessResult json = Cli({"get-status", "--output=json", a, b});
  EXPECT_EQ(json.exit_code, 0) << Describe(json);
  EXPECT_THAT(json.out, AllOf(HasSubstr("\"exitCode\": 3"),
                              HasSubstr("\"exitCode\": 4")));
  // One of them unknown: the other is still shown, and the exit status is 1.
  const std::string unknown = "0b9d2c4e-1f3a-4c5d-8e6f-7a8b9c0d1e2f";
  ProcessResult partly = Cli({"get-status", unknown, a});
  EXPECT_EQ(partly.exit_code, 1) << Describe(partly);
  EXPECT_THAT(partly.out, HasSubstr("Job:      " + a));
  EXPECT_THAT(partly.err, AllOf(HasSubstr(unknown), OneLine()));
}

TEST_F(CliIdsTest, WaitReturnsOnceTheJobsEndedWithTheLastOnesStatus) {
  const std::string a = Start({"sh", "-c", "sleep 1; exit 3"});
  const std::string b = Start({"sh", "-c", "exit 4"});
  const absl::Time before = absl::Now();
  ProcessResult r = Cli({"wait", a, b});
  EXPECT_EQ(r.exit_code, 4) << Describe(r);
  EXPECT_THAT(r.out, IsEmpty());
  EXPECT_EQ(StatusJson(a).state(), cmdctl::v1::JOB_STATE_EXITED);
  EXPECT_GE(absl::Now() - before, absl::Milliseconds(500));
  EXPECT_EQ(Cli({"wait", b, a}).exit_code, 3);
  const std::string killed = Start({"sh", "-c", "kill -KILL $$"});
  EXPECT_EQ(Cli({"wait", killed}).exit_code, 128 + SIGKILL);
}

TEST_F(CliIdsTest, AJobsControlCharactersAreEscapedOnePerLine) {
  const std::string id = Start({"printf", "\033[31mred\nforged line\r"});
  AwaitEnd(id);
  ProcessResult list = Cli({"list"});
  EXPECT_EQ(list.exit_code, 0) << Describe(list);
  ProcessResult status = Cli({"get-status", id});
  EXPECT_EQ(status.exit_code, 0) << Describe(status);
  for (const std::string& out : {list.out, status.out}) {
    EXPECT_EQ(out.find('\033'), std::string::npos) << out;
    EXPECT_EQ(out.find('\r'), std::string::npos) << out;
  }
  int rows = 0;
  for (absl::string_view line : absl::StrSplit(list.out, '\n')) {
    if (absl::StartsWith(line, id)) {
      ++rows;
      EXPECT_THAT(std::string(line),
                  HasSubstr("printf $'\\033[31mred\\012forged line\\015'"));
    }
  }
  EXPECT_EQ(rows, 1) << list.out;
  EXPECT_THAT(status.out,
              HasSubstr("Command:  printf $'\\033[31mred\\012forged "
                        "line\\015'\n"));
}

}  // namespace
}  // namespace cmdctl::test

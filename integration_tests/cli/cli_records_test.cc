// Job records (SPEC §6, §7, §9): get-output --tail, rm, and list --state
// across several pages.
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "google/protobuf/util/json_util.h"
#include "integration_tests/cli/cli_fixture.h"

namespace cmdctl::test {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

// --- get-output --tail ---

TEST_F(CliTest, TailStartsEachStreamAtItsLastLines) {
  const std::string id =
      Start({"sh", "-c", "seq 1 10; printf 'a\\nb\\nc' >&2"});
  AwaitEnd(id);
  ProcessResult three = Cli({"get-output", "--tail=3", id});
  EXPECT_EQ(three.exit_code, 0) << Describe(three);
  EXPECT_EQ(three.out, "8\n9\n10\n");
  EXPECT_EQ(three.err, "a\nb\nc");  // a last piece without newline counts
  ProcessResult one = Cli({"logs", "--tail=1", "--follow=false", id});
  EXPECT_EQ(one.out, "10\n");
  EXPECT_EQ(one.err, "c");
  // More lines than there are: from the start.
  ProcessResult all = Cli({"get-output", "--tail=100", id});
  EXPECT_EQ(all.out, "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n");
  EXPECT_EQ(all.err, "a\nb\nc");
  // --tail=0: nothing old, and an ended job has nothing new.
  ProcessResult none = Cli({"get-output", "--tail=0", id});
  EXPECT_EQ(none.exit_code, 0) << Describe(none);
  EXPECT_THAT(none.out, IsEmpty());
  EXPECT_THAT(none.err, IsEmpty());
}

TEST_F(CliTest, TailThenFollowsARunningJob) {
  const std::string marker = user_->home + "/cli-tail-go";
  unlink(marker.c_str());
  const std::string id =
      Start({"sh", "-c",
             "seq 1 5; while [ ! -e " + marker +
                 " ]; do sleep 0.05; done; echo six; echo done >&2"});
  ProcessResult ready;
  for (int i = 0; i < 600 && ready.out != "1\n2\n3\n4\n5\n"; ++i) {
    ready = Cli({"get-output", "--follow=false", id});
  }
  ASSERT_EQ(ready.out, "1\n2\n3\n4\n5\n");
  const std::string tail_log = dir_->path() + "/tail2.log";
  const std::string new_log = dir_->path() + "/tail0.log";
  std::unique_ptr<BackgroundProcess> tail =
      CliInBackground({"get-output", "--tail=2", id}, tail_log);
  std::unique_ptr<BackgroundProcess> fresh =
      CliInBackground({"get-output", "--tail=0", id}, new_log);
  EXPECT_EQ(WaitForLine(tail_log, "4", *tail), std::optional<std::string>(""));
  // Both follow the job: still there while it runs.
  EXPECT_EQ(fresh->Wait(absl::Milliseconds(500)), -1);
  EXPECT_TRUE(tail->Running());
  ASSERT_TRUE(RunCommand({"/usr/bin/touch", marker}).ok());
  EXPECT_EQ(tail->Wait(absl::Seconds(60)), 0);
  EXPECT_EQ(fresh->Wait(absl::Seconds(60)), 0);
  unlink(marker.c_str());
  // Both streams go to one log here: each stream's own order is kept, and
  // stderr's one line may come anywhere between stdout's.
  for (const auto& [log, stdout_text] :
       {std::pair<std::string, std::string>{tail_log, "4\n5\nsix\n"},
        {new_log, "six\n"}}) {
    std::string text = ReadWholeFile(log);
    const size_t done = text.find("done\n");
    ASSERT_NE(done, std::string::npos) << text;
    text.erase(done, 5);
    EXPECT_EQ(text, stdout_text) << log;
  }
}

// --- rm ---

TEST_F(CliTest, RmRemovesEndedJobsAndRefusesRunningOnes) {
  const std::string ended = Start({"sh", "-c", "echo bye; exit 2"});
  AwaitEnd(ended);
  const std::string running = Start({"sleep", "1000"});
  ProcessResult r = Cli({"rm", running, ended});
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_EQ(r.out, "job " + ended + ": removed\n");
  EXPECT_THAT(r.err, AllOf(OneLine(), HasSubstr(running),
                           HasSubstr("still running: stop it first")));
  // The ended one is gone, record and output; the running one is not.
  ProcessResult status = Cli({"get-status", ended});
  EXPECT_EQ(status.exit_code, 1) << Describe(status);
  EXPECT_THAT(status.err, HasSubstr("not found"));
  EXPECT_EQ(Cli({"get-output", ended}).exit_code, 1);
  EXPECT_EQ(StatusJson(running).state(), cmdctl::v1::JOB_STATE_RUNNING);
  // Once stopped it can go, by a prefix too.
  EXPECT_EQ(Cli({"stop", "--grace=0s", running}).exit_code, 0);
  std::string prefix = running.substr(0, 13);
  ProcessResult removed = Cli({"rm", prefix});
  EXPECT_EQ(removed.exit_code, 0) << Describe(removed);
  EXPECT_EQ(removed.out, "job " + running + ": removed\n");
  // Removing again: not found, as any unknown id.
  ProcessResult again = Cli({"rm", running});
  EXPECT_EQ(again.exit_code, 1) << Describe(again);
  EXPECT_THAT(again.err, AllOf(OneLine(), HasSubstr("job " + running +
                                                    " not found")));
}

TEST_F(CliTest, RmOfAnotherIdentitysJobIsNotFound) {
  const std::string id = Start({"true"});
  AwaitEnd(id);
  ProcessResult r = Cli({"rm", id}, BobEnv());
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_THAT(r.err, HasSubstr("not found"));
  EXPECT_EQ(StatusJson(id).job_id(), id);
}

// --- list --state, every page ---

// A server of its own, so that the test knows every job on it.
class CliListTest : public CliTest {
 protected:
  static int Requests(const ExtraServer& server, const std::string& method) {
    return ServerRequests(method, server.process->log_path());
  }
  static std::vector<std::string> Ids(
      const std::vector<cmdctl::v1::ProcessStatus>& jobs) {
    std::vector<std::string> ids;
    for (const cmdctl::v1::ProcessStatus& job : jobs) ids.push_back(job.job_id());
    return ids;
  }
  static std::vector<cmdctl::v1::ProcessStatus> ListJson(
      const std::vector<std::string>& args, const std::string& address) {
    ProcessResult r = Cli(args, AliceEnv(address));
    EXPECT_EQ(r.exit_code, 0) << Describe(r);
    cmdctl::v1::ListProcessesResponse list;
    EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(r.out, &list).ok())
        << r.out;
    EXPECT_EQ(list.next_page_token(), "");
    return {list.processes().begin(), list.processes().end()};
  }
};

TEST_F(CliListTest, StateFilterAndEveryPageNewestFirst) {
  ExtraServer server = StartServer("many-jobs");
  ASSERT_FALSE(server.address.empty());
  const std::string& at = server.address;
  // More jobs than one page (100) holds: 120 that exit, 2 that run.
  constexpr int kExited = 120;
  ProcessResult started = RunProcess(
      InAliceEnv({"/bin/sh", "-c",
                  absl::StrCat("for i in $(seq ", kExited, "); do ", CMDCTL_BIN,
                               " run true || exit 1; done")},
                 at),
      {}, absl::Seconds(300));
  ASSERT_EQ(started.exit_code, 0) << Describe(started);
  const std::string a = Start({"sleep", "1000"}, at);
  const std::string b = Start({"sleep", "1000"}, at);
  const int lists_before = Requests(server, "ListProcesses");

  std::vector<cmdctl::v1::ProcessStatus> all =
      ListJson({"list", "--output=json"}, at);
  ASSERT_THAT(all, SizeIs(kExited + 2));
  EXPECT_EQ(all[0].job_id(), b);  // newest first
  EXPECT_EQ(all[1].job_id(), a);
  for (size_t i = 1; i < all.size(); ++i) {
    const auto& newer = all[i - 1].started_at();
    const auto& older = all[i].started_at();
    EXPECT_TRUE(newer.seconds() > older.seconds() ||
                (newer.seconds() == older.seconds() &&
                 newer.nanos() >= older.nanos()))
        << i;
  }
  std::vector<std::string> ids = Ids(all);
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), ids.size());
  // It took more than one page: more than one ListProcesses.
  EXPECT_GE(Requests(server, "ListProcesses"), lists_before + 2);

  // Every page, filtered by the server: the 120 that exited.
  std::vector<cmdctl::v1::ProcessStatus> exited;
  for (int i = 0; i < 600; ++i) {
    exited = ListJson({"list", "--state=exited", "--output=json"}, at);
    if (exited.size() == kExited) break;  // the last ones may still end
    absl::SleepFor(absl::Milliseconds(50));
  }
  ASSERT_THAT(exited, SizeIs(kExited));
  for (const cmdctl::v1::ProcessStatus& job : exited) {
    EXPECT_EQ(job.state(), cmdctl::v1::JOB_STATE_EXITED) << job.job_id();
  }
  std::vector<std::string> all_exited(ids.begin() + 2, ids.end());
  EXPECT_EQ(Ids(exited), all_exited);

  // Text, any case, and the alias.
  ProcessResult running = Cli({"ps", "--state=RUNNING"}, AliceEnv(at));
  EXPECT_EQ(running.exit_code, 0) << Describe(running);
  std::vector<std::string> lines =
      absl::StrSplit(running.out, '\n', absl::SkipEmpty());
  ASSERT_THAT(lines, SizeIs(3)) << running.out;
  EXPECT_EQ(lines[1].substr(0, b.size()), b);
  EXPECT_EQ(lines[2].substr(0, a.size()), a);
  ProcessResult text = Cli({"list"}, AliceEnv(at));
  std::vector<std::string> rows =
      absl::StrSplit(text.out, '\n', absl::SkipEmpty());
  EXPECT_THAT(rows, SizeIs(kExited + 3));
  EXPECT_THAT(ListJson({"list", "--state=lost", "--output=json"}, at),
              IsEmpty());
  EXPECT_EQ(Cli({"stop", "--grace=0s", a, b}, AliceEnv(at)).exit_code, 0);
  EXPECT_THAT(ListJson({"list", "--state=stopped", "--output=json"}, at),
              SizeIs(2));

  // An ambiguous prefix lists every job it matches, however many.
  std::map<char, std::set<std::string>> by_first;
  for (const std::string& id : ids) by_first[id[0]].insert(id);
  auto most = std::max_element(
      by_first.begin(), by_first.end(),
      [](const auto& x, const auto& y) { return x.second.size() < y.second.size(); });
  ProcessResult ambiguous =
      Cli({"get-status", std::string(1, most->first)}, AliceEnv(at));
  EXPECT_EQ(ambiguous.exit_code, 2) << Describe(ambiguous);
  EXPECT_THAT(ambiguous.err,
              HasSubstr(absl::StrCat("is ambiguous: ", most->second.size(),
                                     " of your jobs match")));
  std::set<std::string> listed;
  for (absl::string_view line : absl::StrSplit(ambiguous.err, '\n')) {
    if (absl::ConsumePrefix(&line, "  ")) listed.insert(std::string(line));
  }
  EXPECT_EQ(listed, most->second);
  // A unique prefix: one ListProcesses (of a page of two).
  const std::string unique = a.substr(0, 12);
  const int before_unique = Requests(server, "ListProcesses");
  EXPECT_EQ(Cli({"get-status", unique}, AliceEnv(at)).exit_code, 0);
  EXPECT_EQ(Requests(server, "ListProcesses"), before_unique + 1);
}

}  // namespace
}  // namespace cmdctl::test

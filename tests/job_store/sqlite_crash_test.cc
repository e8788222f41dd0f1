// The SQLite store under the failures SPEC §9 names: a server killed in the
// middle of writing, and a full disk. Each runs the store in a forked child
// (bounded: killed by the test or at the test's death), so that the kill is
// real and a mount stays private to the child.
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <map>
#include <memory>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "job_store/sqlite_job_store.h"
#include "tests/job_store/store_test_support.h"
#include "tests/support/status_assert.h"

namespace cmdctl::test {
namespace {

using ::cmdctl::store::SqliteJobStore;

const absl::Time kT0 = absl::FromUnixNanos(1700000000123456789);

// The record the writer child stores as job `i` of `round`, and what it
// updates it to.
std::string WriterId(int round, int i) {
  return absl::StrCat("r", round, "-", i);
}
JobRecord Inserted(int round, int i) {
  return FullRecord(WriterId(round, i), "alice",
                    kT0 + absl::Milliseconds(round * 100000 + i), i);
}
JobRecord Ended(int round, int i) {
  JobRecord r = Inserted(round, i);
  r.status.state = JobState::kExited;
  r.status.exit_code = i % 256;
  return r;
}

void WriteLine(int fd, const std::string& line) {
  const std::string text = line + "\n";
  if (::write(fd, text.data(), text.size()) !=
      static_cast<ssize_t>(text.size())) {
    _exit(4);
  }
}

// The child: inserts, then updates, record after record, and reports each
// commit ("I <i>", "U <i>") once the call has returned OK. Runs until killed.
[[noreturn]] void RunWriter(const std::string& path, int round, int report) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  absl::StatusOr<std::unique_ptr<SqliteJobStore>> store =
      SqliteJobStore::Open(path);
  if (!store.ok()) {
    fprintf(stderr, "writer: %s\n", store.status().ToString().c_str());
    _exit(2);
  }
  for (int i = 0;; ++i) {
    if (!(*store)->Insert(Inserted(round, i)).ok()) _exit(3);
    WriteLine(report, absl::StrCat("I ", i));
    if (!(*store)->Update(Ended(round, i)).ok()) _exit(3);
    WriteLine(report, absl::StrCat("U ", i));
  }
}

// What the child reported: for each i, whether its update was committed.
using Reported = std::map<int, bool>;

// Reads the child's reports until it has committed `kill_after` inserts,
// SIGKILLs it, and reads what it reported before it died.
Reported KillWriterMidway(pid_t pid, int report, int kill_after) {
  Reported reported;
  std::string pending;
  bool killed = false;
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  for (;;) {
    if (!killed && (static_cast<int>(reported.size()) >= kill_after ||
                    absl::Now() > deadline)) {
      ::kill(pid, SIGKILL);
      killed = true;
    }
    pollfd p{report, POLLIN, 0};
    const int ready = ::poll(&p, 1, 1000);
    if (ready < 0 && errno != EINTR) break;
    if (ready <= 0) continue;  // nothing yet: check the deadline again
    char buf[4096];
    const ssize_t n = ::read(report, buf, sizeof(buf));
    if (n == 0) break;  // the child is gone
    if (n < 0) continue;
    pending.append(buf, static_cast<size_t>(n));
    size_t end;
    while ((end = pending.find('\n')) != std::string::npos) {
      const std::string line = pending.substr(0, end);
      pending.erase(0, end + 1);
      int i = 0;
      if (line.size() > 2 && absl::SimpleAtoi(line.substr(2), &i)) {
        reported[i] = reported[i] || line[0] == 'U';
      }
    }
  }
  if (!killed) ::kill(pid, SIGKILL);
  return reported;
}

TEST(SqliteCrashTest, EveryCommitOfAKilledWriterIsThereAfterReopening) {
  TempDir dir;
  const std::string path = dir.path() + "/cmdctl.db";
  std::map<int, Reported> rounds;
  for (int round = 0; round < 3; ++round) {
    int fds[2];
    ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(fds[0]);
      RunWriter(path, round, fds[1]);
    }
    ::close(fds[1]);
    // Each round kills at another point of the write.
    rounds[round] = KillWriterMidway(pid, fds[0], 200 + 37 * round);
    ::close(fds[0]);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "the writer ended on its own (status " << status
        << "): it could not write";
    ASSERT_GE(rounds[round].size(), 200u);
  }

  absl::StatusOr<std::unique_ptr<SqliteJobStore>> store =
      SqliteJobStore::Open(path);  // checks the whole file
  ASSERT_OK(store);
  int stored = 0;
  for (const auto& [round, reported] : rounds) {
    for (const auto& [i, updated] : reported) {
      absl::StatusOr<JobRecord> got = (*store)->Get(WriterId(round, i));
      ASSERT_OK(got);
      if (updated) {
        EXPECT_TRUE(SameRecord(Ended(round, i), *got));
      } else {
        // Its update may have been committed unreported.
        EXPECT_TRUE(SameRecord(Inserted(round, i), *got) ||
                    SameRecord(Ended(round, i), *got));
      }
    }
    // The database holds nothing but reported records and at most the one
    // commit the kill cut off before it was reported.
    JobQuery query{"alice", std::nullopt, absl::StrCat("r", round, "-"), 1000,
                   ""};
    for (;;) {
      absl::StatusOr<JobPage> page = (*store)->List(query);
      ASSERT_OK(page);
      for (const JobRecord& r : page->records) {
        int i = 0;
        ASSERT_TRUE(absl::SimpleAtoi(
            r.status.job_id.substr(r.status.job_id.find('-') + 1), &i));
        EXPECT_TRUE(reported.count(i) || i == reported.rbegin()->first + 1)
            << r.status.job_id << " was never reported";
        ++stored;
      }
      if (page->next_page_token.empty()) break;
      query.page_token = page->next_page_token;
    }
  }
  EXPECT_GE(stored, 600);
}

// The full-disk child's result: 0, or which step failed.
enum FullDiskResult {
  kPassed = 0,
  kNoMountNamespace = 10,
  kFailed = 20,
};

#define CHILD_EXPECT(cond, ...)                         \
  do {                                                  \
    if (!(cond)) {                                      \
      fprintf(stderr, "full-disk child: " __VA_ARGS__); \
      fputc('\n', stderr);                              \
      return kFailed;                                   \
    }                                                   \
  } while (false)

// In a private mount namespace, fills a 256 KiB tmpfs with records.
int FillSmallDisk(const std::string& dir) {
  if (::unshare(CLONE_NEWNS) != 0 ||
      ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
      ::mount("cmdctl-test", dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV,
              "size=256k,mode=0700") != 0) {
    perror("full-disk child: mount a tmpfs");
    return kNoMountNamespace;
  }
  const std::string path = dir + "/cmdctl.db";
  int committed = 0;
  {
    absl::StatusOr<std::unique_ptr<SqliteJobStore>> store =
        SqliteJobStore::Open(path);
    CHILD_EXPECT(store.ok(), "open: %s", store.status().ToString().c_str());
    absl::Status status;
    while (committed < 100000 &&
           (status = (*store)->Insert(FullRecord(
                absl::StrCat("job-", committed), "alice", kT0, committed)))
               .ok()) {
      ++committed;
    }
    CHILD_EXPECT(absl::IsResourceExhausted(status), "insert %d: %s", committed,
                 status.ToString().c_str());
    CHILD_EXPECT(committed > 0, "no record fitted");
    // Nothing committed is lost, and the store still reads.
    for (int i = 0; i < committed; ++i) {
      CHILD_EXPECT((*store)->Get(absl::StrCat("job-", i)).ok(), "get %d", i);
    }
    CHILD_EXPECT(absl::IsNotFound(
                     (*store)->Get(absl::StrCat("job-", committed)).status()),
                 "the failed insert is there");
  }
  // Reopened on the full disk: intact, everything there.
  absl::StatusOr<std::unique_ptr<SqliteJobStore>> store =
      SqliteJobStore::Open(path);
  CHILD_EXPECT(store.ok(), "reopen: %s", store.status().ToString().c_str());
  for (int i = 0; i < committed; ++i) {
    CHILD_EXPECT((*store)->Get(absl::StrCat("job-", i)).ok(),
                 "get %d after reopening", i);
  }
  fprintf(stderr, "full-disk child: %d records fitted\n", committed);
  return kPassed;
}

TEST(SqliteCrashTest, AFullDiskIsResourceExhaustedAndLosesNothing) {
  if (::geteuid() != 0) GTEST_SKIP() << "mounting a small tmpfs needs root";
  TempDir dir;
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    alarm(60);  // bounded
    _exit(FillSmallDisk(dir.path()));
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status)) << "status " << status;
  if (WEXITSTATUS(status) == kNoMountNamespace) {
    GTEST_SKIP() << "no private mount namespace here (see stderr)";
  }
  EXPECT_EQ(WEXITSTATUS(status), kPassed) << "see the child's stderr";
}

}  // namespace
}  // namespace cmdctl::test

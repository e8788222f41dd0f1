// One contract for every JobStore (domain/job_store.h): the tests' in-memory
// fake and the SQLite store on a temporary file pass the same tests, so a
// unit test that uses the fake learns what production does.
#include <algorithm>
#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <tuple>
#include <type_traits>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "domain/job_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "job_store/sqlite_job_store.h"
#include "tests/fakes/fake_job_store.h"
#include "tests/job_store/store_test_support.h"
#include "tests/support/status_assert.h"

namespace cmdctl::test {
namespace {

using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

const absl::Time kT0 = absl::FromUnixNanos(1700000000123456789);

struct FakeStoreFactory {
  std::unique_ptr<JobStore> Make() { return std::make_unique<FakeJobStore>(); }
};

struct SqliteStoreFactory {
  TempDir dir;
  std::unique_ptr<JobStore> Make() {
    absl::StatusOr<std::unique_ptr<store::SqliteJobStore>> store =
        store::SqliteJobStore::Open(dir.path() + "/cmdctl.db");
    EXPECT_OK(store);
    return store.ok() ? *std::move(store) : nullptr;
  }
};

template <typename Factory>
class JobStoreContractTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = factory_.Make();
    ASSERT_NE(store_, nullptr);
  }

  JobStore& store() { return *store_; }

  void InsertAll(const std::vector<JobRecord>& records) {
    for (const JobRecord& r : records) ASSERT_OK(store().Insert(r));
  }

  // Walks every page of `query` and returns the ids in the order listed.
  // Every page but the last is full and carries a token; the last has none.
  std::vector<std::string> ListAll(JobQuery query) {
    std::vector<std::string> ids;
    for (int pages = 0; pages < 10000; ++pages) {
      absl::StatusOr<JobPage> page = store().List(query);
      EXPECT_OK(page);
      if (!page.ok()) break;
      for (const JobRecord& r : page->records) ids.push_back(r.status.job_id);
      if (page->next_page_token.empty()) break;
      EXPECT_EQ(static_cast<int>(page->records.size()), query.page_size);
      query.page_token = page->next_page_token;
    }
    return ids;
  }

  Factory factory_;
  std::unique_ptr<JobStore> store_;
};

using StoreFactories = ::testing::Types<FakeStoreFactory, SqliteStoreFactory>;
class FactoryNames {
 public:
  template <typename T>
  static std::string GetName(int) {
    return std::is_same_v<T, FakeStoreFactory> ? "Fake" : "Sqlite";
  }
};
TYPED_TEST_SUITE(JobStoreContractTest, StoreFactories, FactoryNames);

// The ids of `records` sorted newest first: started_at, then id, descending.
std::vector<std::string> NewestFirst(std::vector<JobRecord> records) {
  std::sort(records.begin(), records.end(),
            [](const JobRecord& a, const JobRecord& b) {
              return std::tie(a.status.started_at, a.status.job_id) >
                     std::tie(b.status.started_at, b.status.job_id);
            });
  return IdsOf(records);
}

TYPED_TEST(JobStoreContractTest, GetReturnsEveryFieldAsInserted) {
  const JobRecord record = FullRecord("job-1", "alice", kT0);
  ASSERT_OK(this->store().Insert(record));
  absl::StatusOr<JobRecord> got = this->store().Get("job-1");
  ASSERT_OK(got);
  EXPECT_TRUE(SameRecord(record, *got));
}

TYPED_TEST(JobStoreContractTest, InfiniteAndExtremeValuesRoundTrip) {
  JobRecord record = FullRecord("job-1", "alice", absl::InfiniteFuture());
  record.status.ended_at = absl::InfinitePast();
  record.timeout_at = absl::InfiniteFuture();
  record.kill_at = absl::InfinitePast();
  record.status.timeout = absl::InfiniteDuration();
  record.status.usage.cpu_user = -absl::InfiniteDuration();
  record.status.usage.cpu_system = absl::ZeroDuration();
  record.status.exit_code = INT32_MIN;
  record.status.signal = INT32_MAX;
  record.status.limits.memory_bytes = INT64_MAX;
  record.status.usage.io_write_bytes = INT64_MIN;
  JobRecord old = FullRecord("job-2", "alice", absl::FromUnixNanos(-1));
  old.status.ended_at = absl::FromUnixNanos(-999999999999);
  old.status.state = JobState::kLost;
  ASSERT_OK(this->store().Insert(record));
  ASSERT_OK(this->store().Insert(old));
  for (const JobRecord* r : {&record, &old}) {
    absl::StatusOr<JobRecord> got = this->store().Get(r->status.job_id);
    ASSERT_OK(got);
    EXPECT_TRUE(SameRecord(*r, *got));
  }
}

TYPED_TEST(JobStoreContractTest, DefaultRecordRoundTrips) {
  JobRecord record;  // InfinitePast times, InfiniteFuture deadlines, zeros
  record.status.job_id = "j";
  ASSERT_OK(this->store().Insert(record));
  absl::StatusOr<JobRecord> got = this->store().Get("j");
  ASSERT_OK(got);
  EXPECT_TRUE(SameRecord(record, *got));
}

TYPED_TEST(JobStoreContractTest, EveryStateRoundTrips) {
  const JobState states[] = {JobState::kRunning, JobState::kExited,
                             JobState::kSignaled, JobState::kStopped,
                             JobState::kLost};
  for (JobState state : states) {
    JobRecord record =
        FullRecord(absl::StrCat("job-", static_cast<int>(state)), "alice", kT0);
    record.status.state = state;
    ASSERT_OK(this->store().Insert(record));
    absl::StatusOr<JobRecord> got = this->store().Get(record.status.job_id);
    ASSERT_OK(got);
    EXPECT_EQ(got->status.state, state);
  }
}

TYPED_TEST(JobStoreContractTest, UpdateReplacesEveryField) {
  ASSERT_OK(this->store().Insert(FullRecord("job-1", "alice", kT0, 1)));
  JobRecord changed = FullRecord("job-1", "bob", kT0 + absl::Seconds(1), 2);
  changed.status.args = {"only one"};
  changed.host_state = "";
  ASSERT_OK(this->store().Update(changed));
  absl::StatusOr<JobRecord> got = this->store().Get("job-1");
  ASSERT_OK(got);
  EXPECT_TRUE(SameRecord(changed, *got));
}

TYPED_TEST(JobStoreContractTest,
           InsertOfATakenIdIsAlreadyExistsAndKeepsTheFirst) {
  const JobRecord first = FullRecord("job-1", "alice", kT0, 1);
  ASSERT_OK(this->store().Insert(first));
  absl::Status again =
      this->store().Insert(FullRecord("job-1", "mallory", kT0, 2));
  EXPECT_EQ(again.code(), absl::StatusCode::kAlreadyExists) << again;
  absl::StatusOr<JobRecord> got = this->store().Get("job-1");
  ASSERT_OK(got);
  EXPECT_TRUE(SameRecord(first, *got));
}

TYPED_TEST(JobStoreContractTest, UnknownIdIsNotFound) {
  ASSERT_OK(this->store().Insert(SmallRecord("job-1", "alice", kT0)));
  EXPECT_EQ(this->store().Get("job-2").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(this->store().Get("job-").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(this->store().Update(SmallRecord("job-2", "alice", kT0)).code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(this->store().Delete("job-2").code(), absl::StatusCode::kNotFound);
  EXPECT_OK(this->store().Get("job-1"));
}

TYPED_TEST(JobStoreContractTest, DeleteRemovesOnlyThatRecord) {
  ASSERT_OK(this->store().Insert(SmallRecord("job-1", "alice", kT0)));
  ASSERT_OK(this->store().Insert(SmallRecord("job-2", "alice", kT0)));
  ASSERT_OK(this->store().Delete("job-1"));
  EXPECT_EQ(this->store().Get("job-1").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(this->store().Delete("job-1").code(), absl::StatusCode::kNotFound);
  EXPECT_OK(this->store().Get("job-2"));
  // The id is free again.
  EXPECT_OK(this->store().Insert(SmallRecord("job-1", "bob", kT0)));
}

TYPED_TEST(JobStoreContractTest, LoadRunningReturnsEveryRunningJobOnly) {
  this->InsertAll({
      SmallRecord("a", "alice", kT0),
      SmallRecord("b", "bob", kT0 + absl::Seconds(1)),
      SmallRecord("c", "alice", kT0, JobState::kExited, kT0),
      SmallRecord("d", "alice", kT0, JobState::kLost, kT0),
  });
  JobRecord ended = SmallRecord("e", "carol", kT0);
  ASSERT_OK(this->store().Insert(ended));
  ended.status.state = JobState::kStopped;
  ASSERT_OK(this->store().Update(ended));
  absl::StatusOr<std::vector<JobRecord>> running = this->store().LoadRunning();
  ASSERT_OK(running);
  EXPECT_THAT(IdsOf(*running), UnorderedElementsAre("a", "b"));
}

TYPED_TEST(JobStoreContractTest,
           ListPagesOneOwnersJobsNewestFirstTiesByIdDescending) {
  std::vector<JobRecord> alice;
  for (int i = 0; i < 23; ++i) {
    // Five distinct start times: many ties, broken by id.
    alice.push_back(SmallRecord(absl::StrCat("job-", (i * 7) % 23), "alice",
                                kT0 + absl::Nanoseconds(i % 5)));
  }
  this->InsertAll(alice);
  this->InsertAll({SmallRecord("bob-1", "bob", kT0 + absl::Hours(1)),
                   SmallRecord("bob-2", "bob", kT0)});
  JobQuery query;
  query.owner = "alice";
  query.page_size = 5;
  EXPECT_THAT(this->ListAll(query), ElementsAreArray(NewestFirst(alice)));
  query.owner = "nobody";
  EXPECT_THAT(this->ListAll(query), IsEmpty());
}

TYPED_TEST(JobStoreContractTest, AnExactlyFullLastPageHasNoToken) {
  std::vector<JobRecord> records;
  for (int i = 0; i < 6; ++i) {
    records.push_back(
        SmallRecord(absl::StrCat("j", i), "alice", kT0 + absl::Seconds(i)));
  }
  this->InsertAll(records);
  JobQuery query{"alice", std::nullopt, "", 3, ""};
  absl::StatusOr<JobPage> first = this->store().List(query);
  ASSERT_OK(first);
  EXPECT_THAT(IdsOf(first->records), ElementsAreArray({"j5", "j4", "j3"}));
  ASSERT_FALSE(first->next_page_token.empty());
  query.page_token = first->next_page_token;
  absl::StatusOr<JobPage> second = this->store().List(query);
  ASSERT_OK(second);
  EXPECT_THAT(IdsOf(second->records), ElementsAreArray({"j2", "j1", "j0"}));
  EXPECT_EQ(second->next_page_token, "");
}

TYPED_TEST(JobStoreContractTest, PageSizeIsResolvedAndClamped) {
  std::vector<JobRecord> records;
  for (int i = 0; i < 1002; ++i) {
    records.push_back(SmallRecord(absl::StrCat("job-", 10000 + i), "alice",
                                  kT0 + absl::Microseconds(i)));
  }
  this->InsertAll(records);
  const std::pair<int, size_t> cases[] = {{0, 100},     {1, 1},
                                          {999, 999},   {1000, 1000},
                                          {1001, 1000}, {1 << 30, 1000}};
  for (const auto& [asked, served] : cases) {
    absl::StatusOr<JobPage> page =
        this->store().List(JobQuery{"alice", std::nullopt, "", asked, ""});
    ASSERT_OK(page);
    EXPECT_EQ(page->records.size(), served) << "page_size " << asked;
    EXPECT_FALSE(page->next_page_token.empty()) << "page_size " << asked;
  }
  EXPECT_EQ(this->store()
                .List(JobQuery{"alice", std::nullopt, "", -1, ""})
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TYPED_TEST(JobStoreContractTest,
           PagesStayConsistentWhileRecordsAreAddedAndRemoved) {
  std::vector<JobRecord> records;
  for (int i = 0; i < 12; ++i) {
    records.push_back(SmallRecord(absl::StrCat("j", 10 + i), "alice",
                                  kT0 + absl::Seconds(i)));
  }
  this->InsertAll(records);  // newest first: j21 .. j10
  JobQuery query{"alice", std::nullopt, "", 4, ""};
  absl::StatusOr<JobPage> first = this->store().List(query);
  ASSERT_OK(first);
  EXPECT_THAT(IdsOf(first->records),
              ElementsAreArray({"j21", "j20", "j19", "j18"}));
  // Meanwhile: newer jobs start, one listed and one unlisted record go, and
  // a job that started at the same instant as the last listed one but sorts
  // before it appears (it is not listed: pages never go back).
  this->InsertAll({SmallRecord("j30", "alice", kT0 + absl::Seconds(20)),
                   SmallRecord("j31", "alice", kT0 + absl::Seconds(21)),
                   SmallRecord("j189", "alice", kT0 + absl::Seconds(8))});
  ASSERT_OK(this->store().Delete("j20"));
  ASSERT_OK(this->store().Delete("j16"));
  query.page_token = first->next_page_token;
  EXPECT_THAT(
      this->ListAll(query),
      ElementsAreArray({"j17", "j15", "j14", "j13", "j12", "j11", "j10"}));
  // The record the token names may itself be gone.
  ASSERT_OK(this->store().Delete("j18"));
  EXPECT_THAT(
      this->ListAll(query),
      ElementsAreArray({"j17", "j15", "j14", "j13", "j12", "j11", "j10"}));
}

TYPED_TEST(JobStoreContractTest, StateFilterPagesOnlyThatState) {
  std::vector<JobRecord> exited;
  for (int i = 0; i < 20; ++i) {
    const JobState state = i % 3 == 0   ? JobState::kExited
                           : i % 3 == 1 ? JobState::kRunning
                                        : JobState::kLost;
    JobRecord r = SmallRecord(absl::StrCat("job-", 100 + i), "alice",
                              kT0 + absl::Seconds(i % 4), state, kT0);
    ASSERT_OK(this->store().Insert(r));
    if (state == JobState::kExited) exited.push_back(r);
  }
  ASSERT_OK(this->store().Insert(
      SmallRecord("bob-1", "bob", kT0, JobState::kExited, kT0)));
  JobQuery query{"alice", JobState::kExited, "", 2, ""};
  EXPECT_THAT(this->ListAll(query), ElementsAreArray(NewestFirst(exited)));
  query.state = JobState::kSignaled;
  EXPECT_THAT(this->ListAll(query), IsEmpty());
}

TYPED_TEST(JobStoreContractTest, PrefixFilterTakesEveryByteLiterally) {
  for (const char* id :
       {"ab%x", "ab_y", "abcz", "abz", "a%", "aXb", "b%", "ab", "a\xff\xff",
        "a\xff\xff"
        "1",
        "a\xff"
        "0",
        "b"}) {
    ASSERT_OK(this->store().Insert(SmallRecord(id, "alice", kT0)));
  }
  ASSERT_OK(this->store().Insert(SmallRecord("ab%-bob", "bob", kT0)));
  auto list = [&](const std::string& prefix) {
    return this->ListAll(JobQuery{"alice", std::nullopt, prefix, 2, ""});
  };
  EXPECT_THAT(list("ab%"), ElementsAreArray({"ab%x"}));
  EXPECT_THAT(list("ab_"), ElementsAreArray({"ab_y"}));
  EXPECT_THAT(list("a%"), ElementsAreArray({"a%"}));
  EXPECT_THAT(list("ab"),
              ElementsAreArray({"abz", "abcz", "ab_y", "ab%x", "ab"}));
  EXPECT_THAT(list("%"), IsEmpty());
  EXPECT_THAT(list("_"), IsEmpty());
  EXPECT_THAT(list("a\xff"), ElementsAreArray({"a\xff\xff"
                                               "1",
                                               "a\xff\xff",
                                               "a\xff"
                                               "0"}));
  EXPECT_THAT(list("a\xff\xff"), ElementsAreArray({"a\xff\xff"
                                                   "1",
                                                   "a\xff\xff"}));
  EXPECT_THAT(list("abz"), ElementsAreArray({"abz"}));
  EXPECT_THAT(list("abzz"), IsEmpty());
  // With a state filter too.
  JobQuery query{"alice", JobState::kExited, "ab", 2, ""};
  EXPECT_THAT(this->ListAll(query), IsEmpty());
}

TYPED_TEST(JobStoreContractTest, MalformedPageTokenIsInvalidArgument) {
  ASSERT_OK(this->store().Insert(SmallRecord("j1", "alice", kT0)));
  ASSERT_OK(this->store().Insert(SmallRecord("j2", "alice", kT0)));
  absl::StatusOr<JobPage> page =
      this->store().List(JobQuery{"alice", std::nullopt, "", 1, ""});
  ASSERT_OK(page);
  const std::string token = page->next_page_token;
  ASSERT_FALSE(token.empty());
  const std::string other_version = absl::WebSafeBase64Escape(
      std::string("\x02") + std::string(8, 'x') + "j1");
  for (const std::string& bad :
       {std::string("not a token"), std::string("%%%%"), token.substr(0, 3),
        token + "=", token + "!", absl::WebSafeBase64Escape("short"),
        other_version}) {
    absl::StatusOr<JobPage> result =
        this->store().List(JobQuery{"alice", std::nullopt, "", 1, bad});
    EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument)
        << "token \"" << bad << "\": " << result.status();
  }
}

TYPED_TEST(JobStoreContractTest, EndedBeforeGivesEndedJobsOldestEndFirst) {
  const absl::Time cutoff = kT0 + absl::Hours(1);
  this->InsertAll({
      SmallRecord("running", "alice", kT0),  // ended_at InfinitePast
      SmallRecord("e3", "alice", kT0, JobState::kExited,
                  kT0 + absl::Minutes(30)),
      SmallRecord("e1", "bob", kT0, JobState::kLost, kT0 + absl::Minutes(10)),
      SmallRecord("e2b", "alice", kT0, JobState::kSignaled,
                  kT0 + absl::Minutes(20)),
      SmallRecord("e2a", "carol", kT0, JobState::kStopped,
                  kT0 + absl::Minutes(20)),
      SmallRecord("at-cutoff", "alice", kT0, JobState::kExited, cutoff),
      SmallRecord("later", "alice", kT0, JobState::kExited,
                  cutoff + absl::Nanoseconds(1)),
  });
  absl::StatusOr<std::vector<JobRecord>> ended =
      this->store().EndedBefore(cutoff, 100);
  ASSERT_OK(ended);
  EXPECT_THAT(IdsOf(*ended), ElementsAreArray({"e1", "e2a", "e2b", "e3"}));
  ended = this->store().EndedBefore(cutoff, 2);
  ASSERT_OK(ended);
  EXPECT_THAT(IdsOf(*ended), ElementsAreArray({"e1", "e2a"}));
  ended = this->store().EndedBefore(cutoff, 0);
  ASSERT_OK(ended);
  EXPECT_THAT(*ended, IsEmpty());
  ended = this->store().EndedBefore(absl::InfiniteFuture(), 100);
  ASSERT_OK(ended);
  EXPECT_EQ(ended->size(), 6u);
}

TYPED_TEST(JobStoreContractTest, ConcurrentCallersLoseNothing) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 40;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([this, t, &failures] {
      const std::string owner = absl::StrCat("owner-", t);
      for (int i = 0; i < kPerThread; ++i) {
        JobRecord r = SmallRecord(absl::StrCat(owner, "-", i), owner,
                                  kT0 + absl::Seconds(i));
        bool ok = this->store().Insert(r).ok();
        r.status.state = JobState::kExited;
        r.status.ended_at = kT0 + absl::Seconds(i + 1);
        ok = ok && this->store().Update(r).ok();
        ok = ok &&
             this->store().List(JobQuery{owner, std::nullopt, "", 10, ""}).ok();
        if (!ok) failures.fetch_add(1);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  for (int t = 0; t < kThreads; ++t) {
    const std::string owner = absl::StrCat("owner-", t);
    JobQuery query{owner, JobState::kExited, "", 1000, ""};
    EXPECT_EQ(this->ListAll(query).size(), static_cast<size_t>(kPerThread));
  }
}

}  // namespace
}  // namespace cmdctl::test

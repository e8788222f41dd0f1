// The fake's own switches and inspection (its JobStore behaviour is held to
// the SQLite store's by job_store_contract_test.cc).
#include "tests/fakes/fake_job_store.h"

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/job_store/store_test_support.h"
#include "tests/support/status_assert.h"

namespace cmdctl::test {
namespace {

using ::testing::_;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;

const absl::Time kT0 = absl::FromUnixSeconds(1700000000);

TEST(FakeJobStoreTest, InsertErrorFailsInsertAndStoresNothingUntilSwitchedOff) {
  FakeJobStore store;
  store.set_insert_error(absl::ResourceExhaustedError("disk full"));
  EXPECT_EQ(store.Insert(SmallRecord("a", "alice", kT0)).code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(store.records(), IsEmpty());
  store.set_insert_error(absl::OkStatus());
  ASSERT_OK(store.Insert(SmallRecord("a", "alice", kT0)));
  EXPECT_THAT(store.records(), ElementsAre(Pair("a", _)));
  EXPECT_EQ(store.calls().insert, 2);
}

TEST(FakeJobStoreTest, EverySwitchFailsItsMethodOnly) {
  FakeJobStore store;
  JobRecord record = SmallRecord("a", "alice", kT0);
  ASSERT_OK(store.Insert(record));
  const absl::Status error = absl::InternalError("injected");
  store.set_update_error(error);
  store.set_get_error(error);
  store.set_load_running_error(error);
  store.set_list_error(error);
  store.set_ended_before_error(error);
  store.set_delete_error(error);
  record.status.state = JobState::kExited;
  EXPECT_EQ(store.Update(record), error);
  EXPECT_EQ(store.Get("a").status(), error);
  EXPECT_EQ(store.LoadRunning().status(), error);
  EXPECT_EQ(store.List(JobQuery{"alice", std::nullopt, "", 10, ""}).status(),
            error);
  EXPECT_EQ(store.EndedBefore(absl::InfiniteFuture(), 10).status(), error);
  EXPECT_EQ(store.Delete("a"), error);
  // Nothing changed: the record is there, still running.
  ASSERT_EQ(store.records().size(), 1u);
  EXPECT_EQ(store.records().at("a").status.state, JobState::kRunning);
  EXPECT_OK(store.Insert(SmallRecord("b", "alice", kT0)));

  const FakeJobStore::CallCounts calls = store.calls();
  EXPECT_EQ(calls.insert, 2);
  EXPECT_EQ(calls.update, 1);
  EXPECT_EQ(calls.get, 1);
  EXPECT_EQ(calls.load_running, 1);
  EXPECT_EQ(calls.list, 1);
  EXPECT_EQ(calls.ended_before, 1);
  EXPECT_EQ(calls.remove, 1);
}

TEST(FakeJobStoreTest, KeepsTimesToTheNanosecondAsTheDatabaseDoes) {
  FakeJobStore store;
  JobRecord record = SmallRecord("a", "alice", kT0 + absl::Nanoseconds(0.25));
  ASSERT_OK(store.Insert(record));
  EXPECT_EQ(store.records().at("a").status.started_at, kT0);
}

}  // namespace
}  // namespace cmdctl::test

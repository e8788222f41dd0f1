// JobRegistry: jobs scoped by owner; another owner's job is NOT_FOUND exactly
// like an id that never existed.
#include "domain/job_registry.h"

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cmdctl {
namespace {

std::shared_ptr<Job> MakeJob(const std::string& id, const std::string& owner) {
  ProcessSpec spec;
  spec.job_id = id;
  spec.program = "true";
  spec.run_as = owner;
  return std::make_shared<Job>(id, owner, spec, absl::UnixEpoch());
}

std::vector<std::string> Ids(const std::vector<std::shared_ptr<Job>>& jobs) {
  std::vector<std::string> ids;
  for (const auto& j : jobs) ids.push_back(j->id());
  return ids;
}

TEST(JobRegistryTest, OwnerFindsItsJob) {
  JobRegistry registry;
  auto job = MakeJob("id-1", "alice");
  ASSERT_TRUE(registry.Add(job).ok());
  absl::StatusOr<std::shared_ptr<Job>> found = registry.Find("alice", "id-1");
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(found->get(), job.get());
}

TEST(JobRegistryTest, ReservedIdIsInvisibleUntilAdded) {
  JobRegistry registry;
  ASSERT_TRUE(registry.Reserve("id-1", "alice", 0).ok());
  EXPECT_EQ(registry.Find("alice", "id-1").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_TRUE(registry.All().empty());
  ASSERT_TRUE(registry.Add(MakeJob("id-1", "alice")).ok());
  EXPECT_TRUE(registry.Find("alice", "id-1").ok());
}

TEST(JobRegistryTest, ReservingATakenOrClaimedIdFails) {
  JobRegistry registry;
  ASSERT_TRUE(registry.Add(MakeJob("taken", "alice")).ok());
  EXPECT_EQ(registry.Reserve("taken", "alice", 0).code(),
            absl::StatusCode::kAlreadyExists);
  ASSERT_TRUE(registry.Reserve("claimed", "alice", 0).ok());
  EXPECT_EQ(registry.Reserve("claimed", "alice", 0).code(),
            absl::StatusCode::kAlreadyExists);
}

TEST(JobRegistryTest, UnreserveFreesAClaimButNeverAJob) {
  JobRegistry registry;
  ASSERT_TRUE(registry.Reserve("claimed", "alice", 0).ok());
  registry.Unreserve("claimed");
  EXPECT_TRUE(registry.Reserve("claimed", "alice", 0).ok());
  ASSERT_TRUE(registry.Add(MakeJob("job", "alice")).ok());
  registry.Unreserve("job");
  EXPECT_TRUE(registry.Find("alice", "job").ok());
}

TEST(JobRegistryTest, UnknownIdIsNotFound) {
  JobRegistry registry;
  EXPECT_EQ(registry.Find("alice", "nope").status().code(),
            absl::StatusCode::kNotFound);
}

TEST(JobRegistryTest, AnotherOwnersJobIsNotFoundExactlyLikeAnUnknownId) {
  JobRegistry with_job;
  ASSERT_TRUE(with_job.Add(MakeJob("id-1", "alice")).ok());
  JobRegistry without_job;
  ASSERT_TRUE(without_job.Add(MakeJob("id-2", "alice")).ok());

  const absl::Status others = with_job.Find("bob", "id-1").status();
  const absl::Status unknown = without_job.Find("bob", "id-1").status();
  EXPECT_EQ(others.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(others, unknown);  // code and message: nothing tells them apart
  EXPECT_EQ(others.message().find("alice"), absl::string_view::npos);
}

TEST(JobRegistryTest, EmptyOwnerFindsNothing) {
  JobRegistry registry;
  ASSERT_TRUE(registry.Add(MakeJob("id-1", "alice")).ok());
  EXPECT_EQ(registry.Find("", "id-1").status().code(),
            absl::StatusCode::kNotFound);
}

TEST(JobRegistryTest, CountsEachOwnersJobsAndClaims) {
  JobRegistry registry;
  ASSERT_TRUE(registry.Add(MakeJob("zz", "alice")).ok());
  ASSERT_TRUE(registry.Add(MakeJob("mm", "bob")).ok());
  ASSERT_TRUE(registry.Reserve("aa", "alice", 0).ok());
  EXPECT_EQ(registry.Count("alice"), 2u);
  EXPECT_EQ(registry.Count("bob"), 1u);
  EXPECT_EQ(registry.Count("carol"), 0u);
  registry.Unreserve("aa");
  registry.Remove("mm");
  EXPECT_EQ(registry.Count("alice"), 1u);
  EXPECT_EQ(registry.Count("bob"), 0u);
  EXPECT_EQ(registry.FindAny("mm"), nullptr);
}

TEST(JobRegistryTest, QuotaRefusesOneMoreClaimNamingTheLimit) {
  JobRegistry registry;
  ASSERT_TRUE(registry.Reserve("a1", "alice", 2).ok());
  ASSERT_TRUE(registry.Add(MakeJob("a1", "alice")).ok());
  ASSERT_TRUE(registry.Reserve("a2", "alice", 2).ok());
  const absl::Status third = registry.Reserve("a3", "alice", 2);
  EXPECT_EQ(third.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(third.message().find("2"), absl::string_view::npos) << third;
  EXPECT_NE(third.message().find("--max_jobs_per_identity"),
            absl::string_view::npos);
  // Another identity is not affected; a freed slot can be taken again.
  EXPECT_TRUE(registry.Reserve("b1", "bob", 2).ok());
  registry.Unreserve("a2");
  EXPECT_TRUE(registry.Reserve("a3", "alice", 2).ok());
  registry.Remove("a1");
  EXPECT_TRUE(registry.Reserve("a4", "alice", 2).ok());
}

TEST(JobRegistryTest, TakenIdIsAlreadyExistsAndKeepsTheFirstJob) {
  JobRegistry registry;
  auto first = MakeJob("id-1", "alice");
  ASSERT_TRUE(registry.Add(first).ok());
  EXPECT_EQ(registry.Add(MakeJob("id-1", "bob")).code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(registry.Find("alice", "id-1").value().get(), first.get());
  EXPECT_EQ(registry.Find("bob", "id-1").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(registry.Count("bob"), 0u);
  EXPECT_EQ(registry.All().size(), 1u);
}

TEST(JobRegistryTest, AllListsEveryOwnersJobs) {
  JobRegistry registry;
  ASSERT_TRUE(registry.Add(MakeJob("a", "alice")).ok());
  ASSERT_TRUE(registry.Add(MakeJob("b", "bob")).ok());
  EXPECT_THAT(Ids(registry.All()), ::testing::UnorderedElementsAre("a", "b"));
}

TEST(JobRegistryTest, ConcurrentAddsAndLookupsSeeConsistentState) {
  JobRegistry registry;
  constexpr int kThreads = 4;
  constexpr int kPerThread = 200;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&registry, t] {
      const std::string owner = absl::StrCat("owner", t);
      for (int i = 0; i < kPerThread; ++i) {
        const std::string id = absl::StrCat(t, "-", i);
        ASSERT_TRUE(registry.Add(MakeJob(id, owner)).ok());
        ASSERT_TRUE(registry.Find(owner, id).ok());
        // Another thread's owner never sees it.
        ASSERT_FALSE(
            registry.Find(absl::StrCat("owner", (t + 1) % kThreads), id).ok());
        registry.Count(owner);
        registry.All();
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(registry.All().size(), size_t{kThreads * kPerThread});
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(registry.Count(absl::StrCat("owner", t)), size_t{kPerThread});
    for (int i = 0; i < kPerThread; ++i) {
      EXPECT_NE(registry.FindAny(absl::StrCat(t, "-", i)), nullptr);
    }
  }
}

}  // namespace
}  // namespace cmdctl

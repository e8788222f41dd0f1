// OutputBudget: the server-wide allowance for large output reads.
#include "domain/output_budget.h"

#include <atomic>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace cmdctl {
namespace {

TEST(OutputBudgetTest, ReservesUpToTheTotalAndRefusesMore) {
  OutputBudget budget(10);
  EXPECT_TRUE(budget.TryReserve(4));
  EXPECT_TRUE(budget.TryReserve(6));
  EXPECT_EQ(budget.reserved(), 10u);
  EXPECT_FALSE(budget.TryReserve(1));
  EXPECT_EQ(budget.reserved(), 10u);  // a refusal reserves nothing
  budget.Release(4);
  EXPECT_EQ(budget.reserved(), 6u);
  EXPECT_FALSE(budget.TryReserve(5));
  EXPECT_TRUE(budget.TryReserve(4));
  budget.Release(10);
  EXPECT_EQ(budget.reserved(), 0u);
}

TEST(OutputBudgetTest, MoreThanTheTotalIsNeverReserved) {
  OutputBudget budget(8);
  EXPECT_FALSE(budget.TryReserve(9));
  EXPECT_EQ(budget.reserved(), 0u);
  OutputBudget none(0);
  EXPECT_FALSE(none.TryReserve(1));
  EXPECT_TRUE(none.TryReserve(0));
}

TEST(OutputBudgetTest, ReleasingMoreThanReservedDoesNotWrapAround) {
  OutputBudget budget(8);
  ASSERT_TRUE(budget.TryReserve(2));
  budget.Release(5);
  EXPECT_EQ(budget.reserved(), 0u);
  EXPECT_FALSE(budget.TryReserve(9));
  EXPECT_TRUE(budget.TryReserve(8));
}

// Readers on many threads: what they hold together never exceeds the total,
// and everything comes back. (Also for ThreadSanitizer.)
TEST(OutputBudgetTest, ConcurrentReadersNeverHoldMoreThanTheTotal) {
  constexpr size_t kTotal = 3 * 256;
  OutputBudget budget(kTotal);
  std::atomic<size_t> held{0};
  std::atomic<size_t> most{0};
  std::atomic<int> granted{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 8; ++t) {
    readers.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        if (!budget.TryReserve(256)) continue;
        ++granted;
        const size_t now = held.fetch_add(256) + 256;
        size_t seen = most.load();
        while (now > seen && !most.compare_exchange_weak(seen, now)) {
        }
        held.fetch_sub(256);
        budget.Release(256);
      }
    });
  }
  for (std::thread& reader : readers) reader.join();
  EXPECT_GT(granted.load(), 0);
  EXPECT_LE(most.load(), kTotal);
  EXPECT_EQ(budget.reserved(), 0u);
}

}  // namespace
}  // namespace cmdctl

#include "os_adapter/random_id.h"

#include <set>

#include "domain/uuid.h"
#include "gtest/gtest.h"

namespace cmdctl {
namespace {

TEST(NewJobIdTest, IsAVersion4Uuid) {
  const std::string id = NewJobId();
  EXPECT_TRUE(IsUuidV4(id)) << id;
}

TEST(NewJobIdTest, IdsDoNotRepeat) {
  std::set<std::string> ids;
  for (int i = 0; i < 10000; ++i) ids.insert(NewJobId());
  EXPECT_EQ(ids.size(), 10000u);
}

}  // namespace
}  // namespace cmdctl

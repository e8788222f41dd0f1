// Status assertions for tests (LevelDB's testutil habit): one line per
// expectation, and the status's code and message in the failure.
//
//   ASSERT_OK(host.Start(spec, observer));
//   EXPECT_OK(store.Delete(id));
//
// Both take an absl::Status or an absl::StatusOr<T> (the status is copied:
// `expr` may be a temporary).
#ifndef CMDCTL_TESTS_SUPPORT_STATUS_ASSERT_H_
#define CMDCTL_TESTS_SUPPORT_STATUS_ASSERT_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gtest/gtest.h"

namespace cmdctl::test {

inline const absl::Status& StatusOf(const absl::Status& status) {
  return status;
}
template <typename T>
const absl::Status& StatusOf(const absl::StatusOr<T>& status_or) {
  return status_or.status();
}

}  // namespace cmdctl::test

#define CMDCTL_STATUS_OK_IMPL_(expr, fatal)                               \
  do {                                                                    \
    const ::absl::Status cmdctl_status_ = ::cmdctl::test::StatusOf(expr); \
    if (!cmdctl_status_.ok()) {                                           \
      fatal << #expr << " is " << cmdctl_status_;                         \
    }                                                                     \
  } while (false)

#define ASSERT_OK(expr) CMDCTL_STATUS_OK_IMPL_(expr, GTEST_FAIL())
#define EXPECT_OK(expr) CMDCTL_STATUS_OK_IMPL_(expr, ADD_FAILURE())

#endif  // CMDCTL_TESTS_SUPPORT_STATUS_ASSERT_H_

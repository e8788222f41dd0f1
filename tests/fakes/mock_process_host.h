// gMock mocks of the OS seam, for interaction tests ("Stop sends TERM once").
#ifndef CMDCTL_TESTS_FAKES_MOCK_PROCESS_HOST_H_
#define CMDCTL_TESTS_FAKES_MOCK_PROCESS_HOST_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "domain/process_host.h"
#include "gmock/gmock.h"

namespace cmdctl::test {

class MockProcessHost : public ProcessHost {
 public:
  MOCK_METHOD(absl::StatusOr<StartedProcess>, Start,
              (const ProcessSpec& spec,
               std::shared_ptr<ProcessObserver> observer),
              (override));
  MOCK_METHOD(absl::StatusOr<std::optional<JobEnd>>, Attach,
              (const std::string& job_id, const std::string& host_state,
               std::shared_ptr<ProcessObserver> observer),
              (override));
  MOCK_METHOD(std::vector<std::string>, Leftovers, (), (override));
  MOCK_METHOD(void, Release, (const std::string& job_id), (override));
  MOCK_METHOD(absl::Status, Discard, (const std::string& job_id), (override));
  MOCK_METHOD(absl::Status, Terminate, (const std::string& job_id), (override));
  MOCK_METHOD(absl::Status, Kill, (const std::string& job_id), (override));
  MOCK_METHOD(absl::StatusOr<LiveStats>, Stats, (const std::string& job_id),
              (override));
  MOCK_METHOD(absl::StatusOr<std::unique_ptr<OutputReader>>, OpenOutput,
              (const OutputSource& source), (override));
  MOCK_METHOD(absl::Status, RemoveOutput,
              (const std::string& job_id, const std::string& host_state),
              (override));
  MOCK_METHOD(absl::Status, CheckLimits, (const ResourceLimits& limits),
              (override));
  MOCK_METHOD(absl::Time, Now, (), (override));
  MOCK_METHOD(TimerId, RunAfter,
              (absl::Duration delay, std::function<void()> fn), (override));
  MOCK_METHOD(void, CancelTimer, (TimerId id), (override));
};

class MockOutputReader : public OutputReader {
 public:
  MOCK_METHOD(absl::StatusOr<StreamWindow>, Window, (OutputStream stream),
              (override));
  MOCK_METHOD(absl::StatusOr<ReadResult>, Read,
              (OutputStream stream, int64_t offset, absl::Span<char> buffer),
              (override));
  MOCK_METHOD(absl::Status, Watch, (), (override));
};

}  // namespace cmdctl::test

#endif  // CMDCTL_TESTS_FAKES_MOCK_PROCESS_HOST_H_

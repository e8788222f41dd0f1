#include "tests/job_store/store_test_support.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace cmdctl::test {
namespace {

// Every byte but NUL, and a line break and a tab in the middle of text.
std::string OddBytes(int seed) {
  std::string bytes = absl::StrCat("line ", seed, "\nnext\tline\r\n");
  for (int b = 1; b < 256; ++b) bytes.push_back(static_cast<char>(b));
  return bytes;
}

template <typename T>
void Compare(const char* field, const T& expected, const T& actual,
             std::string& differences) {
  if (!(expected == actual)) {
    absl::StrAppend(&differences, " ", field);
  }
}

}  // namespace

TempDir::TempDir() {
  const char* base = getenv("TMPDIR");
  std::string tmpl =
      absl::StrCat(base != nullptr && *base != '\0' ? base : "/tmp",
                   "/cmdctl-store-test.XXXXXX");
  if (mkdtemp(tmpl.data()) == nullptr) {
    ADD_FAILURE() << "mkdtemp " << tmpl << " failed";
  }
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

JobRecord FullRecord(const std::string& job_id, const std::string& owner,
                     absl::Time started_at, int seed) {
  JobRecord record;
  JobStatus& s = record.status;
  s.job_id = job_id;
  s.owner = owner;
  s.run_as = absl::StrCat("runner-", seed);
  s.command = absl::StrCat("/usr/bin/odd command ", seed, " \x01\x7f\xff");
  s.args = {OddBytes(seed),
            "",
            " ",
            absl::StrCat("--seed=", seed),
            std::string(5000 + seed, 'x'),
            "\xc3\x28 not UTF-8"};
  s.state = seed % 2 == 0 ? JobState::kSignaled : JobState::kStopped;
  s.pid = 4000000 + seed;
  s.exit_code = -3 - seed;
  s.signal = 9 + seed;
  s.started_at = started_at;
  s.ended_at = started_at + absl::Seconds(90) + absl::Nanoseconds(seed);
  s.stop_requested = true;
  s.limits = ResourceLimits{(1LL << 40) + seed, 1500 + seed, 77 + seed,
                            123456789 + seed, 987654321 + seed};
  s.timeout = absl::Hours(2) + absl::Nanoseconds(seed);
  s.usage = ResourceUsage{absl::Seconds(3) + absl::Nanoseconds(7 + seed),
                          absl::Milliseconds(5) + absl::Nanoseconds(seed),
                          (3LL << 33) + seed, 11 + seed, 13 + seed};
  s.oom_killed = true;
  s.timed_out = true;
  s.output[0] = StreamTotals{(1LL << 35) + seed, 1024 + seed, true};
  s.output[1] = StreamTotals{77 + seed, 0, false};
  record.host_state = OddBytes(seed + 100);
  record.timeout_at = started_at + absl::Hours(2) + absl::Nanoseconds(3);
  record.kill_at = started_at + absl::Minutes(1) + absl::Nanoseconds(seed);
  return record;
}

JobRecord SmallRecord(const std::string& job_id, const std::string& owner,
                      absl::Time started_at, JobState state,
                      absl::Time ended_at) {
  JobRecord record;
  record.status.job_id = job_id;
  record.status.owner = owner;
  record.status.command = "/bin/true";
  record.status.started_at = started_at;
  record.status.state = state;
  record.status.ended_at = ended_at;
  return record;
}

::testing::AssertionResult SameRecord(const JobRecord& expected,
                                      const JobRecord& actual) {
  const JobStatus& e = expected.status;
  const JobStatus& a = actual.status;
  std::string d;
  Compare("job_id", e.job_id, a.job_id, d);
  Compare("owner", e.owner, a.owner, d);
  Compare("run_as", e.run_as, a.run_as, d);
  Compare("command", e.command, a.command, d);
  Compare("args", e.args, a.args, d);
  Compare("state", e.state, a.state, d);
  Compare("pid", e.pid, a.pid, d);
  Compare("exit_code", e.exit_code, a.exit_code, d);
  Compare("signal", e.signal, a.signal, d);
  Compare("started_at", e.started_at, a.started_at, d);
  Compare("ended_at", e.ended_at, a.ended_at, d);
  Compare("stop_requested", e.stop_requested, a.stop_requested, d);
  Compare("limits", e.limits, a.limits, d);
  Compare("timeout", e.timeout, a.timeout, d);
  Compare("usage.cpu_user", e.usage.cpu_user, a.usage.cpu_user, d);
  Compare("usage.cpu_system", e.usage.cpu_system, a.usage.cpu_system, d);
  Compare("usage.memory_peak_bytes", e.usage.memory_peak_bytes,
          a.usage.memory_peak_bytes, d);
  Compare("usage.io_read_bytes", e.usage.io_read_bytes, a.usage.io_read_bytes,
          d);
  Compare("usage.io_write_bytes", e.usage.io_write_bytes,
          a.usage.io_write_bytes, d);
  Compare("oom_killed", e.oom_killed, a.oom_killed, d);
  Compare("timed_out", e.timed_out, a.timed_out, d);
  for (int i = 0; i < 2; ++i) {
    const char* stream = i == 0 ? "stdout" : "stderr";
    Compare(absl::StrCat(stream, ".written").c_str(), e.output[i].written,
            a.output[i].written, d);
    Compare(absl::StrCat(stream, ".discarded").c_str(), e.output[i].discarded,
            a.output[i].discarded, d);
    Compare(absl::StrCat(stream, ".incomplete").c_str(), e.output[i].incomplete,
            a.output[i].incomplete, d);
  }
  Compare("host_state", expected.host_state, actual.host_state, d);
  Compare("timeout_at", expected.timeout_at, actual.timeout_at, d);
  Compare("kill_at", expected.kill_at, actual.kill_at, d);
  if (d.empty()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "record of job " << e.job_id << " differs in:" << d;
}

std::vector<std::string> IdsOf(const std::vector<JobRecord>& records) {
  std::vector<std::string> ids;
  for (const JobRecord& r : records) ids.push_back(r.status.job_id);
  return ids;
}

std::string FileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace cmdctl::test

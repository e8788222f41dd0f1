// LinuxProcessHost's limits enforced by the cgroup v2 controllers (SPEC
// §5a): memory.max with the OOM cause, pids.max, cpu.max, io.max. They need
// a host whose controllers the test can have (a pure cgroup v2 host, the
// test alone in its cgroup): the VM of ci/vm-tests.sh. Elsewhere they skip,
// unless CMDCTL_REQUIRE_CGROUP_CONTROLLERS=1 (the VM sets it).
#include <signal.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "integration_tests/common/test_cgroups.h"
#include "integration_tests/os_adapter/limits_fixture.h"

namespace cmdctl::it {
namespace {

using ::testing::HasSubstr;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return std::string(absl::StripTrailingAsciiWhitespace(ss.str()));
}

class EnforcedLimitsTest : public LimitsTest {
 protected:
  void SetUp() override { StartHost(test::AllTestControllers()); }
};

ResourceLimits Memory(int64_t bytes) {
  ResourceLimits l;
  l.memory_bytes = bytes;
  return l;
}

TEST_F(EnforcedLimitsTest, LimitsBecomeTheJobsCgroupFiles) {
  ResourceLimits limits;
  limits.memory_bytes = 64 * kMiB;
  limits.cpu_millicores = 500;
  limits.pids = 8;
  limits.io_read_bytes_per_second = kMiB;
  limits.io_write_bytes_per_second = 2 * kMiB;
  ProcessSpec spec = Spec("sleep", {"60"}, limits);
  auto observer = std::make_shared<EndObserver>();
  ASSERT_TRUE(host_->Start(spec, observer).ok());
  const std::string dir = JobCgroup(spec.job_id);
  EXPECT_EQ(ReadFile(dir + "/memory.max"), "67108864");
  EXPECT_EQ(ReadFile(dir + "/memory.swap.max"), "0");
  EXPECT_EQ(ReadFile(dir + "/memory.oom.group"), "1");
  EXPECT_EQ(ReadFile(dir + "/cpu.max"), "50000 100000");
  EXPECT_EQ(ReadFile(dir + "/pids.max"), "8");
  const std::string io = ReadFile(dir + "/io.max");
  EXPECT_THAT(io, HasSubstr(" rbps=1048576 wbps=2097152 "));
  // On every block device but loop and ram ones: here, the VM's disk.
  if (const char* disk = getenv("CMDCTL_TEST_SCRATCH_DISK")) {
    struct stat st;
    ASSERT_EQ(stat(disk, &st), 0) << disk;
    EXPECT_THAT(io, HasSubstr(absl::StrCat(major(st.st_rdev), ":",
                                           minor(st.st_rdev), " rbps=")));
  }
  ASSERT_TRUE(host_->Kill(spec.job_id).ok());
  ASSERT_TRUE(observer->Wait());
}

TEST_F(EnforcedLimitsTest, OutOfMemoryKillsTheJobAndSaysSo) {
  // dd's 300 MiB buffer, filled from /dev/zero, in a 64 MiB cgroup.
  Ended r = RunToEnd(
      Spec("dd", {"if=/dev/zero", "of=/dev/null", "bs=300M", "count=1"},
           Memory(64 * kMiB)));
  ASSERT_TRUE(r.end);
  EXPECT_TRUE(r.end->exit.signaled && r.end->exit.signal == SIGKILL)
      << Describe(r.end->exit) << "\n"
      << r.err;
  EXPECT_TRUE(r.end->oom_killed);
  EXPECT_GE(r.end->usage.memory_peak_bytes, 48 * kMiB);
  EXPECT_LE(r.end->usage.memory_peak_bytes, 64 * kMiB);
  Observed("memory_peak_bytes", absl::StrCat(r.end->usage.memory_peak_bytes));
}

TEST_F(EnforcedLimitsTest, OomKillEndsTheWholeTree) {
  // memory.oom.group: the shell that started the allocator goes too, so
  // "survived" is never printed.
  Ended r = RunToEnd(Spec(
      "sh",
      {"-c", "dd if=/dev/zero of=/dev/null bs=300M count=1; echo survived"},
      Memory(64 * kMiB)));
  ASSERT_TRUE(r.end);
  EXPECT_TRUE(r.end->exit.signaled && r.end->exit.signal == SIGKILL)
      << Describe(r.end->exit);
  EXPECT_TRUE(r.end->oom_killed);
  EXPECT_EQ(r.out, "");
}

TEST_F(EnforcedLimitsTest, KillBySignalNineIsNotAnOutOfMemoryKill) {
  Ended r = RunToEnd(Spec("sh", {"-c", "kill -9 $$"}, Memory(64 * kMiB)));
  ASSERT_TRUE(r.end);
  EXPECT_TRUE(r.end->exit.signaled && r.end->exit.signal == SIGKILL)
      << Describe(r.end->exit);
  EXPECT_FALSE(r.end->oom_killed);
  EXPECT_LT(r.end->usage.memory_peak_bytes, 64 * kMiB);
  EXPECT_GT(r.end->usage.memory_peak_bytes, 0);  // memory.peak, read
}

TEST_F(EnforcedLimitsTest, PidsLimitRefusesForks) {
  ResourceLimits limits;
  limits.pids = 8;
  // 20 sleeps; counts the forks that fail.
  Ended r = RunToEnd(Spec(
      "perl",
      {"-e",
       "my ($ok, $no) = (0, 0); for (1 .. 20) { my $p = fork; if (!defined "
       "$p) { $no++ } elsif ($p == 0) { exec 'sleep', '30'; exit 1 } else { "
       "$ok++ } } print qq($ok $no\\n)"},
      limits));
  ASSERT_TRUE(r.end);
  EXPECT_FALSE(r.end->exit.signaled) << Describe(r.end->exit);
  std::vector<std::string> counts =
      absl::StrSplit(absl::StripTrailingAsciiWhitespace(r.out), ' ');
  int started = -1, refused = -1;
  ASSERT_EQ(counts.size(), 2u) << r.out << r.err;
  ASSERT_TRUE(absl::SimpleAtoi(counts[0], &started));
  ASSERT_TRUE(absl::SimpleAtoi(counts[1], &refused));
  // The job itself is one of the 8.
  EXPECT_GE(started, 1);
  EXPECT_LE(started, 7);
  EXPECT_EQ(started + refused, 20);
  Observed("forks started/refused", absl::StrCat(started, "/", refused));
}

TEST_F(EnforcedLimitsTest, CpuLimitThrottlesABusyLoopToItsShare) {
  ResourceLimits limits;
  limits.cpu_millicores = 500;
  // Busy for 3 s by its own clock, then prints the CPU its start took
  // (perl's, slow under emulation) and how long it was busy: the cgroup
  // must have given it half a CPU of that time (unthrottled: all of it).
  Ended r =
      RunToEnd(Spec("perl",
                    {"-MTime::HiRes=time", "-e",
                     "my @c = times; my $t = time; 1 while time - $t < 3; "
                     "printf qq(%.3f %.3f\\n), $c[0] + $c[1], time - $t"},
                    limits));
  ASSERT_TRUE(r.end);
  ASSERT_FALSE(r.end->exit.signaled) << Describe(r.end->exit);
  ASSERT_EQ(r.end->exit.exit_code, 0) << r.err;
  std::vector<std::string> figures =
      absl::StrSplit(absl::StripTrailingAsciiWhitespace(r.out), ' ');
  double start_s = 0, busy_s = 0;
  ASSERT_EQ(figures.size(), 2u) << r.out << r.err;
  ASSERT_TRUE(absl::SimpleAtod(figures[0], &start_s)) << r.out;
  ASSERT_TRUE(absl::SimpleAtod(figures[1], &busy_s)) << r.out;
  const absl::Duration cpu = r.end->usage.cpu_user + r.end->usage.cpu_system;
  const absl::Duration share =
      absl::Seconds(start_s) + absl::Seconds(busy_s) * 0.5;
  EXPECT_GE(cpu, share * 0.7) << "busy " << busy_s << " s";
  EXPECT_LE(cpu, share * 1.3) << "busy " << busy_s << " s";
  Observed("cpu/share ms", absl::StrCat(absl::ToInt64Milliseconds(cpu), "/",
                                        absl::ToInt64Milliseconds(share)));
}

// dd's own "copied, N s" of each run, in its order.
std::vector<double> DdSeconds(const std::string& stderr_text) {
  std::vector<double> out;
  // "4194304 bytes (4.2 MB, 4.0 MiB) copied, 4.02567 s, 1.0 MB/s"
  for (absl::string_view line : absl::StrSplit(stderr_text, '\n')) {
    std::vector<absl::string_view> parts = absl::StrSplit(line, ", ");
    for (size_t i = 0; i + 1 < parts.size(); ++i) {
      double s = 0;
      if (absl::EndsWith(parts[i], " copied") &&
          absl::SimpleAtod(absl::StripSuffix(parts[i + 1], " s"), &s)) {
        out.push_back(s);
      }
    }
  }
  return out;
}

TEST_F(EnforcedLimitsTest, IoLimitsThrottleDirectWritesAndReadsOfTheDisk) {
  // A disk the test may overwrite: the VM's scratch disk, never a real one.
  const char* disk = getenv("CMDCTL_TEST_SCRATCH_DISK");
  if (disk == nullptr) {
    if (test::CgroupControllersRequired()) {
      FAIL() << "CMDCTL_TEST_SCRATCH_DISK (a block device the test may "
                "overwrite) is not set";
    }
    GTEST_SKIP() << "no CMDCTL_TEST_SCRATCH_DISK";
  }
  struct stat st;
  ASSERT_EQ(stat(disk, &st), 0) << disk;
  ASSERT_TRUE(S_ISBLK(st.st_mode)) << disk;
  ResourceLimits limits;
  limits.io_read_bytes_per_second = kMiB;
  limits.io_write_bytes_per_second = kMiB;
  // 4 MiB written, then read, past the page cache, at 1 MiB/s each.
  const std::string script =
      absl::StrCat("dd if=/dev/zero of=", disk,
                   " bs=1M count=4 oflag=direct && dd if=", disk,
                   " of=/dev/null bs=1M count=4 iflag=direct");
  Ended r = RunToEnd(Spec("sh", {"-c", script}, limits, "root"));
  ASSERT_TRUE(r.end);
  EXPECT_FALSE(r.end->exit.signaled) << Describe(r.end->exit);
  EXPECT_EQ(r.end->exit.exit_code, 0) << r.err;
  const std::vector<double> seconds = DdSeconds(r.err);
  ASSERT_EQ(seconds.size(), 2u) << r.err;
  EXPECT_GE(seconds[0], 3.0) << "write: " << r.err;
  EXPECT_GE(seconds[1], 3.0) << "read: " << r.err;
  EXPECT_LE(seconds[0] + seconds[1], 30.0) << r.err;  // a bound, not a timing
  EXPECT_GE(r.end->usage.io_write_bytes, 4 * kMiB);
  EXPECT_LE(r.end->usage.io_write_bytes, 4 * kMiB + 512 * 1024);
  EXPECT_GE(r.end->usage.io_read_bytes, 4 * kMiB);
  EXPECT_LE(r.end->usage.io_read_bytes, 4 * kMiB + 512 * 1024);
  Observed("dd write/read s", absl::StrCat(seconds[0], "/", seconds[1]));
  Observed("io write/read bytes", absl::StrCat(r.end->usage.io_write_bytes, "/",
                                               r.end->usage.io_read_bytes));
}

// A cgroup with the memory controller only: memory limits work, the others
// are refused naming their controller.
class MemoryOnlyTest : public LimitsTest {
 protected:
  void SetUp() override { StartHost({"memory"}); }
};

TEST_F(MemoryOnlyTest, AMissingControllerIsNamedWhileThePresentOneWorks) {
  ASSERT_EQ(test::CgroupControllersOf(cgroup_),
            std::vector<std::string>{"memory"});
  ResourceLimits cpu, pids, io;
  cpu.cpu_millicores = 500;
  pids.pids = 8;
  io.io_write_bytes_per_second = kMiB;
  for (auto [limits, name] :
       {std::pair{cpu, " cpu "}, std::pair{pids, " pids "},
        std::pair{io, " io "}}) {
    ProcessSpec spec = Spec("true", {}, limits);
    absl::StatusOr<StartedProcess> started =
        host_->Start(spec, std::make_shared<EndObserver>());
    EXPECT_EQ(started.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_THAT(std::string(started.status().message()), HasSubstr(name));
    ExpectNothingLeft(spec.job_id);
  }
  ProcessSpec spec = Spec("cat", {"/proc/self/cgroup"}, Memory(64 * kMiB));
  Ended r = RunToEnd(spec);
  ASSERT_TRUE(r.end);
  EXPECT_EQ(r.end->exit.exit_code, 0) << Describe(r.end->exit);
  EXPECT_THAT(r.out, HasSubstr("/host/" + spec.job_id));
}

}  // namespace
}  // namespace cmdctl::it

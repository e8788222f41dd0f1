// JobManager and its records (SPEC §9) over a fake host and a fake store:
// the record committed before Run returns and again at the end, a failed
// commit, restarts (Recover: running, ended while down, LOST, leftovers,
// deadlines kept), paging, RemoveProcess and retention.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/domain/job_manager_support.h"

namespace cmdctl::test {
namespace {

using ::testing::ElementsAre;
using SignalResponse = FakeProcessHost::SignalResponse;

JobRecord RecordOf(FakeJobStore& store, const std::string& id) {
  auto records = store.records();
  auto it = records.find(id);
  EXPECT_NE(it, records.end()) << "no record of " << id;
  return it == records.end() ? JobRecord{} : it->second;
}

// A server that restarts over the same host (whose jobs run on) and store.
class RestartTest : public ::testing::Test {
 protected:
  RestartTest() { Start(); }

  void Start(JobManagerOptions options = {}) {
    manager_ = std::make_unique<JobManager>(&host_, &store_, ids_, options);
  }
  // The server dies: its observers are gone, its jobs run on.
  void Crash() {
    host_.Crash();
    manager_.reset();
  }
  JobManager::Recovery Restart(JobManagerOptions options = {}) {
    Start(options);
    absl::StatusOr<JobManager::Recovery> r = manager_->Recover();
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : JobManager::Recovery{};
  }
  std::string RunOk(const RunRequest& req) {
    absl::StatusOr<JobStatus> s = manager_->Run(kAlice, req);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? s->job_id : "";
  }
  JobStatus StatusOf(const std::string& id) {
    absl::StatusOr<JobStatus> s = manager_->GetStatus("alice", id);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? *s : JobStatus{};
  }

  FakeProcessHost host_;
  FakeJobStore store_;
  const std::function<std::string()> ids_ = SequentialIds();
  std::unique_ptr<JobManager> manager_;
};

// ---------------------------------------------------------------------------
// Records of running and ended jobs.

TEST_F(JobManagerTest, RunCommitsTheRecordBeforeItReturns) {
  RunRequest req = Cmd("sleep", {"10"});
  req.timeout = absl::Seconds(30);
  const std::string id = RunOk(kAlice, req);
  const JobRecord record = RecordOf(store_, id);
  EXPECT_EQ(record.status.state, JobState::kRunning);
  EXPECT_EQ(record.status.owner, "alice");
  EXPECT_EQ(record.status.command, "sleep");
  EXPECT_EQ(record.status.pid, host_.job(id).pid);
  EXPECT_EQ(record.host_state, FakeProcessHost::HostStateOf(id));
  EXPECT_EQ(record.status.timeout, absl::Seconds(30));
  EXPECT_EQ(record.timeout_at, record.status.started_at + absl::Seconds(30));
  EXPECT_EQ(record.kill_at, absl::InfiniteFuture());
}

TEST_F(JobManagerTest, FailedCommitFailsRunAndLeavesNoProcessNoRecord) {
  store_.set_insert_error(absl::ResourceExhaustedError("database disk full"));
  absl::StatusOr<JobStatus> run = manager_.Run(kAlice, Cmd("sleep"));
  EXPECT_EQ(run.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(run.status().message()),
              ::testing::HasSubstr("database disk full"));
  ASSERT_EQ(host_.snapshot().started_job_ids.size(), 1u);
  const std::string started = host_.snapshot().started_job_ids[0];
  EXPECT_TRUE(host_.job(started).discarded);  // killed, output removed
  EXPECT_FALSE(host_.job(started).holds_observer);
  EXPECT_TRUE(store_.records().empty());
  EXPECT_EQ(manager_.GetStatus("alice", started).status().code(),
            absl::StatusCode::kNotFound);
  // Its quota slot is free again.
  store_.set_insert_error(absl::OkStatus());
  EXPECT_TRUE(manager_.Run(kAlice, Cmd("sleep")).ok());
}

TEST_F(JobManagerTest, EndIsCommittedAndTheJobLeavesMemory) {
  const std::string id = RunSleep();
  host_.AppendOutput(id, OutputStream::kStdout, "hello\n");
  ResourceUsage usage;
  usage.cpu_user = absl::Milliseconds(120);
  usage.memory_peak_bytes = 4 << 20;
  host_.clock().AdvanceTime(absl::Seconds(3));
  host_.Exit(id, ExitInfo::Exited(4), usage);
  const JobRecord record = RecordOf(store_, id);
  EXPECT_EQ(record.status.state, JobState::kExited);
  EXPECT_EQ(record.status.exit_code, 4);
  EXPECT_EQ(record.status.ended_at - record.status.started_at,
            absl::Seconds(3));
  EXPECT_EQ(record.status.usage.cpu_user, absl::Milliseconds(120));
  EXPECT_EQ(record.status.usage.memory_peak_bytes, 4 << 20);
  EXPECT_EQ(record.status.totals(OutputStream::kStdout).written, 6);
  EXPECT_TRUE(host_.job(id).released);
  // Served from the record now.
  EXPECT_EQ(StatusOf(id).exit_code, 4);
  EXPECT_EQ(StatusOf(id).usage.cpu_user, absl::Milliseconds(120));
}

TEST_F(JobManagerTest, FailedCommitOfTheEndIsRetriedUntilItSticks) {
  const std::string id = RunSleep();
  store_.set_update_error(absl::ResourceExhaustedError("disk full"));
  host_.Exit(id, ExitInfo::Exited(0));
  EXPECT_EQ(RecordOf(store_, id).status.state, JobState::kRunning);
  EXPECT_EQ(StatusOf(id).state, JobState::kExited);  // memory knows
  EXPECT_FALSE(host_.job(id).released);  // its end is still the host's
  host_.clock().AdvanceTime(absl::Seconds(1));
  EXPECT_EQ(RecordOf(store_, id).status.state, JobState::kRunning);
  store_.set_update_error(absl::OkStatus());
  host_.clock().AdvanceTime(absl::Seconds(1));
  EXPECT_EQ(RecordOf(store_, id).status.state, JobState::kExited);
  EXPECT_TRUE(host_.job(id).released);
}

TEST_F(JobManagerTest, StopIsRecordedWithItsKillAppointment) {
  const std::string id = RunSleep();
  StopResult stop;
  manager_.Stop("alice", id, absl::Seconds(7), stop.Callback());
  const JobRecord record = RecordOf(store_, id);
  EXPECT_TRUE(record.status.stop_requested);
  EXPECT_EQ(record.kill_at, host_.Now() + absl::Seconds(7));
}

TEST_F(JobManagerTest, AnEndRecordedWhileAStopWritesItsRecordStaysRecorded) {
  // The stop reads the record (running, stop requested), the job ends and
  // its final record is written, then the stop's write lands: the store
  // must still say how the job ended, not that it runs.
  const std::string id = RunSleep();
  bool ended_in_between = false;
  store_.set_before_update([&](const JobRecord& r) {
    if (ended_in_between || r.status.state != JobState::kRunning ||
        !r.status.stop_requested) {
      return;
    }
    ended_in_between = true;
    host_.Exit(id, ExitInfo::Exited(0));
  });
  StopResult stop;
  manager_.Stop("alice", id, absl::Seconds(5), stop.Callback());
  ASSERT_TRUE(ended_in_between);
  EXPECT_EQ(RecordOf(store_, id).status.state, JobState::kStopped);
  EXPECT_EQ(StatusOf(id).state, JobState::kStopped);
  EXPECT_NE(StatusOf(id).ended_at, absl::InfinitePast());
}

TEST_F(JobManagerTest, RunningJobShowsLiveUsageAndOutputTotals) {
  const std::string id = RunSleep();
  ResourceUsage usage;
  usage.cpu_system = absl::Milliseconds(30);
  usage.io_write_bytes = 8192;
  host_.SetUsage(id, usage);
  host_.AppendOutput(id, OutputStream::kStderr, "oops");
  const JobStatus s = StatusOf(id);
  EXPECT_EQ(s.usage.cpu_system, absl::Milliseconds(30));
  EXPECT_EQ(s.usage.io_write_bytes, 8192);
  EXPECT_EQ(s.totals(OutputStream::kStderr).written, 4);
  std::vector<JobStatus> listed = ListAll(manager_, "alice");
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].usage.cpu_system, absl::Milliseconds(30));
}

// ---------------------------------------------------------------------------
// Restarts.

TEST_F(RestartTest, RunningJobIsFollowedAgainAfterARestart) {
  const std::string id = RunOk(Cmd("sleep", {"100"}));
  Crash();
  const JobManager::Recovery r = Restart();
  EXPECT_EQ(r.running, 1);
  EXPECT_EQ(host_.job(id).attach_count, 1);
  EXPECT_EQ(StatusOf(id).state, JobState::kRunning);
  // Its output is followed, and its end recorded, by the new server.
  host_.AppendOutput(id, OutputStream::kStdout, "after\n");
  auto cursor = manager_->OpenOutput("alice", id, Snapshot());
  ASSERT_TRUE(cursor.ok()) << cursor.status();
  EXPECT_EQ(DrainNow(**cursor).out, "after\n");
  host_.Exit(id, ExitInfo::Exited(3));
  EXPECT_EQ(RecordOf(store_, id).status.state, JobState::kExited);
  EXPECT_EQ(RecordOf(store_, id).status.exit_code, 3);
}

TEST_F(RestartTest, JobThatEndedWhileNoServerRanHasItsExactEnd) {
  const std::string id = RunOk(Cmd("sleep", {"100"}));
  Crash();
  host_.clock().AdvanceTime(absl::Seconds(9));
  host_.Exit(id, ExitInfo::Signaled(11));
  const absl::Time ended = host_.Now();
  host_.clock().AdvanceTime(absl::Minutes(5));  // the server is down a while
  const JobManager::Recovery r = Restart();
  EXPECT_EQ(r.ended, 1);
  EXPECT_EQ(r.lost, 0);
  const JobStatus s = StatusOf(id);
  EXPECT_EQ(s.state, JobState::kSignaled);
  EXPECT_EQ(s.signal, 11);
  EXPECT_EQ(s.ended_at, ended);  // when it ended, not when we learnt it
  EXPECT_EQ(RecordOf(store_, id).status.state, JobState::kSignaled);
  EXPECT_TRUE(host_.job(id).released);
}

TEST_F(RestartTest, UnknowableEndIsLostNeverASuccess) {
  const std::string id = RunOk(Cmd("sleep", {"100"}));
  Crash();
  host_.Exit(id, ExitInfo::Exited(0));
  host_.LoseEnd(id);  // e.g. the host rebooted
  const JobManager::Recovery r = Restart();
  EXPECT_EQ(r.lost, 1);
  const JobStatus s = StatusOf(id);
  EXPECT_EQ(s.state, JobState::kLost);
  EXPECT_EQ(s.exit_code, 0);
  EXPECT_EQ(s.signal, 0);
  EXPECT_EQ(RecordOf(store_, id).status.state, JobState::kLost);
}

TEST_F(RestartTest, JobStartedButNeverRecordedIsDiscarded) {
  // A crash between Start and the commit: the host has the job, the store
  // does not.
  ProcessSpec spec;
  spec.job_id = "f00dfeed-0000-4000-8000-000000000001";
  spec.program = "sleep";
  spec.run_as = "alice";
  ASSERT_TRUE(host_
                  .Start(spec, std::make_shared<Job>(spec.job_id, "alice", spec,
                                                     host_.Now()))
                  .ok());
  Crash();
  const JobManager::Recovery r = Restart();
  EXPECT_EQ(r.discarded, 1);
  EXPECT_TRUE(host_.job(spec.job_id).discarded);
  EXPECT_EQ(manager_->GetStatus("alice", spec.job_id).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(RestartTest, EndedJobWhoseReleaseWasLostIsReleased) {
  // Its end was committed, then the server died before the host dropped
  // its state: the host holds an ended job the store has as EXITED.
  ProcessSpec spec;
  spec.job_id = "f00dfeed-0000-4000-8000-000000000002";
  spec.program = "true";
  spec.run_as = "alice";
  auto job = std::make_shared<Job>(spec.job_id, "alice", spec, host_.Now());
  ASSERT_TRUE(host_.Start(spec, job).ok());
  host_.Exit(spec.job_id, ExitInfo::Exited(0));
  JobRecord record = job->Record();
  record.host_state = FakeProcessHost::HostStateOf(spec.job_id);
  ASSERT_TRUE(store_.Insert(record).ok());
  Crash();
  const JobManager::Recovery r = Restart();
  EXPECT_EQ(r.discarded, 0);
  EXPECT_TRUE(host_.job(spec.job_id).released);
  EXPECT_FALSE(host_.job(spec.job_id).output_removed);
  EXPECT_EQ(StatusOf(spec.job_id).state, JobState::kExited);
}

TEST_F(RestartTest, EndThatCouldNotBeCommittedIsRecordedAfterARestart) {
  store_.set_update_error(absl::UnavailableError("busy"));
  const std::string id = RunOk(Cmd("true"));
  host_.Exit(id, ExitInfo::Exited(5));
  Crash();
  store_.set_update_error(absl::OkStatus());
  const JobManager::Recovery r = Restart();
  EXPECT_EQ(r.ended, 1);
  EXPECT_EQ(RecordOf(store_, id).status.state, JobState::kExited);
  EXPECT_EQ(RecordOf(store_, id).status.exit_code, 5);
  EXPECT_TRUE(host_.job(id).released);
}

TEST_F(RestartTest, TimeoutIsKeptAcrossARestart) {
  RunRequest req = Cmd("sleep", {"100"});
  req.timeout = absl::Seconds(10);
  const std::string id = RunOk(req);
  host_.clock().AdvanceTime(absl::Seconds(4));
  Crash();
  host_.clock().AdvanceTime(absl::Seconds(2));
  Restart();
  host_.clock().AdvanceTime(absl::Seconds(4) - absl::Milliseconds(1));
  EXPECT_EQ(host_.job(id).terminate_count, 0);
  host_.clock().AdvanceTime(absl::Milliseconds(1));
  EXPECT_EQ(host_.job(id).terminate_count, 1);  // at started + 10 s
  host_.clock().AdvanceTime(absl::Seconds(5));  // the default grace
  EXPECT_EQ(host_.job(id).kill_count, 1);
  host_.clock().RunReady();
  const JobStatus s = StatusOf(id);
  EXPECT_EQ(s.state, JobState::kStopped);
  EXPECT_TRUE(s.timed_out);
  EXPECT_EQ(s.signal, FakeProcessHost::kSigKill);
}

TEST_F(RestartTest, TimeoutThatRanOutWhileDownStopsTheJobAtOnce) {
  RunRequest req = Cmd("sleep", {"100"});
  req.timeout = absl::Seconds(10);
  const std::string id = RunOk(req);
  Crash();
  host_.clock().AdvanceTime(absl::Minutes(1));
  Restart();
  host_.clock().RunReady();
  EXPECT_EQ(host_.job(id).terminate_count, 1);
}

TEST_F(RestartTest, PendingKillIsKeptAcrossARestart) {
  const std::string id = RunOk(Cmd("sleep", {"100"}));
  StopResult stop;
  manager_->Stop("alice", id, absl::Seconds(20), stop.Callback());
  EXPECT_EQ(host_.job(id).terminate_count, 1);
  host_.clock().AdvanceTime(absl::Seconds(5));
  Crash();
  Restart();
  host_.clock().AdvanceTime(absl::Seconds(15) - absl::Milliseconds(1));
  EXPECT_EQ(host_.job(id).kill_count, 0);
  host_.clock().AdvanceTime(absl::Milliseconds(1));
  EXPECT_EQ(host_.job(id).kill_count, 1);
  EXPECT_EQ(host_.job(id).terminate_count, 1);  // no second TERM
  host_.clock().RunReady();
  EXPECT_EQ(StatusOf(id).state, JobState::kStopped);  // not SIGNALED
}

TEST_F(RestartTest, JobThatCannotBeTakenUpKeepsItsRecordForTheNextStart) {
  const std::string id = RunOk(Cmd("sleep", {"100"}));
  Crash();
  host_.set_attach_error(absl::ResourceExhaustedError("out of fds"));
  const JobManager::Recovery r = Restart();
  EXPECT_EQ(r.failed, 1);
  EXPECT_EQ(RecordOf(store_, id).status.state, JobState::kRunning);
  EXPECT_FALSE(host_.job(id).discarded);
}

TEST_F(RestartTest, UnreadableRecordsFailTheStart) {
  Crash();
  store_.set_load_running_error(
      absl::InternalError("database disk image is "
                          "malformed"));
  Start();
  EXPECT_EQ(manager_->Recover().status().code(), absl::StatusCode::kInternal);
}

// ---------------------------------------------------------------------------
// ListProcesses pages.

TEST_F(JobManagerTest, ListPagesNewestFirstAndFiltersByState) {
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    ids.push_back(RunSleep());
    host_.clock().AdvanceTime(absl::Seconds(1));
  }
  host_.Exit(ids[1], ExitInfo::Exited(0));
  host_.Exit(ids[3], ExitInfo::Exited(1));
  JobQuery query;
  query.owner = "alice";
  query.page_size = 2;
  std::vector<std::string> seen;
  int pages = 0;
  for (;;) {
    absl::StatusOr<StatusPage> page = manager_.List(query);
    ASSERT_TRUE(page.ok()) << page.status();
    ++pages;
    EXPECT_LE(page->jobs.size(), 2u);
    for (const JobStatus& s : page->jobs) seen.push_back(s.job_id);
    if (page->next_page_token.empty()) break;
    query.page_token = page->next_page_token;
  }
  EXPECT_EQ(pages, 3);
  EXPECT_THAT(seen, ElementsAre(ids[4], ids[3], ids[2], ids[1], ids[0]));

  query = JobQuery{};
  query.owner = "alice";
  query.state = JobState::kRunning;
  absl::StatusOr<StatusPage> running = manager_.List(query);
  ASSERT_TRUE(running.ok());
  EXPECT_THAT(IdsOf(running->jobs), ElementsAre(ids[4], ids[2], ids[0]));
}

TEST_F(JobManagerTest, ListPageSizeDefaultsTo100AndNegativeIsInvalid) {
  for (int i = 0; i < 101; ++i) RunSleep();
  JobQuery query;
  query.owner = "alice";
  absl::StatusOr<StatusPage> page = manager_.List(query);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->jobs.size(), 100u);
  EXPECT_FALSE(page->next_page_token.empty());
  query.page_size = -1;
  EXPECT_EQ(manager_.List(query).status().code(),
            absl::StatusCode::kInvalidArgument);
  query.page_size = 5000;  // more than 1000: 1000
  page = manager_.List(query);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->jobs.size(), 101u);
}

TEST_F(JobManagerTest, ListByIdPrefixFindsOnlyTheCallersMatches) {
  const std::string a = RunSleep();
  const std::string b = RunOk(kBob, Cmd("sleep"));
  JobQuery query;
  query.owner = "alice";
  query.job_id_prefix = a.substr(0, 30);
  absl::StatusOr<StatusPage> page = manager_.List(query);
  ASSERT_TRUE(page.ok());
  EXPECT_THAT(IdsOf(page->jobs), ElementsAre(a));
  query.job_id_prefix = b;  // bob's job: nothing for alice
  page = manager_.List(query);
  ASSERT_TRUE(page.ok());
  EXPECT_TRUE(page->jobs.empty());
}

// ---------------------------------------------------------------------------
// RemoveProcess and retention.

TEST_F(JobManagerTest, RemoveDeletesAnEndedJobsRecordAndOutput) {
  const std::string id = RunSleep();
  EXPECT_EQ(manager_.Remove("alice", id).code(),
            absl::StatusCode::kFailedPrecondition);
  host_.Exit(id, ExitInfo::Exited(0));
  // Another identity: NOT_FOUND, exactly as an id that never existed.
  ManagerBench empty;
  const absl::Status others = manager_.Remove("bob", id);
  EXPECT_EQ(others.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(others, empty.manager.Remove("bob", id));
  EXPECT_FALSE(host_.job(id).output_removed);
  EXPECT_TRUE(manager_.Remove("alice", id).ok());
  EXPECT_TRUE(host_.job(id).output_removed);
  EXPECT_TRUE(store_.records().empty());
  EXPECT_EQ(manager_.GetStatus("alice", id).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(manager_.Remove("alice", id).code(), absl::StatusCode::kNotFound);
}

TEST_F(JobManagerTest, RemoveThatCannotDeleteTheFilesKeepsTheRecord) {
  const std::string id = RunSleep();
  host_.Exit(id, ExitInfo::Exited(0));
  host_.set_remove_error(absl::ResourceExhaustedError("out of processes"));
  EXPECT_EQ(manager_.Remove("alice", id).code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(store_.records().size(), 1u);
}

TEST(JobManagerRetentionTest, EndedJobsGoAfterTheRetentionRunningOnesStay) {
  JobManagerOptions options;
  options.retention = absl::Hours(1);
  ManagerBench bench(options);
  const std::string old_job = bench.RunOk(kAlice, Cmd("true"));
  const std::string running = bench.RunOk(kAlice, Cmd("sleep"));
  bench.host.Exit(old_job, ExitInfo::Exited(0));
  bench.host.clock().AdvanceTime(absl::Minutes(30));
  const std::string young = bench.RunOk(kAlice, Cmd("true"));
  bench.host.Exit(young, ExitInfo::Exited(0));
  EXPECT_EQ(bench.manager.SweepRetention().value(), 0);
  bench.host.clock().AdvanceTime(absl::Minutes(31));
  EXPECT_EQ(bench.manager.SweepRetention().value(), 1);
  EXPECT_TRUE(bench.host.job(old_job).output_removed);
  EXPECT_FALSE(bench.host.job(young).output_removed);
  auto records = bench.store.records();
  EXPECT_FALSE(records.count(old_job));
  EXPECT_TRUE(records.count(young));
  EXPECT_TRUE(records.count(running));
}

TEST(JobManagerRetentionTest, RetentionRunsByItselfOnceRecovered) {
  JobManagerOptions options;
  options.retention = absl::Hours(1);
  ManagerBench bench(options);
  ASSERT_TRUE(bench.manager.Recover().ok());
  const std::string id = bench.RunOk(kAlice, Cmd("true"));
  bench.host.Exit(id, ExitInfo::Exited(0));
  bench.host.clock().AdvanceTime(absl::Minutes(61) + absl::Minutes(15));
  EXPECT_TRUE(bench.store.records().empty());
  EXPECT_TRUE(bench.host.job(id).output_removed);
}

TEST(JobManagerRetentionTest, ZeroRetentionKeepsEverything) {
  JobManagerOptions options;
  options.retention = absl::ZeroDuration();
  ManagerBench bench(options);
  ASSERT_TRUE(bench.manager.Recover().ok());
  const std::string id = bench.RunOk(kAlice, Cmd("true"));
  bench.host.Exit(id, ExitInfo::Exited(0));
  bench.host.clock().AdvanceTime(absl::Hours(24 * 365));
  EXPECT_EQ(bench.manager.SweepRetention().value(), 0);
  EXPECT_EQ(bench.store.records().size(), 1u);
}

// ---------------------------------------------------------------------------
// Output of ended jobs.

TEST_F(JobManagerTest, EndedJobsOutputIsReadThroughItsFinalTotals) {
  const std::string id = RunSleep();
  host_.AppendOutput(id, OutputStream::kStdout, "all of it\n");
  host_.Exit(id, ExitInfo::Exited(0));
  auto cursor = manager_.OpenOutput("alice", id, Follow());
  ASSERT_TRUE(cursor.ok()) << cursor.status();
  Received r = DrainNow(**cursor);
  EXPECT_TRUE(r.at_end);
  EXPECT_EQ(r.out, "all of it\n");
  // Files the owner replaced: DATA_LOSS, never other bytes.
  host_.Tamper(id, OutputStream::kStdout);
  EXPECT_EQ(manager_.OpenOutput("alice", id, Follow()).status().code(),
            absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace cmdctl::test

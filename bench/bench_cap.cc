// Figure 7 (cap): what the output cap costs a job that writes past it
// (issue 11, SPEC §6; docs/BENCHMARKS.md). Two cmdctld of the bench's own,
// one with a small --max_output_bytes and one with none, run the same job
// in turn; nobody reads its output.
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/bench.h"
#include "bench/side_server.h"
#include "google/protobuf/util/time_util.h"

namespace cmdctl::bench {
namespace {

constexpr char kFigure[] = "7 cap";

struct Written {
  double seconds = 0;     // started_at -> ended_at, as the server recorded.
  double server_cpu = 0;  // cmdctld's CPU meanwhile (its monitor excluded).
  int64_t discarded = 0;  // stdout_discarded_bytes at the end.
};

// Runs `head -c bytes /dev/zero` on `side` and waits for its end (status
// polled every 20 ms: the end time is the record's, not the poll's).
absl::StatusOr<Written> WriteJob(SideServer* side, uint64_t bytes) {
  absl::StatusOr<ProcSample> cpu0 = SampleProc(side->pid());
  absl::StatusOr<std::string> id =
      side->client()->Run("head", {"-c", absl::StrCat(bytes), "/dev/zero"});
  if (!id.ok()) return id.status();
  auto t0 = Clock::now();
  absl::StatusOr<v1::ProcessStatus> st;
  do {
    absl::SleepFor(absl::Milliseconds(20));
    st = side->client()->Status(*id);
    if (!st.ok()) return st.status();
    if (SecondsSince(t0) > 600) {
      return absl::DeadlineExceededError("the writing job ran 600 s");
    }
  } while (st->state() == v1::JOB_STATE_RUNNING);
  absl::StatusOr<ProcSample> cpu1 = SampleProc(side->pid());
  if (st->state() != v1::JOB_STATE_EXITED || st->exit_code() != 0 ||
      st->stdout_bytes() != static_cast<int64_t>(bytes)) {
    return absl::InternalError(
        absl::StrCat("the writing job ended badly: ", st->ShortDebugString()));
  }
  using google::protobuf::util::TimeUtil;
  Written w;
  w.seconds =
      TimeUtil::DurationToNanoseconds(st->ended_at() - st->started_at()) / 1e9;
  if (cpu0.ok() && cpu1.ok())
    w.server_cpu = cpu1->cpu_seconds - cpu0->cpu_seconds;
  w.discarded = st->stdout_discarded_bytes();
  // Its output files go now: the uncapped one holds all of it.
  if (absl::Status rm = side->client()->Remove(*id); !rm.ok()) return rm;
  return w;
}

}  // namespace

void Bench::Cap() {
  if (FLAGS_cmdctld.empty() || FLAGS_server.empty()) return;
  const uint64_t bytes = sizes_.cap_bytes;
  SideServerConfig config{
      FLAGS_cmdctld, FLAGS_server_cert, FLAGS_server_key,        FLAGS_ca,
      config_,       FLAGS_work_dir,    {"--max_output_bytes=0"}};
  SideServer uncapped("nocap", config);
  config.flags = {absl::StrCat("--max_output_bytes=", sizes_.cap)};
  SideServer capped("cap", config);
  for (SideServer* side : {&capped, &uncapped}) {
    absl::StatusOr<SideServer::Started> st = side->Start();
    if (!st.ok()) return Error("cap", st.status());
  }
  std::vector<double> ours, peer, cpu_ours, cpu_peer;
  int64_t discarded = 0;
  for (int r = 0; r < sizes_.cap_rounds; ++r) {
    for (SideServer* side : {&capped, &uncapped}) {
      absl::StatusOr<Written> w = WriteJob(side, bytes);
      if (!w.ok()) return Error("cap", w.status());
      bool cap = side == &capped;
      (cap ? ours : peer).push_back(bytes / kGiB / w->seconds);
      (cap ? cpu_ours : cpu_peer).push_back(w->server_cpu / (bytes / kGiB));
      if (cap) discarded = w->discarded;
    }
  }
  std::string note = absl::StrCat(
      ours.size(), " runs each of head -c ", bytes / kMiB,
      " MiB, no reader, alternated; --max_output_bytes=", sizes_.cap / kMiB,
      "M dropped ", discarded / kMiB, " MiB per run; time from the records");
  report_->Add({kFigure, "job's write rate, cap wrapping (median)",
                Quantile(ours, 0.5), "GiB/s", "the same without a cap",
                Quantile(peer, 0.5), Better::kHigher,
                Goal{Better::kHigher, 0.95, true}, note});
  report_->Add({kFigure, "server CPU per GiB written, cap wrapping",
                Quantile(cpu_ours, 0.5), "s", "the same without a cap",
                Quantile(cpu_peer, 0.5), Better::kLower, std::nullopt,
                "cmdctld utime+stime (the job's monitor not included)"});
}

}  // namespace cmdctl::bench

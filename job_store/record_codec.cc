#include "job_store/record_codec.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "job_store/job_record.pb.h"
#include "job_store/list_order.h"

namespace cmdctl::store {
namespace {

StoredStreamTotals ToStored(const StreamTotals& t) {
  StoredStreamTotals out;
  out.set_written(t.written);
  out.set_discarded(t.discarded);
  out.set_incomplete(t.incomplete);
  return out;
}

StreamTotals FromStored(const StoredStreamTotals& t) {
  return StreamTotals{t.written(), t.discarded(), t.incomplete()};
}

StoredJob ToStored(const JobRecord& record) {
  const JobStatus& s = record.status;
  StoredJob out;
  out.set_run_as(s.run_as);
  out.set_command(s.command);
  for (const std::string& arg : s.args) out.add_args(arg);
  out.set_pid(s.pid);
  out.set_exit_code(s.exit_code);
  out.set_signal(s.signal);
  out.set_stop_requested(s.stop_requested);
  StoredLimits* limits = out.mutable_limits();
  limits->set_memory_bytes(s.limits.memory_bytes);
  limits->set_cpu_millicores(s.limits.cpu_millicores);
  limits->set_pids(s.limits.pids);
  limits->set_io_read_bytes_per_second(s.limits.io_read_bytes_per_second);
  limits->set_io_write_bytes_per_second(s.limits.io_write_bytes_per_second);
  out.set_timeout_ns(DurationToNanos(s.timeout));
  StoredUsage* usage = out.mutable_usage();
  usage->set_cpu_user_ns(DurationToNanos(s.usage.cpu_user));
  usage->set_cpu_system_ns(DurationToNanos(s.usage.cpu_system));
  usage->set_memory_peak_bytes(s.usage.memory_peak_bytes);
  usage->set_io_read_bytes(s.usage.io_read_bytes);
  usage->set_io_write_bytes(s.usage.io_write_bytes);
  out.set_oom_killed(s.oom_killed);
  out.set_timed_out(s.timed_out);
  *out.mutable_stdout_totals() = ToStored(s.totals(OutputStream::kStdout));
  *out.mutable_stderr_totals() = ToStored(s.totals(OutputStream::kStderr));
  out.set_host_state(record.host_state);
  out.set_timeout_at_ns(TimeToNanos(record.timeout_at));
  out.set_kill_at_ns(TimeToNanos(record.kill_at));
  return out;
}

void FromStored(const StoredJob& in, JobRecord& record) {
  JobStatus& s = record.status;
  s.run_as = in.run_as();
  s.command = in.command();
  s.args.assign(in.args().begin(), in.args().end());
  s.pid = in.pid();
  s.exit_code = in.exit_code();
  s.signal = in.signal();
  s.stop_requested = in.stop_requested();
  const StoredLimits& limits = in.limits();
  s.limits = ResourceLimits{limits.memory_bytes(), limits.cpu_millicores(),
                            limits.pids(), limits.io_read_bytes_per_second(),
                            limits.io_write_bytes_per_second()};
  s.timeout = NanosToDuration(in.timeout_ns());
  const StoredUsage& usage = in.usage();
  s.usage = ResourceUsage{NanosToDuration(usage.cpu_user_ns()),
                          NanosToDuration(usage.cpu_system_ns()),
                          usage.memory_peak_bytes(), usage.io_read_bytes(),
                          usage.io_write_bytes()};
  s.oom_killed = in.oom_killed();
  s.timed_out = in.timed_out();
  s.output[static_cast<int>(OutputStream::kStdout)] =
      FromStored(in.stdout_totals());
  s.output[static_cast<int>(OutputStream::kStderr)] =
      FromStored(in.stderr_totals());
  record.host_state = in.host_state();
  record.timeout_at = NanosToTime(in.timeout_at_ns());
  record.kill_at = NanosToTime(in.kill_at_ns());
}

}  // namespace

int64_t StateCode(JobState state) {
  switch (state) {
    case JobState::kRunning:
      return kRunningCode;
    case JobState::kExited:
      return 2;
    case JobState::kSignaled:
      return 3;
    case JobState::kStopped:
      return 4;
    case JobState::kLost:
      return 5;
  }
  return 0;  // not reached: every JobState is listed
}

std::optional<JobState> StateFromCode(int64_t code) {
  for (JobState s : {JobState::kRunning, JobState::kExited, JobState::kSignaled,
                     JobState::kStopped, JobState::kLost}) {
    if (StateCode(s) == code) return s;
  }
  return std::nullopt;
}

JobRow EncodeRow(const JobRecord& record) {
  const JobStatus& s = record.status;
  return JobRow{s.job_id,
                s.owner,
                StateCode(s.state),
                TimeToNanos(s.started_at),
                TimeToNanos(s.ended_at),
                ToStored(record).SerializeAsString()};
}

absl::StatusOr<JobRecord> DecodeRow(const JobRow& row) {
  const std::optional<JobState> state = StateFromCode(row.state);
  StoredJob stored;
  if (!state.has_value() || !stored.ParseFromString(row.body)) {
    return absl::InternalError(absl::StrCat(
        "damaged record of job \"", absl::CHexEscape(row.job_id), "\": ",
        state.has_value() ? "its body does not parse"
                          : absl::StrCat("unknown state code ", row.state)));
  }
  JobRecord record;
  record.status.job_id = row.job_id;
  record.status.owner = row.owner;
  record.status.state = *state;
  record.status.started_at = NanosToTime(row.started_at_ns);
  record.status.ended_at = NanosToTime(row.ended_at_ns);
  FromStored(stored, record);
  return record;
}

}  // namespace cmdctl::store

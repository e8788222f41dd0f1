#include "rpc/proto_convert.h"

#include <google/protobuf/util/time_util.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace cmdctl {
namespace {

using google::protobuf::util::TimeUtil;

v1::JobState ToProto(JobState state) {
  switch (state) {
    case JobState::kRunning:
      return v1::JOB_STATE_RUNNING;
    case JobState::kExited:
      return v1::JOB_STATE_EXITED;
    case JobState::kSignaled:
      return v1::JOB_STATE_SIGNALED;
    case JobState::kStopped:
      return v1::JOB_STATE_STOPPED;
    case JobState::kLost:
      return v1::JOB_STATE_LOST;
  }
  return v1::JOB_STATE_UNSPECIFIED;
}

void SetTimestamp(absl::Time t, google::protobuf::Timestamp* out) {
  const int64_t nanos = absl::ToUnixNanos(t);
  *out = TimeUtil::NanosecondsToTimestamp(nanos);
}

void SetDuration(absl::Duration d, google::protobuf::Duration* out) {
  *out = TimeUtil::NanosecondsToDuration(absl::ToInt64Nanoseconds(d));
}

// A well-formed google.protobuf.Duration (the JSON mapping's rules: same
// signs, nanos within a second, within +-10,000 years).
absl::StatusOr<absl::Duration> DurationFromProto(
    const google::protobuf::Duration& d, const char* field) {
  if (d.seconds() < TimeUtil::kDurationMinSeconds ||
      d.seconds() > TimeUtil::kDurationMaxSeconds || d.nanos() <= -1000000000 ||
      d.nanos() >= 1000000000 || (d.seconds() > 0 && d.nanos() < 0) ||
      (d.seconds() < 0 && d.nanos() > 0)) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " is not a valid duration"));
  }
  return absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
}

void ToProto(const ResourceLimits& l, v1::ResourceLimits* out) {
  out->set_memory_bytes(l.memory_bytes);
  out->set_cpu_millicores(l.cpu_millicores);
  out->set_pids(l.pids);
  out->set_io_read_bytes_per_second(l.io_read_bytes_per_second);
  out->set_io_write_bytes_per_second(l.io_write_bytes_per_second);
}

ResourceLimits FromProto(const v1::ResourceLimits& l) {
  ResourceLimits out;
  out.memory_bytes = l.memory_bytes();
  out.cpu_millicores = l.cpu_millicores();
  out.pids = l.pids();
  out.io_read_bytes_per_second = l.io_read_bytes_per_second();
  out.io_write_bytes_per_second = l.io_write_bytes_per_second();
  return out;
}

void ToProto(const ResourceUsage& u, v1::ResourceUsage* out) {
  SetDuration(u.cpu_user, out->mutable_cpu_user());
  SetDuration(u.cpu_system, out->mutable_cpu_system());
  out->set_memory_peak_bytes(u.memory_peak_bytes);
  out->set_io_read_bytes(u.io_read_bytes);
  out->set_io_write_bytes(u.io_write_bytes);
}

}  // namespace

void ToProto(const JobStatus& status, v1::ProcessStatus* out) {
  out->Clear();
  out->set_job_id(status.job_id);
  out->set_owner(status.owner);
  out->set_run_as(status.run_as);
  out->set_command(status.command);
  for (const std::string& arg : status.args) out->add_args(arg);
  out->set_state(ToProto(status.state));
  out->set_pid(status.pid);
  out->set_exit_code(status.exit_code);
  out->set_signal(status.signal);
  if (status.started_at != absl::InfinitePast()) {
    SetTimestamp(status.started_at, out->mutable_started_at());
  }
  if (status.ended_at != absl::InfinitePast()) {
    SetTimestamp(status.ended_at, out->mutable_ended_at());
  }
  out->set_stop_requested(status.stop_requested);
  ToProto(status.limits, out->mutable_limits());
  if (status.timeout > absl::ZeroDuration()) {
    SetDuration(status.timeout, out->mutable_timeout());
  }
  ToProto(status.usage, out->mutable_usage());
  out->set_oom_killed(status.oom_killed);
  out->set_timed_out(status.timed_out);
  const StreamTotals& o = status.totals(OutputStream::kStdout);
  const StreamTotals& e = status.totals(OutputStream::kStderr);
  out->set_stdout_bytes(o.written);
  out->set_stderr_bytes(e.written);
  out->set_stdout_discarded_bytes(o.discarded);
  out->set_stderr_discarded_bytes(e.discarded);
  out->set_output_incomplete(status.output_incomplete());
}

v1::OutputStream ToProto(OutputStream stream) {
  return stream == OutputStream::kStdout ? v1::OUTPUT_STREAM_STDOUT
                                         : v1::OUTPUT_STREAM_STDERR;
}

absl::StatusOr<RunRequest> FromProto(const v1::RunProcessRequest& req) {
  RunRequest out;
  out.command = req.command();
  out.args.assign(req.args().begin(), req.args().end());
  out.run_as = req.run_as();
  out.working_dir = req.working_dir();
  for (const auto& [key, value] : req.env()) out.env[key] = value;
  out.limits = FromProto(req.limits());
  if (req.has_timeout()) {
    absl::StatusOr<absl::Duration> timeout =
        DurationFromProto(req.timeout(), "timeout");
    if (!timeout.ok()) return timeout.status();
    out.timeout = *timeout;
  }
  return out;
}

OutputRequest FromProto(const v1::ProcessOutputRequest& req) {
  OutputRequest out;
  out.follow = !req.snapshot();
  out.stdout_offset = req.stdout_offset();
  out.stderr_offset = req.stderr_offset();
  out.tail_lines = req.tail_lines();
  return out;
}

absl::StatusOr<JobQuery> FromProto(const v1::ListProcessesRequest& req,
                                   const std::string& owner) {
  JobQuery query;
  query.owner = owner;
  query.page_size = req.page_size();
  query.page_token = req.page_token();
  query.job_id_prefix = req.job_id_prefix();
  switch (req.state()) {
    case v1::JOB_STATE_UNSPECIFIED:
      break;
    case v1::JOB_STATE_RUNNING:
      query.state = JobState::kRunning;
      break;
    case v1::JOB_STATE_EXITED:
      query.state = JobState::kExited;
      break;
    case v1::JOB_STATE_SIGNALED:
      query.state = JobState::kSignaled;
      break;
    case v1::JOB_STATE_STOPPED:
      query.state = JobState::kStopped;
      break;
    case v1::JOB_STATE_LOST:
      query.state = JobState::kLost;
      break;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("unknown job state ", req.state()));
  }
  return query;
}

absl::StatusOr<std::optional<absl::Duration>> GraceFromProto(
    const v1::StopProcessRequest& req) {
  if (!req.has_grace_period()) return std::optional<absl::Duration>();
  absl::StatusOr<absl::Duration> parsed =
      DurationFromProto(req.grace_period(), "grace_period");
  if (!parsed.ok()) return parsed.status();
  const absl::Duration grace = *parsed;
  if (grace < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("grace_period must not be negative (got ",
                     absl::FormatDuration(grace), ")"));
  }
  return std::optional<absl::Duration>(grace);
}

}  // namespace cmdctl

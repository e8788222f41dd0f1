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
}

v1::OutputStream ToProto(OutputStream stream) {
  return stream == OutputStream::kStdout ? v1::OUTPUT_STREAM_STDOUT
                                         : v1::OUTPUT_STREAM_STDERR;
}

RunRequest FromProto(const v1::RunProcessRequest& req) {
  RunRequest out;
  out.command = req.command();
  out.args.assign(req.args().begin(), req.args().end());
  out.run_as = req.run_as();
  out.working_dir = req.working_dir();
  for (const auto& [key, value] : req.env()) out.env[key] = value;
  return out;
}

absl::StatusOr<std::optional<absl::Duration>> GraceFromProto(
    const v1::StopProcessRequest& req) {
  if (!req.has_grace_period()) return std::optional<absl::Duration>();
  const google::protobuf::Duration& d = req.grace_period();
  if (d.seconds() < TimeUtil::kDurationMinSeconds ||
      d.seconds() > TimeUtil::kDurationMaxSeconds || d.nanos() <= -1000000000 ||
      d.nanos() >= 1000000000 || (d.seconds() > 0 && d.nanos() < 0) ||
      (d.seconds() < 0 && d.nanos() > 0)) {
    return absl::InvalidArgumentError("grace_period is not a valid duration");
  }
  const absl::Duration grace =
      absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
  if (grace < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("grace_period must not be negative (got ",
                     absl::FormatDuration(grace), ")"));
  }
  return std::optional<absl::Duration>(grace);
}

}  // namespace cmdctl

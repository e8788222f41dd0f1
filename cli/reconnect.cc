#include "cli/reconnect.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace cmdctl::cli {

bool IsConnectionLoss(const grpc::Status& status) {
  return status.error_code() == grpc::StatusCode::UNAVAILABLE;
}

Reconnect::Reconnect(Session& session, ReconnectPolicy policy)
    : session_(session), policy_(policy), backoff_(policy.first_backoff) {}

bool Reconnect::ShouldRetry(const grpc::Status& status) {
  if (!IsConnectionLoss(status)) return false;
  const absl::Time now = absl::Now();
  if (!lost_since_.has_value()) lost_since_ = now;
  const absl::Time deadline = *lost_since_ + policy_.budget;
  if (now >= deadline) return false;
  absl::SleepFor(std::min(backoff_, deadline - now));
  backoff_ = std::min(backoff_ * 2, policy_.max_backoff);
  // The channel reconnects by itself (connection.cc sets its backoff); wait
  // for it rather than fail fast on a channel still down.
  return session_.channel == nullptr ||
         session_.channel->WaitForConnected(absl::ToChronoTime(deadline));
}

void Reconnect::Progressed() {
  lost_since_.reset();
  backoff_ = policy_.first_backoff;
}

int ReportFollowFailure(const Session& session, const grpc::Status& status,
                        const std::string& job_id, bool job_runs_on) {
  if (!IsConnectionLoss(status)) return ReportRpc(status, session, job_id);
  return ReportOwnFailure(
      session,
      absl::StrCat(
          "lost the connection to cmdctld at ", session.server,
          " and could not get it back within ",
          absl::FormatDuration(kResumeBudget),
          job_runs_on ? absl::StrCat("; job ", job_id, " runs on") : "",
          "; check that cmdctld is running (systemctl status cmdctld)"));
}

}  // namespace cmdctl::cli

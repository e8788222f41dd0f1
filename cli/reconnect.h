// How `run --wait`, `wait` and `get-output` survive a restart of cmdctld
// (SPEC §7): a call that lost its connection (UNAVAILABLE: the connection
// broke, or the server said it is shutting down) is made again once the
// server answers again, with backoff, for about kResumeBudget after the
// loss. Any other error ends the command, as before.
#ifndef CMDCTL_CLI_RECONNECT_H_
#define CMDCTL_CLI_RECONNECT_H_

#include <optional>
#include <string>

#include "absl/time/time.h"
#include "cli/session.h"
#include "grpcpp/support/status.h"

namespace cmdctl::cli {

// How long cmdctl tries to get its connection back.
inline constexpr absl::Duration kResumeBudget = absl::Seconds(30);

struct ReconnectPolicy {
  // From the loss of the connection to giving up.
  absl::Duration budget = kResumeBudget;
  // The wait before the first attempt, doubled after each failed one up to
  // max_backoff. A restarting server answers within a second or two; one
  // that is shutting down refuses calls until it has gone.
  absl::Duration first_backoff = absl::Milliseconds(100);
  absl::Duration max_backoff = absl::Seconds(2);
};

// True for a failure that reconnecting may cure: UNAVAILABLE.
bool IsConnectionLoss(const grpc::Status& status);

// One caller's retry state (not thread-safe: one per call sequence).
class Reconnect {
 public:
  explicit Reconnect(Session& session, ReconnectPolicy policy = {});

  // The call failed with `status`. For a lost connection within the budget:
  // waits (backoff, then until the channel has connected again, at most
  // until the budget runs out) and returns true: make the call again.
  // Otherwise false: `status` is the failure to report (for a lost
  // connection: the budget ran out).
  bool ShouldRetry(const grpc::Status& status);

  // The call made progress (an answer, a message): the next loss starts a
  // new budget and backoff.
  void Progressed();

 private:
  Session& session_;
  const ReconnectPolicy policy_;
  std::optional<absl::Time> lost_since_;
  absl::Duration backoff_;
};

// Reports a failure of a call made with reconnecting (CallWithReconnect,
// FollowOutput) about `job_id`: for a lost connection, that cmdctl gave up
// getting it back (naming the server, how long it tried, and, with
// `job_runs_on`, that the job runs on); otherwise as ReportRpc. Returns the
// exit status.
int ReportFollowFailure(const Session& session, const grpc::Status& status,
                        const std::string& job_id, bool job_runs_on = false);

}  // namespace cmdctl::cli

#endif  // CMDCTL_CLI_RECONNECT_H_

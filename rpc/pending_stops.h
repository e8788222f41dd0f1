// StopProcess calls waiting for their job to end. Each is answered exactly
// once, by whichever comes first: the job's end (Complete, on the thread that
// sees it) or server shutdown giving up on it (AbortAll).
//
// Shared (std::shared_ptr) between the service and the callbacks it hands
// the JobManager, which may run after the service is gone. Thread-safe; the
// answer is sent without the mutex held.
#ifndef CMDCTL_RPC_PENDING_STOPS_H_
#define CMDCTL_RPC_PENDING_STOPS_H_

#include <cstdint>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "cmdctl/v1/cmdctl.pb.h"
#include "domain/types.h"
#include "rpc/unary_call.h"

namespace cmdctl {

class PendingStops {
 public:
  using Id = uint64_t;

  // Registers a call; `response` (gRPC's, valid until the call is answered)
  // receives the final status.
  Id Add(UnaryCall call, v1::StopProcessResponse* response)
      ABSL_LOCKS_EXCLUDED(mu_);
  // The stop of call `id` has a result: answers it, unless AbortAll did.
  void Complete(Id id, const absl::StatusOr<JobStatus>& result)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Answers every waiting call with `status`; their later results are
  // dropped.
  void AbortAll(const absl::Status& status) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Waiting {
    UnaryCall call;
    v1::StopProcessResponse* response;
  };

  absl::Mutex mu_;
  Id next_id_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_map<Id, Waiting> calls_ ABSL_GUARDED_BY(mu_);
};

}  // namespace cmdctl

#endif  // CMDCTL_RPC_PENDING_STOPS_H_

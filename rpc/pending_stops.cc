#include "rpc/pending_stops.h"

#include <optional>
#include <utility>

#include "rpc/proto_convert.h"

namespace cmdctl {

PendingStops::Id PendingStops::Add(UnaryCall call,
                                   v1::StopProcessResponse* response) {
  absl::MutexLock lock(&mu_);
  const Id id = next_id_++;
  calls_.emplace(id, Waiting{std::move(call), response});
  return id;
}

void PendingStops::Complete(Id id, const absl::StatusOr<JobStatus>& result) {
  std::optional<Waiting> waiting;
  {
    absl::MutexLock lock(&mu_);
    auto it = calls_.find(id);
    if (it == calls_.end()) return;  // already answered
    waiting.emplace(std::move(it->second));
    calls_.erase(it);
  }
  if (result.ok()) ToProto(*result, waiting->response->mutable_status());
  waiting->call.Finish(result.status());
}

void PendingStops::AbortAll(const absl::Status& status) {
  absl::flat_hash_map<Id, Waiting> calls;
  {
    absl::MutexLock lock(&mu_);
    calls.swap(calls_);
  }
  for (auto& [id, waiting] : calls) waiting.call.Finish(status);
}

}  // namespace cmdctl

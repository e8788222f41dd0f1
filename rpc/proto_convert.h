// Conversions between the domain's value types and the v1 API messages, each
// done in exactly one place.
#ifndef CMDCTL_RPC_PROTO_CONVERT_H_
#define CMDCTL_RPC_PROTO_CONVERT_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "cmdctl/v1/cmdctl.pb.h"
#include "domain/job_manager.h"
#include "domain/job_store.h"
#include "domain/output_cursor.h"
#include "domain/types.h"

namespace cmdctl {

// JobStatus -> ProcessStatus. Unset timestamps (InfinitePast) stay unset.
void ToProto(const JobStatus& status, v1::ProcessStatus* out);

v1::OutputStream ToProto(OutputStream stream);

// RunProcessRequest -> RunRequest (validation is the domain's).
// INVALID_ARGUMENT for a malformed timeout.
absl::StatusOr<RunRequest> FromProto(const v1::RunProcessRequest& req);

// ProcessOutputRequest -> OutputRequest (validation is the domain's).
OutputRequest FromProto(const v1::ProcessOutputRequest& req);

// ListProcessesRequest -> the query of `owner`'s jobs. INVALID_ARGUMENT for
// an unknown state.
absl::StatusOr<JobQuery> FromProto(const v1::ListProcessesRequest& req,
                                   const std::string& owner);

// An unset grace period: nullopt (the server default). INVALID_ARGUMENT for
// a negative or malformed duration.
absl::StatusOr<std::optional<absl::Duration>> GraceFromProto(
    const v1::StopProcessRequest& req);

}  // namespace cmdctl

#endif  // CMDCTL_RPC_PROTO_CONVERT_H_

// The audit trail (SPEC §4): one glog INFO line per request, denied ones
// included:
//
//   audit identity="alice" method=RunProcess job_id="…" result=OK
//       peer="ipv4:127.0.0.1:51234" run_as="alice" command="ls" args=["-la"]
//
// (one line; wrapped here). Every value a client can influence (identity,
// job id, run-as user, command, arguments, and the peer address for good
// measure) is quoted and C-escaped with absl::CHexEscape: a newline, any
// other control byte, a quote and a backslash come out as `\n`, `\x1b`, `\"`,
// `\\`, so no request can end the line early or forge a second one. Keys and
// the method are cmdctl's own constants.
//
// No gRPC here (the result is an absl::StatusCode, the same numbers), so the
// formatting is unit-tested in every sanitizer build.
#ifndef CMDCTL_RPC_AUDIT_LOG_H_
#define CMDCTL_RPC_AUDIT_LOG_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace cmdctl {

// One request's audit line, filled in as the call goes and logged once, when
// it is answered. Not thread-safe: one call owns it.
class AuditLine {
 public:
  // `method` is the RPC's name; `peer` the client's address (the gRPC
  // context's peer()).
  AuditLine(absl::string_view method, absl::string_view peer);

  // Empty until the caller is known (shown as "?").
  void set_identity(absl::string_view identity) {
    identity_ = std::string(identity);
  }
  void set_job_id(absl::string_view job_id) { job_id_ = std::string(job_id); }

  // The method's own fields, after the common ones, in the order first set;
  // setting a key again replaces its value (RunProcess logs the run-as user
  // asked for, then the one the job got).
  // ` key="value"`, the value escaped.
  void SetText(absl::string_view key, absl::string_view value);
  // ` key=["a","b"]`, each value escaped.
  template <typename Range>
  void SetTextList(absl::string_view key, const Range& values) {
    std::vector<absl::string_view> views(values.begin(), values.end());
    SetTextViews(key, views);
  }
  // ` key=N`.
  void SetNumber(absl::string_view key, int64_t value);

  // The line, without glog's prefix.
  std::string Format(absl::StatusCode result) const;
  // Writes it (glog INFO).
  void Log(absl::StatusCode result) const;

 private:
  void SetTextViews(absl::string_view key,
                    const std::vector<absl::string_view>& values);
  // Replaces the value of `key`, or appends the field.
  void Set(absl::string_view key, std::string rendered);

  std::string method_;
  std::string peer_;
  std::string identity_;
  std::string job_id_;
  // The method's own fields: key and rendered (escaped) value.
  std::vector<std::pair<std::string, std::string>> fields_;
};

}  // namespace cmdctl

#endif  // CMDCTL_RPC_AUDIT_LOG_H_

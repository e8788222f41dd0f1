#include "rpc/audit_log.h"

#include <glog/logging.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace cmdctl {
namespace {

// `"value"`, escaped so that it holds no control byte and no bare quote.
std::string Quoted(absl::string_view value) {
  return absl::StrCat("\"", absl::CHexEscape(value), "\"");
}

}  // namespace

AuditLine::AuditLine(absl::string_view method, absl::string_view peer)
    : method_(method), peer_(peer) {}

void AuditLine::Set(absl::string_view key, std::string rendered) {
  for (auto& [k, v] : fields_) {
    if (k == key) {
      v = std::move(rendered);
      return;
    }
  }
  fields_.emplace_back(std::string(key), std::move(rendered));
}

void AuditLine::SetText(absl::string_view key, absl::string_view value) {
  Set(key, Quoted(value));
}

void AuditLine::SetTextViews(absl::string_view key,
                             const std::vector<absl::string_view>& values) {
  std::string list = "[";
  for (size_t i = 0; i < values.size(); ++i) {
    absl::StrAppend(&list, i == 0 ? "" : ",", Quoted(values[i]));
  }
  list += "]";
  Set(key, std::move(list));
}

void AuditLine::SetNumber(absl::string_view key, int64_t value) {
  Set(key, absl::StrCat(value));
}

std::string AuditLine::Format(absl::StatusCode result) const {
  std::string line = absl::StrCat(
      "audit identity=", identity_.empty() ? "\"?\"" : Quoted(identity_),
      " method=", method_, " job_id=", Quoted(job_id_),
      " result=", absl::StatusCodeToString(result), " peer=", Quoted(peer_));
  for (const auto& [key, value] : fields_) {
    absl::StrAppend(&line, " ", key, "=", value);
  }
  return line;
}

void AuditLine::Log(absl::StatusCode result) const {
  LOG(INFO) << Format(result);
}

}  // namespace cmdctl

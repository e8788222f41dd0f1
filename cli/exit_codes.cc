#include "cli/exit_codes.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace cmdctl::cli {
namespace {

// The server's message on one line.
std::string OneLine(std::string text) {
  std::replace(text.begin(), text.end(), '\n', ' ');
  std::replace(text.begin(), text.end(), '\r', ' ');
  return text;
}

std::string Unavailable(const std::string& detail, const CallContext& call) {
  const std::string lower = absl::AsciiStrToLower(detail);
  if (absl::StrContains(lower, "protocol version")) {
    return absl::StrCat("cmdctl: the server at ", call.server,
                        " does not speak TLS 1.3, which cmdctl requires (",
                        detail, ")");
  }
  if (absl::StrContains(lower, "handshake") ||
      absl::StrContains(lower, "ssl") ||
      absl::StrContains(lower, "certificate")) {
    return absl::StrCat(
        "cmdctl: TLS handshake with ", call.server, " failed (", detail,
        "); the server's certificate must be signed by --ca and name the host "
        "you dial");
  }
  if (absl::StrContains(lower, "connection refused") ||
      absl::StrContains(lower, "no route") ||
      absl::StrContains(lower, "dns resolution") ||
      absl::StrContains(lower, "failed to connect to remote host")) {
    return absl::StrCat(
        "cmdctl: cannot reach cmdctld at ", call.server, " (", detail,
        "); check that cmdctld is running and listening there (systemctl "
        "status cmdctld) or pass --server=HOST:PORT");
  }
  return absl::StrCat(
      "cmdctl: connection to cmdctld at ", call.server, " failed (", detail,
      "); check that cmdctld is running there and accepts your certificate "
      "(--cert signed by its CA, not expired)");
}

}  // namespace

std::string StatusCodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return "OK";
    case grpc::StatusCode::CANCELLED:
      return "CANCELLED";
    case grpc::StatusCode::UNKNOWN:
      return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND:
      return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS:
      return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED:
      return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE:
      return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED:
      return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL:
      return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE:
      return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS:
      return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    default:
      return absl::StrCat("code ", static_cast<int>(code));
  }
}

Failure FailureFromRpc(const grpc::Status& status, const CallContext& call) {
  const std::string detail = OneLine(status.error_message());
  std::string message;
  switch (status.error_code()) {
    case grpc::StatusCode::NOT_FOUND:
      message = call.job_id.empty()
                    ? absl::StrCat("cmdctl: ", detail)
                    : absl::StrCat("cmdctl: job ", call.job_id,
                                   " not found (no job of yours has this id; "
                                   "`cmdctl list` shows your jobs)");
      break;
    case grpc::StatusCode::PERMISSION_DENIED:
      message = absl::StrCat(
          "cmdctl: permission denied: ", detail,
          "; --as must name one of the users your certificate lists as SAN "
          "URI principal:<login> (default: the first)");
      break;
    case grpc::StatusCode::UNAVAILABLE:
      message = call.connected
                    ? absl::StrCat("cmdctl: lost the connection to cmdctld at ",
                                   call.server, " (", detail,
                                   "); check that it is still running "
                                   "(systemctl status cmdctld)")
                    : Unavailable(detail, call);
      break;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      message = absl::StrCat("cmdctl: no answer from cmdctld at ", call.server,
                             " in time (", detail,
                             "); check that cmdctld is running and reachable");
      break;
    case grpc::StatusCode::UNAUTHENTICATED:
      message = absl::StrCat("cmdctl: the server at ", call.server,
                             " did not accept your certificate (", detail,
                             "); check --cert and --key");
      break;
    case grpc::StatusCode::INVALID_ARGUMENT:
      message = absl::StrCat("cmdctl: invalid request: ", detail);
      break;
    default:
      message = absl::StrCat("cmdctl: ", detail.empty() ? "" : detail + " ",
                             "(", StatusCodeName(status.error_code()), ")");
      break;
  }
  return Failure{kExitServerError, std::move(message)};
}

}  // namespace cmdctl::cli

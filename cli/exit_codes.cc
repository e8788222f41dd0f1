#include "cli/exit_codes.h"

#include <algorithm>
#include <initializer_list>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "cli/format.h"

namespace cmdctl::cli {
namespace {

// The server's message on one line, safe for the terminal.
std::string OneLine(std::string text) {
  std::replace(text.begin(), text.end(), '\n', ' ');
  std::replace(text.begin(), text.end(), '\r', ' ');
  return EscapeForTerminal(text);
}

// gRPC's details, for GRPC_VERBOSITY users only.
std::string Details(const std::string& detail, const CallContext& call) {
  return call.verbose ? absl::StrCat(" [gRPC: ", detail, "]") : "";
}

bool ContainsAny(const std::string& lower,
                 std::initializer_list<const char*> needles) {
  for (const char* needle : needles) {
    if (absl::StrContains(lower, needle)) return true;
  }
  return false;
}

// A connection that could not be made, in cmdctl's words: what went wrong
// and what to check. gRPC's own text (often 250 characters of resolver and
// subchannel internals) only with GRPC_VERBOSITY.
std::string Unavailable(const std::string& detail, const CallContext& call) {
  const std::string lower = absl::AsciiStrToLower(detail);
  const std::string& at = call.server;
  std::string message;
  if (ContainsAny(lower, {"protocol version"})) {
    message = absl::StrCat("cmdctl: the server at ", at,
                           " does not speak TLS 1.3, which cmdctl requires");
  } else if (ContainsAny(lower, {"certificate verify failed"})) {
    message = absl::StrCat(
        "cmdctl: TLS handshake with ", at,
        " failed: its certificate is not signed by your --ca, or does not "
        "name the host you dial");
  } else if (ContainsAny(lower, {"handshake", "ssl", "certificate"})) {
    message = absl::StrCat(
        "cmdctl: TLS handshake with ", at,
        " failed; the server's certificate must be signed by --ca and name "
        "the host you dial");
  } else if (ContainsAny(lower, {"dns resolution", "domain name not found",
                                 "name or service not known"})) {
    message = absl::StrCat("cmdctl: cannot resolve the host name of ", at,
                           "; check --server (or $CMDCTL_SERVER)");
  } else if (ContainsAny(lower, {"connection refused", "no route",
                                 "network is unreachable",
                                 "failed to connect to remote host"})) {
    const char* why = absl::StrContains(lower, "connection refused")
                          ? ": connection refused"
                          : "";
    message = absl::StrCat(
        "cmdctl: cannot reach cmdctld at ", at, why,
        "; check that cmdctld is running and listening there (systemctl "
        "status cmdctld) or pass --server=HOST:PORT");
  } else {
    message = absl::StrCat(
        "cmdctl: connection to cmdctld at ", at,
        " failed; check that cmdctld is running there and accepts your "
        "certificate (--cert signed by its CA, not expired)",
        call.verbose ? "" : "; GRPC_VERBOSITY=debug shows gRPC's details");
  }
  return message + Details(detail, call);
}

}  // namespace

std::optional<int> ShellExitForStartFailure(const grpc::Status& status) {
  switch (status.error_code()) {
    case grpc::StatusCode::NOT_FOUND:
      return kExitNotFound;
    case grpc::StatusCode::FAILED_PRECONDITION:
      // The launcher's words for a failed exec (os_adapter/os_util.cc).
      if (absl::StartsWith(status.error_message(), "cannot execute ")) {
        return kExitNotExecutable;
      }
      return std::nullopt;
    default:
      return std::nullopt;
  }
}

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
                                   call.server,
                                   "; check that it is still running "
                                   "(systemctl status cmdctld)",
                                   Details(detail, call))
                    : Unavailable(detail, call);
      break;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      message = absl::StrCat("cmdctl: no answer from cmdctld at ", call.server,
                             " in time; check that cmdctld is running and "
                             "reachable",
                             Details(detail, call));
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

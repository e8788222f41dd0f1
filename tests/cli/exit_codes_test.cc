#include "cli/exit_codes.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cmdctl::cli {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

const CallContext kCall{"localhost:9090", ""};

TEST(FailureFromRpcTest, EveryServerErrorExitsOneWithOneLine) {
  for (int code = 1; code <= 16; ++code) {
    Failure f = FailureFromRpc(
        grpc::Status(static_cast<grpc::StatusCode>(code), "line1\nline2"),
        CallContext{"h:1", "job-1"});
    EXPECT_EQ(f.exit_code, kExitServerError) << code;
    EXPECT_THAT(f.message, StartsWith("cmdctl: ")) << code;
    EXPECT_THAT(f.message, Not(HasSubstr("\n"))) << code;
  }
}

TEST(FailureFromRpcTest, NotFoundNamesTheJob) {
  Failure f = FailureFromRpc(grpc::Status(grpc::StatusCode::NOT_FOUND, "x"),
                             CallContext{"h:1", "abc-123"});
  EXPECT_THAT(f.message, HasSubstr("job abc-123 not found"));
  EXPECT_THAT(f.message, HasSubstr("cmdctl list"));
}

TEST(FailureFromRpcTest, NotFoundWithoutJobKeepsServerMessage) {
  Failure f = FailureFromRpc(
      grpc::Status(grpc::StatusCode::NOT_FOUND, "program 'nope' not found"),
      kCall);
  EXPECT_EQ(f.message, "cmdctl: program 'nope' not found");
}

TEST(FailureFromRpcTest, PermissionDeniedExplainsPrincipals) {
  Failure f = FailureFromRpc(
      grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "may not run as root"),
      CallContext{"h:1", ""});
  EXPECT_THAT(
      f.message,
      AllOf(HasSubstr("permission denied"), HasSubstr("may not run as root"),
            HasSubstr("--as must name"), HasSubstr("principal:<login>")));
}

constexpr char kRefused[] =
    "failed to connect to all addresses; last error: UNKNOWN: "
    "ipv4:127.0.0.1:1: Failed to connect to remote host: Connection refused";

TEST(FailureFromRpcTest, UnavailableNamesAddressAndSuggestsCheckingServer) {
  Failure f =
      FailureFromRpc(grpc::Status(grpc::StatusCode::UNAVAILABLE, kRefused),
                     CallContext{"127.0.0.1:1", ""});
  EXPECT_THAT(f.message,
              AllOf(HasSubstr("127.0.0.1:1"), HasSubstr("connection refused"),
                    HasSubstr("cmdctld is running"),
                    // gRPC's internals stay behind GRPC_VERBOSITY.
                    Not(HasSubstr("ipv4:")), Not(HasSubstr("last error"))));
}

TEST(FailureFromRpcTest, VerboseConnectionErrorsKeepGrpcsDetails) {
  Failure f = FailureFromRpc(
      grpc::Status(grpc::StatusCode::UNAVAILABLE, kRefused),
      CallContext{"127.0.0.1:1", "", /*connected=*/false, /*verbose=*/true});
  EXPECT_THAT(f.message, AllOf(HasSubstr("cmdctld is running"),
                               HasSubstr("[gRPC: failed to connect")));
}

TEST(FailureFromRpcTest, UnresolvableHostSaysSo) {
  Failure f = FailureFromRpc(
      grpc::Status(grpc::StatusCode::UNAVAILABLE,
                   "DNS resolution failed for nohost.invalid:9090: C-ares "
                   "status is not ARES_SUCCESS qtype=A name=nohost.invalid "
                   "is_balancer=0: Domain name not found"),
      CallContext{"nohost.invalid:9090", ""});
  EXPECT_EQ(f.message,
            "cmdctl: cannot resolve the host name of nohost.invalid:9090; "
            "check --server (or $CMDCTL_SERVER)");
}

TEST(FailureFromRpcTest, UnavailableFromOldTlsServerSaysTls13) {
  Failure f = FailureFromRpc(
      grpc::Status(grpc::StatusCode::UNAVAILABLE,
                   "Ssl handshake failed: SSL_ERROR_SSL: error:0A00042E:SSL "
                   "routines::tlsv1 alert protocol version"),
      CallContext{"127.0.0.1:7", ""});
  EXPECT_THAT(f.message, AllOf(HasSubstr("127.0.0.1:7"),
                               HasSubstr("does not speak TLS 1.3"),
                               Not(HasSubstr("SSL_ERROR_SSL"))));
}

TEST(FailureFromRpcTest, UnavailableFromCertificateFailureSaysTls) {
  Failure f = FailureFromRpc(
      grpc::Status(grpc::StatusCode::UNAVAILABLE,
                   "Ssl handshake failed: SSL_ERROR_SSL: error:0A000086:SSL "
                   "routines::certificate verify failed"),
      CallContext{"127.0.0.1:7", ""});
  EXPECT_THAT(f.message, AllOf(HasSubstr("TLS handshake with 127.0.0.1:7"),
                               HasSubstr("--ca")));
}

TEST(FailureFromRpcTest, UnavailableAfterHandshakeSuggestsCertificate) {
  Failure f = FailureFromRpc(
      grpc::Status(grpc::StatusCode::UNAVAILABLE, "Socket closed"),
      CallContext{"127.0.0.1:7", ""});
  EXPECT_THAT(f.message, AllOf(HasSubstr("127.0.0.1:7"),
                               HasSubstr("accepts your certificate"),
                               HasSubstr("GRPC_VERBOSITY=debug"),
                               Not(HasSubstr("Socket closed"))));
}

TEST(FailureFromRpcTest, UnavailableOnceConnectedSaysTheConnectionWasLost) {
  const grpc::Status lost(grpc::StatusCode::UNAVAILABLE,
                          "server shutting down");
  Failure f = FailureFromRpc(
      lost, CallContext{"127.0.0.1:7", "job-1", /*connected=*/true});
  EXPECT_EQ(f.exit_code, kExitServerError);
  EXPECT_THAT(f.message,
              AllOf(HasSubstr("lost the connection"), HasSubstr("127.0.0.1:7"),
                    Not(HasSubstr("server shutting down")),
                    Not(HasSubstr("certificate"))));
  EXPECT_THAT(FailureFromRpc(lost, CallContext{"127.0.0.1:7", "job-1",
                                               /*connected=*/true,
                                               /*verbose=*/true})
                  .message,
              HasSubstr("server shutting down"));
}

TEST(FailureFromRpcTest, ServerTextIsEscapedForTheTerminal) {
  Failure f =
      FailureFromRpc(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                  "bad \033[31mred\033[0m\nforged line"),
                     kCall);
  EXPECT_EQ(f.message,
            "cmdctl: invalid request: bad \\033[31mred\\033[0m forged line");
}

TEST(ShellExitForStartFailureTest, NotFoundAndNotExecutableAsAShellSays) {
  EXPECT_EQ(ShellExitForStartFailure(grpc::Status(grpc::StatusCode::NOT_FOUND,
                                                  "program not found: nope")),
            std::optional<int>(127));
  EXPECT_EQ(ShellExitForStartFailure(
                grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                             "cannot execute /etc/passwd: Permission denied")),
            std::optional<int>(126));
  // The same code for other preconditions is not the program's fault.
  EXPECT_EQ(ShellExitForStartFailure(
                grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                             "cannot enter working directory /x: ...")),
            std::nullopt);
  EXPECT_EQ(ShellExitForStartFailure(
                grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "no")),
            std::nullopt);
}

TEST(FailureFromRpcTest, DeadlineNamesAddress) {
  Failure f = FailureFromRpc(
      grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "Deadline Exceeded"),
      CallContext{"10.0.0.1:9090", ""});
  EXPECT_THAT(f.message, HasSubstr("10.0.0.1:9090"));
}

TEST(FailureFromRpcTest, OtherCodesShowMessageAndCodeName) {
  Failure f = FailureFromRpc(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                                          "'/etc/passwd' is not executable"),
                             kCall);
  EXPECT_EQ(f.message,
            "cmdctl: '/etc/passwd' is not executable (FAILED_PRECONDITION)");
}

TEST(StatusCodeNameTest, NamesCodes) {
  EXPECT_EQ(StatusCodeName(grpc::StatusCode::NOT_FOUND), "NOT_FOUND");
  EXPECT_EQ(StatusCodeName(grpc::StatusCode::UNAUTHENTICATED),
            "UNAUTHENTICATED");
}

}  // namespace
}  // namespace cmdctl::cli

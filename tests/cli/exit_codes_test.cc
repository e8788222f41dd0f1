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

TEST(FailureFromRpcTest, UnavailableNamesAddressAndSuggestsCheckingServer) {
  Failure f = FailureFromRpc(
      grpc::Status(grpc::StatusCode::UNAVAILABLE,
                   "failed to connect to all addresses; last error: UNKNOWN: "
                   "ipv4:127.0.0.1:1: Failed to connect to remote host: "
                   "Connection refused"),
      CallContext{"127.0.0.1:1", ""});
  EXPECT_THAT(f.message,
              AllOf(HasSubstr("127.0.0.1:1"), HasSubstr("Connection refused"),
                    HasSubstr("cmdctld is running")));
}

TEST(FailureFromRpcTest, UnavailableFromOldTlsServerSaysTls13) {
  Failure f = FailureFromRpc(
      grpc::Status(grpc::StatusCode::UNAVAILABLE,
                   "Ssl handshake failed: SSL_ERROR_SSL: error:0A00042E:SSL "
                   "routines::tlsv1 alert protocol version"),
      CallContext{"127.0.0.1:7", ""});
  EXPECT_THAT(f.message, AllOf(HasSubstr("127.0.0.1:7"),
                               HasSubstr("does not speak TLS 1.3"),
                               HasSubstr("protocol version")));
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
  EXPECT_THAT(f.message,
              AllOf(HasSubstr("127.0.0.1:7"), HasSubstr("Socket closed"),
                    HasSubstr("accepts your certificate")));
}

TEST(FailureFromRpcTest, UnavailableOnceConnectedSaysTheConnectionWasLost) {
  Failure f = FailureFromRpc(
      grpc::Status(grpc::StatusCode::UNAVAILABLE, "server shutting down"),
      CallContext{"127.0.0.1:7", "job-1", /*connected=*/true});
  EXPECT_EQ(f.exit_code, kExitServerError);
  EXPECT_THAT(
      f.message,
      AllOf(HasSubstr("lost the connection"), HasSubstr("127.0.0.1:7"),
            HasSubstr("server shutting down"), Not(HasSubstr("certificate"))));
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

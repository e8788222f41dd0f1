// The client-certificate policy of cmdctld end to end (issue 16): a real
// server with certificates made by the test. A CA certificate never
// identifies a caller, a chain minted by one is refused, the --ca file holds
// CA certificates only and is logged, a refused certificate is named in the
// audit line, and identities are exactly their CN (control characters
// refused, spaces kept). Runs as root.
#include <grpcpp/grpcpp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cmdctl/v1/cmdctl.grpc.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "integration_tests/common/server_process.h"
#include "integration_tests/common/test_pki.h"
#include "integration_tests/common/test_users.h"
#include "tls/tls_policy.h"

namespace cmdctl {
namespace {

using ::cmdctl::test::CertRequest;
using ::cmdctl::test::IssuedCert;
using ::cmdctl::test::RunWithInput;
using ::cmdctl::test::ServerProcess;
using ::cmdctl::test::ServerProcessOptions;
using ::cmdctl::test::TempDir;
using ::cmdctl::test::TestCa;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kUser[] = "cmdctl-it-certs";
// A bound against hangs, never a timing assertion.
constexpr absl::Duration kBound = absl::Seconds(60);

// The CAs have no pathlen limit (like a careless real one), so that OpenSSL
// alone would accept a chain minted by a CA:TRUE leaf.
struct Pki {
  Pki() : ca("cmdctl policy CA"), rotation_ca("cmdctl rotation CA") {
    server = ca.IssueServer();
    ca_path = dir.WriteFile("ca.pem", ca.cert_pem());
    rotation_ca_path = dir.WriteFile("rotation-ca.pem", rotation_ca.cert_pem());
    both_cas_path =
        dir.WriteFile("both-cas.pem", ca.cert_pem() + rotation_ca.cert_pem());
    cert_path = dir.WriteFile("server.pem", server.cert_pem);
    key_path = dir.WriteFile("server.key", server.key_pem);
  }
  TempDir dir;
  TestCa ca, rotation_ca;
  IssuedCert server;
  std::string ca_path, rotation_ca_path, both_cas_path, cert_path, key_path;
};
Pki* pki = nullptr;

// Runs the openssl command-line tool (an independent view of a certificate).
std::string OpenSsl(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"/usr/bin/openssl"};
  argv.insert(argv.end(), args.begin(), args.end());
  absl::StatusOr<test::CommandResult> result =
      RunWithInput(argv, "", absl::Seconds(30));
  EXPECT_TRUE(result.ok() && result->exit_code == 0)
      << (result.ok() ? result->output : result.status().ToString());
  return result.ok() ? result->output : "";
}

// `openssl x509 -noout <options>` of a PEM certificate: the text after "="
// ("-serial": "serial=7A...").
std::string CertField(const std::string& cert_pem,
                      const std::vector<std::string>& options) {
  TempDir dir;
  const std::string path = dir.WriteFile("cert.pem", cert_pem);
  std::vector<std::string> args = {"x509", "-in", path, "-noout"};
  args.insert(args.end(), options.begin(), options.end());
  const std::string out = OpenSsl(args);
  const size_t eq = out.find('=');
  return std::string(absl::StripAsciiWhitespace(
      eq == std::string::npos ? out : out.substr(eq + 1)));
}

IssuedCert IssueCaCertificate(const TestCa& issuer, const std::string& cn,
                              const std::string& basic_constraints,
                              const std::string& key_usage) {
  CertRequest request;
  request.common_name = cn;
  request.san_uris = {std::string("principal:") + kUser};
  request.basic_constraints = basic_constraints;
  request.key_usage = key_usage;
  return issuer.Issue(request);
}

class CertificatePolicyTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ASSERT_TRUE(EnforceTls13Policy().ok());
    ASSERT_TRUE(cmdctl::test::EnsureTestUser(kUser).ok());
    if (pki == nullptr) pki = new Pki();
  }

  void SetUp() override {
    ASSERT_EQ(geteuid(), 0u) << "integration tests run as root";
  }

  void StartServer(const std::string& ca_path) {
    const std::string out = work_.path() + "/out";
    mkdir(out.c_str(), 0755);
    ServerProcessOptions options;
    options.binary = CMDCTLD_PATH;
    options.ca_path = ca_path;
    options.cert_path = pki->cert_path;
    options.key_path = pki->key_path;
    options.work_dir = work_.path();
    options.extra_flags = {"--output_dir=" + out, "--stop_grace=1s"};
    absl::StatusOr<std::unique_ptr<ServerProcess>> server =
        ServerProcess::Start(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }

  // A client presenting `cert` (its chain: cert_pem, then `chain_pem`).
  std::unique_ptr<v1::ProcessService::Stub> Stub(
      const IssuedCert& cert, const std::string& chain_pem = "") {
    grpc::SslCredentialsOptions tls;
    tls.pem_root_certs = pki->ca.cert_pem();
    tls.pem_private_key = cert.key_pem;
    tls.pem_cert_chain = cert.cert_pem + chain_pem;
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // own connection
    return v1::ProcessService::NewStub(grpc::CreateCustomChannel(
        server_->address(), grpc::SslCredentials(tls), args));
  }

  static std::unique_ptr<grpc::ClientContext> Context() {
    auto context = std::make_unique<grpc::ClientContext>();
    context->set_deadline(absl::ToChronoTime(absl::Now() + kBound));
    return context;
  }

  static grpc::Status List(v1::ProcessService::Stub* stub,
                           v1::ListProcessesResponse* list = nullptr) {
    v1::ListProcessesResponse ignored;
    return stub->ListProcesses(Context().get(), {},
                               list != nullptr ? list : &ignored);
  }

  // Runs `id -un` as `run_as` (empty: the default principal).
  static grpc::Status RunId(v1::ProcessService::Stub* stub,
                            const std::string& run_as,
                            v1::RunProcessResponse* response) {
    v1::RunProcessRequest request;
    request.set_command("id");
    request.add_args("-un");
    request.set_run_as(run_as);
    return stub->RunProcess(Context().get(), request, response);
  }

  TempDir work_;
  std::unique_ptr<ServerProcess> server_;
};

// ---------------------------------------------------------------------------
// 1. A CA certificate is never a client.

TEST_F(CertificatePolicyTest, CaCertificateAsClientIsRefusedAtTheHandshake) {
  StartServer(pki->ca_path);
  struct Case {
    std::string basic_constraints, key_usage, why;
  };
  for (const Case& c : std::vector<Case>{
           {"critical,CA:TRUE", "critical,digitalSignature,keyCertSign",
            "basicConstraints CA:TRUE"},
           // CA:TRUE without keyCertSign: still a CA by its constraints.
           {"critical,CA:TRUE", "critical,digitalSignature",
            "basicConstraints CA:TRUE"},
           {"critical,CA:FALSE", "critical,digitalSignature,keyCertSign",
            "key usage keyCertSign"}}) {
    const IssuedCert cert = IssueCaCertificate(
        pki->ca, "ca-holder", c.basic_constraints, c.key_usage);
    v1::RunProcessResponse response;
    grpc::Status status = RunId(Stub(cert).get(), "", &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE)
        << c.why << ": " << status.error_message();
    EXPECT_TRUE(response.job_id().empty());
    EXPECT_THAT(server_->ReadLog(),
                HasSubstr(absl::StrCat(
                    "TLS handshake refused: client certificate is a CA "
                    "certificate (",
                    c.why, "); a CA never identifies a caller; subject: ",
                    "CN=ca-holder; issuer: CN=cmdctl policy CA; serial: ",
                    CertField(cert.cert_pem, {"-serial"}))));
  }
  // No handler ran for any of them.
  EXPECT_THAT(server_->ReadLog(), Not(HasSubstr("method=RunProcess")));
  // A leaf of the same CA is served.
  const IssuedCert leaf = pki->ca.IssueClient("leaf-holder", {kUser});
  EXPECT_TRUE(List(Stub(leaf).get()).ok());
}

TEST_F(CertificatePolicyTest, ChainMintedByACaCertificateIsRefused) {
  StartServer(pki->ca_path);
  const IssuedCert intermediate =
      IssueCaCertificate(pki->ca, "careless intermediate", "critical,CA:TRUE",
                         "critical,digitalSignature,keyCertSign");
  const TestCa minter(intermediate);
  const IssuedCert minted = minter.IssueClient("alice", {"root"});

  // OpenSSL alone accepts this chain for a TLS client: the CA has no path
  // length limit. Only cmdctld's own check stands in the way.
  TempDir files;
  const std::string chain_file =
      files.WriteFile("intermediate.pem", intermediate.cert_pem);
  const std::string leaf_file = files.WriteFile("minted.pem", minted.cert_pem);
  EXPECT_THAT(OpenSsl({"verify", "-purpose", "sslclient", "-CAfile",
                       pki->ca_path, "-untrusted", chain_file, leaf_file}),
              HasSubstr(": OK"));

  v1::RunProcessResponse response;
  grpc::Status status =
      RunId(Stub(minted, intermediate.cert_pem).get(), "root", &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE)
      << status.error_message();
  EXPECT_TRUE(response.job_id().empty());
  const std::string log = server_->ReadLog();
  EXPECT_THAT(log, HasSubstr(absl::StrCat(
                       "TLS handshake refused: client certificate is not "
                       "issued directly by a CA of --ca",
                       " (intermediate CAs are not trusted to issue client "
                       "certificates); subject: CN=alice; issuer: "
                       "CN=careless intermediate; serial: ",
                       CertField(minted.cert_pem, {"-serial"}))));
  EXPECT_THAT(log, Not(HasSubstr("method=RunProcess")));
}

// ---------------------------------------------------------------------------
// 2. The --ca file: CA certificates only, each logged.

TEST_F(CertificatePolicyTest, TwoCaFileLogsBothAndFormsOneIdentityNamespace) {
  StartServer(pki->both_cas_path);
  const std::string log = server_->ReadLog();
  for (const TestCa* ca : {&pki->ca, &pki->rotation_ca}) {
    const std::string fingerprint =
        CertField(ca->cert_pem(), {"-fingerprint", "-sha256"});
    EXPECT_THAT(log,
                HasSubstr(absl::StrCat(
                    "trusting client certificates issued by CA \"CN=",
                    ca == &pki->ca ? "cmdctl policy CA" : "cmdctl rotation CA",
                    "\" (SHA-256 fingerprint ", fingerprint, ")")));
  }
  EXPECT_THAT(log, HasSubstr("holds 2 CAs: they form one identity namespace"));

  // alice of one CA and alice of the other are the same caller.
  const IssuedCert alice = pki->ca.IssueClient("alice", {kUser});
  const IssuedCert rotated_alice =
      pki->rotation_ca.IssueClient("alice", {kUser});
  v1::RunProcessResponse started;
  ASSERT_TRUE(RunId(Stub(alice).get(), "", &started).ok());
  v1::ListProcessesResponse list;
  ASSERT_TRUE(List(Stub(rotated_alice).get(), &list).ok());
  ASSERT_EQ(list.processes_size(), 1);
  EXPECT_EQ(list.processes(0).job_id(), started.job_id());
}

TEST_F(CertificatePolicyTest,
       CaFileWithACertificateThatIsNotACaRefusesToStart) {
  const std::string leaf_ca =
      work_.WriteFile("leaf-as-ca.pem", pki->server.cert_pem);
  const std::string mixed =
      work_.WriteFile("mixed.pem", pki->ca.cert_pem() + pki->server.cert_pem);
  struct Case {
    std::string ca_path, which;
  };
  for (const Case& c : std::vector<Case>{{leaf_ca, "certificate 1 of 1"},
                                         {mixed, "certificate 2 of 2"}}) {
    absl::StatusOr<test::CommandResult> result =
        RunWithInput({CMDCTLD_PATH, "--listen=127.0.0.1:0", "--ca=" + c.ca_path,
                      "--cert=" + pki->cert_path, "--key=" + pki->key_path},
                     "", absl::Seconds(30));
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->exit_code, 1) << result->output;
    EXPECT_THAT(result->output,
                HasSubstr(absl::StrCat(
                    "refusing to start: CA file ", c.ca_path, ": ", c.which,
                    " (subject: CN=localhost) is not a CA certificate (it "
                    "lacks basicConstraints CA:TRUE)")));
  }
}

// ---------------------------------------------------------------------------
// 3 and 4. Refused after the handshake: named in the audit line. Identities
// are exactly the CN.

TEST_F(CertificatePolicyTest, RefusedCertificateIsNamedInTheAuditLine) {
  StartServer(pki->ca_path);
  struct Case {
    std::string cn, subject, why;
  };
  for (const Case& c : std::vector<Case>{
           {"alice\nroot", "CN=alice\\\\0Aroot",
            "client certificate CN holds a control character"},
           {"alice\x1b[2K", "CN=alice\\\\1B[2K",
            "client certificate CN holds a control character"},
           {"", "",
            "client certificate has no Subject CN (the caller identity)"}}) {
    const IssuedCert cert = pki->ca.IssueClient(c.cn, {kUser});
    v1::RunProcessResponse response;
    grpc::Status status = RunId(Stub(cert).get(), "", &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED)
        << status.error_message();
    EXPECT_THAT(status.error_message(), HasSubstr(c.why));
    const std::string serial = CertField(cert.cert_pem, {"-serial"});
    ASSERT_FALSE(serial.empty());
    // The line of this call: its prefix, then (after the peer and the
    // request's fields) the reason naming the certificate.
    const std::string reason =
        absl::StrCat(" reason=\"", c.why, "; subject: ", c.subject,
                     "; issuer: CN=cmdctl policy CA; serial: ", serial, "\"");
    bool found = false;
    for (absl::string_view line : absl::StrSplit(server_->ReadLog(), '\n')) {
      found |= absl::StrContains(
                   line,
                   "audit identity=\"?\" method=RunProcess job_id=\"\" "
                   "result=UNAUTHENTICATED ") &&
               absl::EndsWith(line, reason);
    }
    EXPECT_TRUE(found) << "CN " << c.cn << "\n" << server_->ReadLog();
  }
  // No line of the log starts with what followed the newline.
  for (absl::string_view line : absl::StrSplit(server_->ReadLog(), '\n')) {
    EXPECT_FALSE(absl::StartsWith(line, "root")) << line;
  }
}

TEST_F(CertificatePolicyTest, IdentitiesWithSpacesAreDistinct) {
  StartServer(pki->ca_path);
  const IssuedCert alice = pki->ca.IssueClient("alice", {kUser});
  const IssuedCert spaced = pki->ca.IssueClient("alice ", {kUser});
  v1::RunProcessResponse mine, theirs;
  ASSERT_TRUE(RunId(Stub(alice).get(), "", &mine).ok());
  ASSERT_TRUE(RunId(Stub(spaced).get(), "", &theirs).ok());
  EXPECT_EQ(mine.status().owner(), "alice");
  EXPECT_EQ(theirs.status().owner(), "alice ");
  v1::ListProcessesResponse list;
  ASSERT_TRUE(List(Stub(spaced).get(), &list).ok());
  ASSERT_EQ(list.processes_size(), 1);
  EXPECT_EQ(list.processes(0).job_id(), theirs.job_id());
  EXPECT_THAT(server_->ReadLog(),
              HasSubstr("audit identity=\"alice \" method=RunProcess"));
}

}  // namespace
}  // namespace cmdctl

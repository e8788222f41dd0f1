#include "integration_tests/rpc/hardening_fixture.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <climits>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "integration_tests/common/test_users.h"
#include "tls/tls_policy.h"

namespace cmdctl::test {
namespace {

HardeningPki* pki = nullptr;

}  // namespace

HardeningPki::HardeningPki() : ca("cmdctl hardening CA") {
  server = ca.IssueServer();
  alice = ca.IssueClient("alice", {kUser});
  bob = ca.IssueClient("bob", {kUser});
  ca_path = dir.WriteFile("ca.pem", ca.cert_pem());
  cert_path = dir.WriteFile("server.pem", server.cert_pem);
  key_path = dir.WriteFile("server.key", server.key_pem);
}

void HardeningTest::SetUpTestSuite() {
  ASSERT_TRUE(EnforceTls13Policy().ok());
  ASSERT_TRUE(EnsureTestUser(kUser).ok());
  if (pki == nullptr) pki = new HardeningPki();
}

const HardeningPki& HardeningTest::Pki() { return *pki; }

void HardeningTest::SetUp() {
  ASSERT_EQ(geteuid(), 0u) << "integration tests run as root";
  out_dir_ = work_.path() + "/out";
  ASSERT_EQ(mkdir(out_dir_.c_str(), 0755), 0);
}

void HardeningTest::StartServer(const std::vector<std::string>& flags,
                                int fd_limit) {
  ServerProcessOptions options;
  options.binary = CMDCTLD_PATH;
  options.ca_path = pki->ca_path;
  options.cert_path = pki->cert_path;
  options.key_path = pki->key_path;
  options.work_dir = work_.path();
  options.fd_limit = fd_limit;
  options.extra_flags = {"--stop_grace=2s"};
  if (!output_in_home_)
    options.extra_flags.push_back("--output_dir=" + out_dir_);
  options.extra_flags.insert(options.extra_flags.end(), flags.begin(),
                             flags.end());
  absl::StatusOr<std::unique_ptr<ServerProcess>> server =
      ServerProcess::Start(options);
  ASSERT_TRUE(server.ok()) << server.status();
  server_ = *std::move(server);
}

std::string HardeningTest::JobsOutputDir() const {
  if (!output_in_home_) return out_dir_;
  absl::StatusOr<TestUser> user = EnsureTestUser(kUser);
  return user.ok() ? user->home + "/.local/state/cmdctl/jobs" : "";
}

std::shared_ptr<grpc::Channel> HardeningTest::Channel(
    const IssuedCert& cert, const std::string& address) {
  grpc::SslCredentialsOptions tls;
  tls.pem_root_certs = pki->ca.cert_pem();
  tls.pem_private_key = cert.key_pem;
  tls.pem_cert_chain = cert.cert_pem;
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetSslTargetNameOverride("localhost");
  return grpc::CreateCustomChannel(
      address.empty() ? server_->address() : address, grpc::SslCredentials(tls),
      args);
}

std::unique_ptr<v1::ProcessService::Stub> HardeningTest::Stub(
    const IssuedCert& cert, const std::string& address) {
  return v1::ProcessService::NewStub(Channel(cert, address));
}

std::unique_ptr<grpc::ClientContext> HardeningTest::Context(
    absl::Duration timeout) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  return context;
}

grpc::Status HardeningTest::List(v1::ProcessService::Stub* stub,
                                 absl::Duration timeout, bool wait_for_ready) {
  v1::ListProcessesResponse list;
  std::unique_ptr<grpc::ClientContext> context = Context(timeout);
  context->set_wait_for_ready(wait_for_ready);
  return stub->ListProcesses(context.get(), {}, &list);
}

grpc::Status HardeningTest::Run(v1::ProcessService::Stub* stub,
                                const std::vector<std::string>& argv,
                                v1::RunProcessResponse* response) {
  v1::RunProcessRequest request;
  request.set_command(argv.at(0));
  for (size_t i = 1; i < argv.size(); ++i) request.add_args(argv[i]);
  return stub->RunProcess(Context().get(), request, response);
}

v1::ProcessStatus HardeningTest::WaitForEnd(v1::ProcessService::Stub* stub,
                                            const std::string& job_id) {
  const absl::Time deadline = absl::Now() + kBound;
  v1::ProcessStatusRequest request;
  request.set_job_id(job_id);
  v1::ProcessStatusResponse response;
  while (absl::Now() < deadline) {
    grpc::Status status =
        stub->GetProcessStatus(Context().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    if (response.status().state() != v1::JOB_STATE_RUNNING) break;
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_NE(response.status().state(), v1::JOB_STATE_RUNNING)
      << "job " << job_id << " did not end";
  return response.status();
}

grpc::Status HardeningTest::Stop(v1::ProcessService::Stub* stub,
                                 const std::string& job_id) {
  v1::StopProcessRequest request;
  request.set_job_id(job_id);
  v1::StopProcessResponse response;
  return stub->StopProcess(Context().get(), request, &response);
}

grpc::Status HardeningTest::Remove(v1::ProcessService::Stub* stub,
                                   const std::string& job_id) {
  v1::RemoveProcessRequest request;
  request.set_job_id(job_id);
  v1::RemoveProcessResponse response;
  return stub->RemoveProcess(Context().get(), request, &response);
}

std::string HardeningTest::CgroupParent() const {
  const std::string says = "jobs get their own cgroup under ";
  const std::string log = server_->ReadLog();
  const size_t at = log.find(says);
  if (at == std::string::npos) return "";
  const size_t start = at + says.size();
  return log.substr(start, log.find_first_of(" \n", start) - start);
}

std::vector<std::string> DirEntries(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return out;
  while (struct dirent* e = readdir(d)) {
    const std::string name = e->d_name;
    if (name != "." && name != "..") out.push_back(name);
  }
  closedir(d);
  return out;
}

int HardeningTest::ServerFdCount() const {
  return static_cast<int>(ServerFdTargets().size());
}

std::vector<std::string> HardeningTest::ServerFdTargets() const {
  std::vector<std::string> out;
  const std::string dir = absl::StrCat("/proc/", server_->pid(), "/fd");
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return out;
  while (struct dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    char target[PATH_MAX];
    const ssize_t n = readlink(absl::StrCat(dir, "/", e->d_name).c_str(),
                               target, sizeof(target) - 1);
    out.push_back(n > 0 ? std::string(target, n) : "?");
  }
  closedir(d);
  return out;
}

absl::StatusOr<UniqueFd> RawConnect(int port, const std::string& from,
                                    const std::string& to) {
  UniqueFd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return absl::InternalError(absl::StrCat("socket: ", errno));
  if (!from.empty()) {
    sockaddr_in src = {};
    src.sin_family = AF_INET;
    inet_pton(AF_INET, from.c_str(), &src.sin_addr);
    if (bind(fd.get(), reinterpret_cast<sockaddr*>(&src), sizeof(src)) != 0) {
      return absl::InternalError(absl::StrCat("bind ", from, ": ", errno));
    }
  }
  sockaddr_in dst = {};
  dst.sin_family = AF_INET;
  dst.sin_port = htons(port);
  inet_pton(AF_INET, to.c_str(), &dst.sin_addr);
  if (connect(fd.get(), reinterpret_cast<sockaddr*>(&dst), sizeof(dst)) != 0) {
    return absl::UnavailableError(absl::StrCat("connect: errno ", errno));
  }
  return fd;
}

bool ClosedWithin(int fd, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    const int64_t ms =
        std::max<int64_t>(0, absl::ToInt64Milliseconds(deadline - absl::Now()));
    pollfd p = {fd, POLLIN | POLLRDHUP, 0};
    const int n = poll(&p, 1, static_cast<int>(ms));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    char buf[4096];
    const ssize_t got = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (got == 0) return true;
    if (got < 0 && errno != EAGAIN && errno != EINTR) return true;  // reset
  }
}

int CountInLog(const std::string& log, const std::string& what) {
  int n = 0;
  for (absl::string_view line : absl::StrSplit(log, '\n')) {
    if (absl::StrContains(line, what)) ++n;
  }
  return n;
}

}  // namespace cmdctl::test

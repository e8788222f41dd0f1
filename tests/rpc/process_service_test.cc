// The ProcessService over an in-process channel, with the OS seam faked
// (FakeProcessHost): no process is spawned, no wall-clock sleep. The caller
// is injected through test metadata instead of a TLS certificate.
#include "rpc/process_service.h"

#include <grpcpp/grpcpp.h>

#include <array>
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "cmdctl/v1/cmdctl.grpc.pb.h"
#include "domain/job_manager.h"
#include "domain/uuid.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rpc/server.h"
#include "tests/fakes/fake_job_store.h"
#include "tests/fakes/fake_process_host.h"

namespace cmdctl {
namespace {

using ::cmdctl::test::FakeProcessHost;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kIdentityHeader[] = "x-test-identity";
constexpr char kPrincipalsHeader[] = "x-test-principals";
constexpr absl::Duration kBound = absl::Seconds(30);  // a hang guard only

// The test's stand-in for the TLS peer: identity and principals from
// metadata; UNAUTHENTICATED without them.
absl::StatusOr<Caller> CallerFromTestMetadata(
    const grpc::CallbackServerContext& context) {
  const auto& metadata = context.client_metadata();
  auto identity = metadata.find(kIdentityHeader);
  if (identity == metadata.end()) {
    return absl::UnauthenticatedError("no client certificate");
  }
  Caller caller;
  caller.identity.assign(identity->second.data(), identity->second.size());
  auto principals = metadata.find(kPrincipalsHeader);
  if (principals != metadata.end()) {
    std::string list(principals->second.data(), principals->second.size());
    for (absl::string_view p : absl::StrSplit(list, ',', absl::SkipEmpty())) {
      caller.principals.emplace_back(p);
    }
  }
  return caller;
}

// A host that tells the test when the server has sent TERM, so that a test
// can wait for it without polling.
class SignalWatchingHost : public FakeProcessHost {
 public:
  absl::Status Terminate(const std::string& job_id) override {
    absl::Status status = FakeProcessHost::Terminate(job_id);
    absl::MutexLock lock(&signal_mu_);
    ++terminates_;
    return status;
  }
  TimerId RunAfter(absl::Duration delay, std::function<void()> fn) override {
    TimerId id = FakeProcessHost::RunAfter(delay, std::move(fn));
    absl::MutexLock lock(&signal_mu_);
    ++timers_;
    return id;
  }
  // Waits (on a condition) until a stop is under way: TERM sent and the
  // KILL timer armed, so that moving the clock now is meaningful.
  bool WaitForTerminate() {
    absl::MutexLock lock(&signal_mu_);
    auto armed = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(signal_mu_) {
      return terminates_ > 0 && timers_ > 0;
    };
    return signal_mu_.AwaitWithTimeout(absl::Condition(&armed), kBound);
  }

 private:
  absl::Mutex signal_mu_;
  int terminates_ ABSL_GUARDED_BY(signal_mu_) = 0;
  int timers_ ABSL_GUARDED_BY(signal_mu_) = 0;
};

struct Output {
  std::string out;
  std::string err;
  std::vector<std::pair<v1::OutputStream, std::string>> chunks;
  grpc::Status status;
};

class ProcessServiceTest : public ::testing::Test {
 protected:
  void SetUp() override { StartServer(/*chunk_bytes=*/4); }

  void StartServer(size_t chunk_bytes) {
#if defined(__SANITIZE_THREAD__)
    // Debian's gRPC, protobuf and Abseil are not built with TSan, so TSan
    // sees none of their synchronization (absl::Mutex included: a plain
    // two-thread counter under absl::MutexLock is reported as a race), and
    // every message handed between gRPC threads shows up as a race. Under
    // TSan these tests would only report noise; they run under ASan+UBSan
    // and in the plain build.
    GTEST_SKIP() << "gRPC tests are not meaningful under TSan with "
                    "uninstrumented system gRPC/Abseil";
#endif
    JobManagerOptions options;
    options.output_chunk_bytes = chunk_bytes;
    jobs_ = std::make_unique<JobManager>(
        &host_, &store_, [this] { return NextJobId(); }, options);
    ServerOptions server_options;
    server_options.resolve_caller = CallerFromTestMetadata;
    absl::StatusOr<std::unique_ptr<CmdctlServer>> server =
        CmdctlServer::Start(server_options, jobs_.get());
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    grpc::ChannelArguments args;
    stub_ = v1::ProcessService::NewStub(
        server_->grpc_server()->InProcessChannel(args));
  }

  void TearDown() override {
    if (server_ == nullptr) return;
    // Jobs still running end at the first TERM of the shutdown.
    host_.set_on_terminate(FakeProcessHost::SignalResponse::kExitInline);
    if (server_ != nullptr) server_->Shutdown(absl::Seconds(5));
    if (server_ != nullptr) {
      EXPECT_EQ(server_->service()->OpenStreams(), 0u);
    }
    server_.reset();
  }

  std::string NextJobId() {
    std::array<uint8_t, 16> bytes{};
    const int n = ++ids_;
    bytes[15] = static_cast<uint8_t>(n);
    bytes[14] = static_cast<uint8_t>(n >> 8);
    return FormatUuidV4(bytes);
  }

  static std::unique_ptr<grpc::ClientContext> As(
      const std::string& identity, const std::vector<std::string>& principals) {
    auto context = std::make_unique<grpc::ClientContext>();
    context->AddMetadata(kIdentityHeader, identity);
    context->AddMetadata(kPrincipalsHeader, absl::StrJoin(principals, ","));
    context->set_deadline(absl::ToChronoTime(absl::Now() + kBound));
    return context;
  }
  static std::unique_ptr<grpc::ClientContext> Alice() {
    return As("alice", {"alice", "svc"});
  }
  static std::unique_ptr<grpc::ClientContext> Bob() {
    return As("bob", {"bob"});
  }

  // Starts `command` as alice; fails the test if that fails.
  std::string RunAsAlice(const std::string& command,
                         const std::vector<std::string>& args = {}) {
    v1::RunProcessRequest request;
    request.set_command(command);
    for (const auto& a : args) request.add_args(a);
    v1::RunProcessResponse response;
    grpc::Status status = stub_->RunProcess(Alice().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.job_id();
  }

  grpc::Status Run(grpc::ClientContext* context, v1::RunProcessRequest request,
                   v1::RunProcessResponse* response = nullptr) {
    v1::RunProcessResponse ignored;
    return stub_->RunProcess(context, request,
                             response == nullptr ? &ignored : response);
  }

  grpc::Status GetStatus(grpc::ClientContext* context, const std::string& id,
                         v1::ProcessStatusResponse* response = nullptr) {
    v1::ProcessStatusRequest request;
    request.set_job_id(id);
    v1::ProcessStatusResponse ignored;
    return stub_->GetProcessStatus(context, request,
                                   response == nullptr ? &ignored : response);
  }

  Output ReadAll(grpc::ClientContext* context, const std::string& id,
                 bool snapshot) {
    v1::ProcessOutputRequest request;
    request.set_job_id(id);
    request.set_snapshot(snapshot);
    auto reader = stub_->GetProcessOutput(context, request);
    Output output;
    v1::ProcessOutputResponse message;
    while (reader->Read(&message)) {
      output.chunks.emplace_back(message.stream(), message.data());
      if (message.stream() == v1::OUTPUT_STREAM_STDOUT) {
        output.out += message.data();
      } else {
        output.err += message.data();
      }
    }
    output.status = reader->Finish();
    return output;
  }

  SignalWatchingHost host_;
  test::FakeJobStore store_;
  std::atomic<int> ids_{0};
  std::unique_ptr<JobManager> jobs_;
  std::unique_ptr<CmdctlServer> server_;
  std::unique_ptr<v1::ProcessService::Stub> stub_;
};

// ---------------------------------------------------------------------------
// RunProcess

TEST_F(ProcessServiceTest, RunProcessReturnsJobIdAndRunningStatus) {
  v1::RunProcessRequest request;
  request.set_command("ls");
  request.add_args("-la");
  request.set_working_dir("/tmp");
  (*request.mutable_env())["LANG"] = "C";
  v1::RunProcessResponse response;
  ASSERT_TRUE(Run(Alice().get(), request, &response).ok());

  EXPECT_TRUE(IsUuidV4(response.job_id())) << response.job_id();
  const v1::ProcessStatus& status = response.status();
  EXPECT_EQ(status.job_id(), response.job_id());
  EXPECT_EQ(status.owner(), "alice");
  EXPECT_EQ(status.run_as(), "alice");  // the first principal
  EXPECT_EQ(status.command(), "ls");
  EXPECT_THAT(status.args(), ElementsAre("-la"));
  EXPECT_EQ(status.state(), v1::JOB_STATE_RUNNING);
  EXPECT_EQ(status.pid(), host_.job(response.job_id()).pid);
  EXPECT_TRUE(status.has_started_at());
  EXPECT_FALSE(status.has_ended_at());

  std::optional<ProcessSpec> spec = host_.job(response.job_id()).spec;
  ASSERT_TRUE(spec.has_value());
  EXPECT_EQ(spec->program, "ls");
  EXPECT_EQ(spec->run_as, "alice");
  EXPECT_EQ(spec->working_dir, "/tmp");
  EXPECT_THAT(spec->env, ElementsAre(std::make_pair(std::string("LANG"),
                                                    std::string("C"))));
}

TEST_F(ProcessServiceTest, RunProcessAsAnotherOfTheCallersPrincipals) {
  v1::RunProcessRequest request;
  request.set_command("true");
  request.set_run_as("svc");
  v1::RunProcessResponse response;
  ASSERT_TRUE(Run(Alice().get(), request, &response).ok());
  EXPECT_EQ(response.status().run_as(), "svc");
}

TEST_F(ProcessServiceTest, BadRunRequestsAreInvalidArgumentAndStartNothing) {
  std::vector<v1::RunProcessRequest> bad(5);
  // Empty command.
  bad[1].set_command(std::string("l\0s", 3));
  bad[2].set_command("ls");
  bad[2].add_args(std::string("a\0b", 3));
  bad[3].set_command("ls");
  (*bad[3].mutable_env())["A=B"] = "x";
  bad[4].set_command("ls");
  bad[4].set_working_dir(std::string("/tm\0p", 5));
  for (size_t i = 0; i < bad.size(); ++i) {
    grpc::Status status = Run(Alice().get(), bad[i]);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << "request " << i << ": " << status.error_message();
  }
  EXPECT_TRUE(host_.snapshot().start_attempts.empty());
  v1::ListProcessesResponse list;
  ASSERT_TRUE(stub_->ListProcesses(Alice().get(), {}, &list).ok());
  EXPECT_EQ(list.processes_size(), 0);
}

TEST_F(ProcessServiceTest, RunAsOutsidePrincipalsIsPermissionDenied) {
  v1::RunProcessRequest request;
  request.set_command("id");
  request.set_run_as("bob");
  grpc::Status status = Run(Alice().get(), request);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(host_.snapshot().start_attempts.empty());
}

TEST_F(ProcessServiceTest, CertificateWithoutPrincipalsGrantsNothing) {
  v1::RunProcessRequest request;
  request.set_command("id");
  grpc::Status status = Run(As("carol", {}).get(), request);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(host_.snapshot().start_attempts.empty());
}

TEST_F(ProcessServiceTest, RootNeedsPrincipalRoot) {
  v1::RunProcessRequest request;
  request.set_command("id");
  request.set_run_as("root");
  EXPECT_EQ(Run(Alice().get(), request).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  v1::RunProcessResponse response;
  ASSERT_TRUE(
      Run(As("admin", {"admin", "root"}).get(), request, &response).ok());
  EXPECT_EQ(response.status().run_as(), "root");
}

TEST_F(ProcessServiceTest, HostStartErrorsKeepTheirCodeAndMessage) {
  host_.SetProgramError("missing",
                        absl::NotFoundError("program missing not found"));
  host_.SetProgramError("/etc/passwd",
                        absl::FailedPreconditionError("not executable"));
  host_.SetProgramError(
      "id", absl::PermissionDeniedError(
                "cmdctld runs as uid 1000 (not root): it can run jobs only "
                "as itself"));
  struct Case {
    std::string command;
    grpc::StatusCode code;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {"missing", grpc::StatusCode::NOT_FOUND,
            "program missing not found"},
           {"/etc/passwd", grpc::StatusCode::FAILED_PRECONDITION,
            "not executable"},
           {"id", grpc::StatusCode::PERMISSION_DENIED, "not root"}}) {
    v1::RunProcessRequest request;
    request.set_command(c.command);
    grpc::Status status = Run(Alice().get(), request);
    EXPECT_EQ(status.error_code(), c.code) << c.command;
    EXPECT_THAT(status.error_message(), HasSubstr(c.message));
  }
  EXPECT_TRUE(host_.snapshot().started_job_ids.empty());
}

TEST_F(ProcessServiceTest, CallWithoutIdentityIsUnauthenticated) {
  grpc::ClientContext context;
  v1::RunProcessRequest request;
  request.set_command("ls");
  EXPECT_EQ(Run(&context, request).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  grpc::ClientContext list_context;
  v1::ListProcessesResponse list;
  EXPECT_EQ(stub_->ListProcesses(&list_context, {}, &list).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

// ---------------------------------------------------------------------------
// GetProcessStatus and ListProcesses: scoping.

TEST_F(ProcessServiceTest, BadJobIdsAreInvalidArgument) {
  for (const std::string& id :
       {std::string(""), std::string("123"), std::string("../../etc"),
        std::string("6F9619FF-8B86-4011-B42D-00CF4FC964FF")}) {
    EXPECT_EQ(GetStatus(Alice().get(), id).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT)
        << id;
    v1::StopProcessRequest stop;
    stop.set_job_id(id);
    v1::StopProcessResponse stopped;
    EXPECT_EQ(stub_->StopProcess(Alice().get(), stop, &stopped).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT)
        << id;
    EXPECT_EQ(ReadAll(Alice().get(), id, false).status.error_code(),
              grpc::StatusCode::INVALID_ARGUMENT)
        << id;
  }
}

TEST_F(ProcessServiceTest, StatusReportsExitExactly) {
  const std::string id = RunAsAlice("sh", {"-c", "exit 3"});
  host_.clock().AdvanceTime(absl::Milliseconds(1500));
  ASSERT_TRUE(host_.Exit(id, ExitInfo::Exited(3)));
  v1::ProcessStatusResponse response;
  ASSERT_TRUE(GetStatus(Alice().get(), id, &response).ok());
  EXPECT_EQ(response.status().state(), v1::JOB_STATE_EXITED);
  EXPECT_EQ(response.status().exit_code(), 3);
  EXPECT_EQ(response.status().signal(), 0);
  ASSERT_TRUE(response.status().has_ended_at());
  const auto& started = response.status().started_at();
  const auto& ended = response.status().ended_at();
  EXPECT_EQ((ended.seconds() - started.seconds()) * 1000 +
                (ended.nanos() - started.nanos()) / 1000000,
            1500);
}

TEST_F(ProcessServiceTest, AnotherIdentitysJobIsNotFoundLikeAnUnknownId) {
  const std::string alices = RunAsAlice("sleep", {"100"});
  const std::string unknown = NextJobId();  // never started

  grpc::Status bob_sees = GetStatus(Bob().get(), alices);
  grpc::Status nobody = GetStatus(Bob().get(), unknown);
  EXPECT_EQ(bob_sees.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(nobody.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(bob_sees.error_message(),
            absl::StrReplaceAll(nobody.error_message(), {{unknown, alices}}));

  Output streamed = ReadAll(Bob().get(), alices, /*snapshot=*/true);
  EXPECT_EQ(streamed.status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(streamed.status.error_message(), bob_sees.error_message());
  EXPECT_TRUE(streamed.chunks.empty());

  v1::StopProcessRequest stop;
  stop.set_job_id(alices);
  v1::StopProcessResponse stopped;
  grpc::Status stop_status = stub_->StopProcess(Bob().get(), stop, &stopped);
  EXPECT_EQ(stop_status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(stop_status.error_message(), bob_sees.error_message());
  EXPECT_EQ(host_.job(alices).terminate_count, 0);

  v1::ListProcessesResponse list;
  ASSERT_TRUE(stub_->ListProcesses(Bob().get(), {}, &list).ok());
  EXPECT_EQ(list.processes_size(), 0);

  v1::ProcessStatusResponse mine;
  ASSERT_TRUE(GetStatus(Alice().get(), alices, &mine).ok());
  EXPECT_EQ(mine.status().state(), v1::JOB_STATE_RUNNING);
}

TEST_F(ProcessServiceTest, ListShowsOnlyTheCallersJobsNewestFirst) {
  const std::string first = RunAsAlice("a");
  v1::RunProcessRequest bobs;
  bobs.set_command("b");
  ASSERT_TRUE(Run(Bob().get(), bobs).ok());
  const std::string second = RunAsAlice("c");
  v1::ListProcessesResponse list;
  ASSERT_TRUE(stub_->ListProcesses(Alice().get(), {}, &list).ok());
  ASSERT_EQ(list.processes_size(), 2);
  EXPECT_EQ(list.processes(0).job_id(), second);
  EXPECT_EQ(list.processes(1).job_id(), first);
  EXPECT_EQ(list.processes(0).owner(), "alice");
  EXPECT_TRUE(list.next_page_token().empty());
}

// ---------------------------------------------------------------------------
// StopProcess

TEST_F(ProcessServiceTest, StopReturnsOnlyOnceTheJobHasEnded) {
  const std::string id = RunAsAlice("sleep", {"100"});
  host_.set_on_terminate(FakeProcessHost::SignalResponse::kIgnore);

  v1::StopProcessRequest request;
  request.set_job_id(id);  // grace unset: the default, 5 s
  v1::StopProcessResponse response;
  grpc::Status status;
  absl::Notification done;
  auto context = Alice();
  stub_->async()->StopProcess(context.get(), &request, &response,
                              [&](grpc::Status s) {
                                status = std::move(s);
                                done.Notify();
                              });
  ASSERT_TRUE(host_.WaitForTerminate());
  // TERM is ignored: nothing ends before the grace runs out.
  host_.clock().AdvanceTime(absl::Milliseconds(4999));
  EXPECT_EQ(host_.job(id).kill_count, 0);
  EXPECT_FALSE(done.HasBeenNotified());
  host_.clock().AdvanceTime(absl::Milliseconds(1));  // KILL
  EXPECT_EQ(host_.job(id).kill_count, 1);
  host_.clock().RunReady();  // the queued exit
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(kBound));
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.status().state(), v1::JOB_STATE_STOPPED);
  EXPECT_EQ(response.status().signal(), FakeProcessHost::kSigKill);
  EXPECT_TRUE(response.status().stop_requested());
}

TEST_F(ProcessServiceTest, StopUsesTheRequestedGrace) {
  const std::string id = RunAsAlice("sleep", {"100"});
  v1::StopProcessRequest request;
  request.set_job_id(id);
  request.mutable_grace_period()->set_nanos(250000000);
  v1::StopProcessResponse response;
  absl::Notification done;
  grpc::Status status;
  auto context = Alice();
  stub_->async()->StopProcess(context.get(), &request, &response,
                              [&](grpc::Status s) {
                                status = std::move(s);
                                done.Notify();
                              });
  ASSERT_TRUE(host_.WaitForTerminate());
  host_.clock().AdvanceTime(absl::Milliseconds(250));
  host_.clock().RunReady();
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(kBound));
  EXPECT_TRUE(status.ok());
  EXPECT_EQ(host_.job(id).kill_count, 1);
  EXPECT_EQ(response.status().state(), v1::JOB_STATE_STOPPED);
}

TEST_F(ProcessServiceTest, AbortedStopAnswersUnavailableAndIgnoresTheLateEnd) {
  const std::string id = RunAsAlice("sleep", {"100"});
  v1::StopProcessRequest request;
  request.set_job_id(id);
  v1::StopProcessResponse response;
  absl::Notification done;
  grpc::Status status;
  auto context = Alice();
  stub_->async()->StopProcess(context.get(), &request, &response,
                              [&](grpc::Status s) {
                                status = std::move(s);
                                done.Notify();
                              });
  ASSERT_TRUE(host_.WaitForTerminate());
  server_->service()->AbortPendingStops();
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(kBound));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  // The job ends later: its answer has nowhere to go and is dropped.
  host_.clock().AdvanceTime(absl::Seconds(5));
  host_.clock().RunReady();
  absl::StatusOr<JobStatus> job = jobs_->GetStatus("alice", id);
  ASSERT_TRUE(job.ok());
  EXPECT_EQ(job->state, JobState::kStopped);
}

TEST_F(ProcessServiceTest, CancelledStopStillFinishesWhenTheJobEnds) {
  const std::string id = RunAsAlice("sleep", {"100"});
  v1::StopProcessRequest request;
  request.set_job_id(id);
  v1::StopProcessResponse response;
  absl::Notification done;
  grpc::Status status;
  auto context = Alice();
  stub_->async()->StopProcess(context.get(), &request, &response,
                              [&](grpc::Status s) {
                                status = std::move(s);
                                done.Notify();
                              });
  ASSERT_TRUE(host_.WaitForTerminate());
  context->TryCancel();
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(kBound));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::CANCELLED);
  // The stop goes on without its caller; the server side finishes the call
  // when the job ends (else the server could not shut down, and ASan would
  // report the reactor).
  host_.clock().AdvanceTime(absl::Seconds(5));
  host_.clock().RunReady();
  absl::StatusOr<JobStatus> job = jobs_->GetStatus("alice", id);
  ASSERT_TRUE(job.ok());
  EXPECT_EQ(job->state, JobState::kStopped);
}

TEST_F(ProcessServiceTest, StopOfEndedJobReturnsFinalStatusAtOnce) {
  const std::string id = RunAsAlice("true");
  ASSERT_TRUE(host_.Exit(id, ExitInfo::Exited(0)));
  v1::StopProcessRequest request;
  request.set_job_id(id);
  v1::StopProcessResponse response;
  ASSERT_TRUE(stub_->StopProcess(Alice().get(), request, &response).ok());
  EXPECT_EQ(response.status().state(), v1::JOB_STATE_EXITED);
  EXPECT_EQ(host_.job(id).terminate_count, 0);
}

TEST_F(ProcessServiceTest, NegativeOrMalformedGraceIsInvalidArgument) {
  const std::string id = RunAsAlice("sleep", {"100"});
  std::vector<google::protobuf::Duration> bad(3);
  bad[0].set_seconds(-1);
  bad[1].set_seconds(1);
  bad[1].set_nanos(-5);  // signs disagree
  bad[2].set_nanos(2000000000);
  for (const auto& grace : bad) {
    v1::StopProcessRequest request;
    request.set_job_id(id);
    *request.mutable_grace_period() = grace;
    v1::StopProcessResponse response;
    grpc::Status status = stub_->StopProcess(Alice().get(), request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << grace.DebugString();
  }
  EXPECT_EQ(host_.job(id).terminate_count, 0);
}

// ---------------------------------------------------------------------------
// GetProcessOutput

TEST_F(ProcessServiceTest, SnapshotSendsWhatIsStoredAndEnds) {
  const std::string id = RunAsAlice("gen");
  ASSERT_TRUE(host_.AppendOutput(id, OutputStream::kStdout, "hello\n"));
  ASSERT_TRUE(host_.AppendOutput(id, OutputStream::kStderr, "oops"));
  Output output = ReadAll(Alice().get(), id, /*snapshot=*/true);
  ASSERT_TRUE(output.status.ok()) << output.status.error_message();
  EXPECT_EQ(output.out, "hello\n");
  EXPECT_EQ(output.err, "oops");
  for (const auto& [stream, data] : output.chunks) {
    EXPECT_LE(data.size(), 4u);  // the configured chunk size
    EXPECT_FALSE(data.empty());
  }
}

TEST_F(ProcessServiceTest, SnapshotOfAJobWithNoOutputIsEmptyAndOk) {
  const std::string id = RunAsAlice("quiet");
  Output output = ReadAll(Alice().get(), id, /*snapshot=*/true);
  EXPECT_TRUE(output.status.ok());
  EXPECT_TRUE(output.chunks.empty());
}

TEST_F(ProcessServiceTest, OutputIsBinarySafe) {
  const std::string id = RunAsAlice("gen");
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes.push_back(static_cast<char>(i));
  ASSERT_TRUE(host_.AppendOutput(id, OutputStream::kStdout, bytes));
  ASSERT_TRUE(host_.Exit(id, ExitInfo::Exited(0)));
  Output output = ReadAll(Alice().get(), id, /*snapshot=*/false);
  ASSERT_TRUE(output.status.ok());
  EXPECT_EQ(output.out, bytes);
}

TEST_F(ProcessServiceTest, FollowerGetsOutputThatArrivesAfterItCaughtUp) {
  const std::string id = RunAsAlice("gen");
  ASSERT_TRUE(host_.AppendOutput(id, OutputStream::kStdout, "abcd"));
  auto context = Alice();
  v1::ProcessOutputRequest request;
  request.set_job_id(id);
  auto reader = stub_->GetProcessOutput(context.get(), request);
  v1::ProcessOutputResponse message;
  ASSERT_TRUE(reader->Read(&message));
  EXPECT_EQ(message.data(), "abcd");
  // The reader has caught up; new output wakes it.
  ASSERT_TRUE(host_.AppendOutput(id, OutputStream::kStderr, "efg"));
  ASSERT_TRUE(reader->Read(&message));
  EXPECT_EQ(message.data(), "efg");
  EXPECT_EQ(message.stream(), v1::OUTPUT_STREAM_STDERR);
  ASSERT_TRUE(host_.Exit(id, ExitInfo::Exited(0)));
  EXPECT_FALSE(reader->Read(&message));
  EXPECT_TRUE(reader->Finish().ok());
}

TEST_F(ProcessServiceTest, FollowersJoiningAtDifferentMomentsGetEverything) {
  const std::string id = RunAsAlice("gen");
  constexpr int kReaders = 8;
  std::vector<Output> outputs(kReaders);
  std::vector<std::thread> readers;
  std::string want_out, want_err;
  for (int i = 0; i < kReaders; ++i) {
    const std::string out = absl::StrCat("out", i, "-line\n");
    const std::string err = absl::StrCat("err", i, "\n");
    ASSERT_TRUE(host_.AppendOutput(id, OutputStream::kStdout, out));
    ASSERT_TRUE(host_.AppendOutput(id, OutputStream::kStderr, err));
    want_out += out;
    want_err += err;
    readers.emplace_back([this, i, &outputs, id] {
      outputs[i] = ReadAll(Alice().get(), id, /*snapshot=*/false);
    });
  }
  for (int i = 0; i < 50; ++i) {
    const std::string more = absl::StrCat("tail ", i, "\n");
    ASSERT_TRUE(host_.AppendOutput(id, OutputStream::kStdout, more));
    want_out += more;
  }
  ASSERT_TRUE(host_.Exit(id, ExitInfo::Exited(0)));
  for (auto& t : readers) t.join();
  for (int i = 0; i < kReaders; ++i) {
    EXPECT_TRUE(outputs[i].status.ok()) << outputs[i].status.error_message();
    EXPECT_EQ(outputs[i].out, want_out) << "reader " << i;
    EXPECT_EQ(outputs[i].err, want_err) << "reader " << i;
  }
}

TEST_F(ProcessServiceTest, OutputOfUnknownJobIsNotFound) {
  Output output = ReadAll(Alice().get(), NextJobId(), false);
  EXPECT_EQ(output.status.error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(ProcessServiceTest, ReadErrorEndsTheStreamWithTheHostsCode) {
  const std::string id = RunAsAlice("gen");
  ASSERT_TRUE(host_.AppendOutput(id, OutputStream::kStdout, "x"));
  host_.set_read_error(absl::InternalError("pread: I/O error"));
  Output output = ReadAll(Alice().get(), id, false);
  EXPECT_EQ(output.status.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_THAT(output.status.error_message(), HasSubstr("I/O error"));
}

TEST_F(ProcessServiceTest, ClientCancelFinishesTheStreamAndLeavesTheJob) {
  const std::string id = RunAsAlice("gen");
  ASSERT_TRUE(host_.AppendOutput(id, OutputStream::kStdout, "abcd"));
  auto context = Alice();
  v1::ProcessOutputRequest request;
  request.set_job_id(id);
  auto reader = stub_->GetProcessOutput(context.get(), request);
  v1::ProcessOutputResponse message;
  ASSERT_TRUE(reader->Read(&message));
  ASSERT_EQ(server_->service()->OpenStreams(), 1u);
  context->TryCancel();
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
  // The server side finishes (OnCancel -> Finish -> OnDone).
  EXPECT_TRUE(server_->service()->AwaitOpenStreamsAtMost(0, kBound));
  // The job goes on, and a late change is harmless.
  ASSERT_TRUE(host_.AppendOutput(id, OutputStream::kStdout, "more"));
  v1::ProcessStatusResponse status;
  ASSERT_TRUE(GetStatus(Alice().get(), id, &status).ok());
  EXPECT_EQ(status.status().state(), v1::JOB_STATE_RUNNING);
  EXPECT_EQ(host_.job(id).terminate_count, 0);
}

TEST_F(ProcessServiceTest, ManyCancelledFollowersAllFinish) {
  const std::string id = RunAsAlice("gen");
  constexpr int kReaders = 20;
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::unique_ptr<grpc::ClientReader<v1::ProcessOutputResponse>>>
      readers;
  for (int i = 0; i < kReaders; ++i) {
    contexts.push_back(Alice());
    v1::ProcessOutputRequest request;
    request.set_job_id(id);
    readers.push_back(stub_->GetProcessOutput(contexts.back().get(), request));
  }
  ASSERT_TRUE(host_.AppendOutput(id, OutputStream::kStdout, "ping"));
  for (int i = 0; i < kReaders; ++i) {
    v1::ProcessOutputResponse message;
    ASSERT_TRUE(readers[i]->Read(&message));
    EXPECT_EQ(message.data(), "ping");
  }
  EXPECT_EQ(server_->service()->OpenStreams(), size_t{kReaders});
  for (int i = 0; i < kReaders; ++i) {
    contexts[i]->TryCancel();
    EXPECT_EQ(readers[i]->Finish().error_code(), grpc::StatusCode::CANCELLED);
  }
  EXPECT_TRUE(server_->service()->AwaitOpenStreamsAtMost(0, kBound));
}

TEST_F(ProcessServiceTest, CancelsRacingNewOutputAllFinishCleanly) {
  const std::string id = RunAsAlice("gen");
  constexpr int kReaders = 16;
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::unique_ptr<grpc::ClientReader<v1::ProcessOutputResponse>>>
      readers;
  for (int i = 0; i < kReaders; ++i) {
    contexts.push_back(Alice());
    v1::ProcessOutputRequest request;
    request.set_job_id(id);
    readers.push_back(stub_->GetProcessOutput(contexts.back().get(), request));
  }
  // Output arrives on another thread (as on a host thread) while readers
  // read, and are cancelled, at various points.
  std::thread producer([this, id] {
    for (int i = 0; i < 300; ++i) {
      ASSERT_TRUE(host_.AppendOutput(id, OutputStream::kStdout,
                                     absl::StrCat("chunk ", i, "\n")));
    }
  });
  for (int i = 0; i < kReaders; ++i) {
    v1::ProcessOutputResponse message;
    for (int n = 0; n < i * 3 && readers[i]->Read(&message); ++n) {
    }
    contexts[i]->TryCancel();
  }
  producer.join();
  for (int i = 0; i < kReaders; ++i) {
    EXPECT_EQ(readers[i]->Finish().error_code(), grpc::StatusCode::CANCELLED);
  }
  EXPECT_TRUE(server_->service()->AwaitOpenStreamsAtMost(0, kBound));
  ASSERT_TRUE(host_.Exit(id, ExitInfo::Exited(0)));
}

TEST_F(ProcessServiceTest, ShutdownEndsOpenStreamsAndStopsRunningJobs) {
  const std::string id = RunAsAlice("gen");
  ASSERT_TRUE(host_.AppendOutput(id, OutputStream::kStdout, "abcd"));
  auto context = Alice();
  v1::ProcessOutputRequest request;
  request.set_job_id(id);
  auto reader = stub_->GetProcessOutput(context.get(), request);
  v1::ProcessOutputResponse message;
  ASSERT_TRUE(reader->Read(&message));

  // Step one of the shutdown ends the stream with a clear status (the
  // steps are separate so that the client surely reads it before the
  // in-process transport goes away)...
  server_->service()->BeginShutdown();
  EXPECT_FALSE(reader->Read(&message));
  grpc::Status status = reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(status.error_message(), "server shutting down");
  EXPECT_TRUE(server_->service()->AwaitOpenStreamsAtMost(0, kBound));
  // ... and the whole shutdown stops the running job.
  host_.set_on_terminate(FakeProcessHost::SignalResponse::kExitInline);
  server_->Shutdown(absl::Seconds(5));
  EXPECT_EQ(host_.job(id).terminate_count, 1);
  absl::StatusOr<JobStatus> job = jobs_->GetStatus("alice", id);
  ASSERT_TRUE(job.ok());
  EXPECT_EQ(job->state, JobState::kStopped);
}

TEST_F(ProcessServiceTest, CallsAfterShutdownBeganAreUnavailable) {
  server_->service()->BeginShutdown();
  v1::RunProcessRequest request;
  request.set_command("ls");
  grpc::Status status = Run(Alice().get(), request);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(status.error_message(), "server shutting down");
  EXPECT_TRUE(host_.snapshot().start_attempts.empty());
  Output output = ReadAll(Alice().get(), NextJobId(), false);
  EXPECT_EQ(output.status.error_code(), grpc::StatusCode::UNAVAILABLE);
}

// A reader that never reads holds back neither the job nor other readers.
class ProcessServiceBigChunkTest : public ProcessServiceTest {
 protected:
  void SetUp() override { StartServer(/*chunk_bytes=*/64 * 1024); }
};

TEST_F(ProcessServiceBigChunkTest, StalledReaderHoldsBackNobody) {
  const std::string id = RunAsAlice("gen");
  auto stalled_context = Alice();
  v1::ProcessOutputRequest request;
  request.set_job_id(id);
  auto stalled = stub_->GetProcessOutput(stalled_context.get(), request);

  std::string want;
  const std::string block(64 * 1024, 'x');
  for (int i = 0; i < 128; ++i) {  // 8 MiB, far beyond any buffer
    std::string data = block;
    data[0] = static_cast<char>('a' + i % 26);
    // AppendOutput wakes every waiting reader on this thread: it returns,
    // so the job is never held back by the stalled reader.
    ASSERT_TRUE(host_.AppendOutput(id, OutputStream::kStdout, data));
    want += data;
  }
  ASSERT_TRUE(host_.Exit(id, ExitInfo::Exited(0)));
  Output other = ReadAll(Alice().get(), id, /*snapshot=*/false);
  ASSERT_TRUE(other.status.ok());
  EXPECT_EQ(other.out.size(), want.size());
  EXPECT_TRUE(other.out == want);

  stalled_context->TryCancel();
  EXPECT_EQ(stalled->Finish().error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_TRUE(server_->service()->AwaitOpenStreamsAtMost(0, kBound));
}

}  // namespace
}  // namespace cmdctl

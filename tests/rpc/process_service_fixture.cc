#include "tests/rpc/process_service_fixture.h"

#include <array>
#include <cstdint>

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "domain/uuid.h"

namespace cmdctl::test {

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

absl::Status SignalWatchingHost::Terminate(const std::string& job_id) {
  absl::Status status = FakeProcessHost::Terminate(job_id);
  absl::MutexLock lock(&signal_mu_);
  ++terminates_;
  return status;
}

TimerId SignalWatchingHost::RunAfter(absl::Duration delay,
                                     std::function<void()> fn) {
  TimerId id = FakeProcessHost::RunAfter(delay, std::move(fn));
  absl::MutexLock lock(&signal_mu_);
  ++timers_;
  return id;
}

bool SignalWatchingHost::WaitForTerminate() {
  absl::MutexLock lock(&signal_mu_);
  auto armed = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(signal_mu_) {
    return terminates_ > 0 && timers_ > 0;
  };
  return signal_mu_.AwaitWithTimeout(absl::Condition(&armed), kBound);
}

void ProcessServiceTest::StartServer(size_t chunk_bytes,
                                     OutputReadOptions output_reads) {
#if defined(__SANITIZE_THREAD__)
  // Debian's gRPC and protobuf are not built with TSan, so TSan sees none of
  // the synchronization inside gRPC (completion queues, combiners, its own
  // atomics), and every message handed between gRPC threads, and the inline
  // grpcpp code around each reactor callback, shows up as a race. Under TSan
  // these tests would only report noise; they run under ASan+UBSan and in
  // the plain build. The stream's logic (OutputPump) and its worker pool run
  // under TSan in output_pump_test.cc and worker_pool_test.cc.
  GTEST_SKIP() << "gRPC tests are not meaningful under TSan with "
                  "uninstrumented system gRPC";
#endif
  JobManagerOptions options;
  options.output_chunk_bytes = chunk_bytes;
  jobs_ = std::make_unique<JobManager>(
      &host_, &store_, [this] { return NextJobId(); }, options);
  ServerOptions server_options;
  server_options.resolve_caller = CallerFromTestMetadata;
  server_options.output_reads = output_reads;
  absl::StatusOr<std::unique_ptr<CmdctlServer>> server =
      CmdctlServer::Start(server_options, jobs_.get());
  ASSERT_TRUE(server.ok()) << server.status();
  server_ = *std::move(server);
  grpc::ChannelArguments args;
  stub_ = v1::ProcessService::NewStub(
      server_->grpc_server()->InProcessChannel(args));
}

void ProcessServiceTest::TearDown() {
  if (server_ == nullptr) return;
  // Jobs still running end at the first TERM of the shutdown.
  host_.set_on_terminate(FakeProcessHost::SignalResponse::kExitInline);
  if (server_ != nullptr) server_->Shutdown(absl::Seconds(5));
  if (server_ != nullptr) {
    EXPECT_EQ(server_->service()->OpenStreams(), 0u);
  }
  server_.reset();
}

std::string ProcessServiceTest::NextJobId() {
  std::array<uint8_t, 16> bytes{};
  const int n = ++ids_;
  bytes[15] = static_cast<uint8_t>(n);
  bytes[14] = static_cast<uint8_t>(n >> 8);
  return FormatUuidV4(bytes);
}

std::unique_ptr<grpc::ClientContext> ProcessServiceTest::As(
    const std::string& identity, const std::vector<std::string>& principals) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->AddMetadata(kIdentityHeader, identity);
  context->AddMetadata(kPrincipalsHeader, absl::StrJoin(principals, ","));
  context->set_deadline(absl::ToChronoTime(absl::Now() + kBound));
  return context;
}

std::string ProcessServiceTest::RunAsAlice(
    const std::string& command, const std::vector<std::string>& args) {
  v1::RunProcessRequest request;
  request.set_command(command);
  for (const auto& a : args) request.add_args(a);
  v1::RunProcessResponse response;
  grpc::Status status = stub_->RunProcess(Alice().get(), request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return response.job_id();
}

grpc::Status ProcessServiceTest::Run(grpc::ClientContext* context,
                                     v1::RunProcessRequest request,
                                     v1::RunProcessResponse* response) {
  v1::RunProcessResponse ignored;
  return stub_->RunProcess(context, request,
                           response == nullptr ? &ignored : response);
}

grpc::Status ProcessServiceTest::GetStatus(
    grpc::ClientContext* context, const std::string& id,
    v1::ProcessStatusResponse* response) {
  v1::ProcessStatusRequest request;
  request.set_job_id(id);
  v1::ProcessStatusResponse ignored;
  return stub_->GetProcessStatus(context, request,
                                 response == nullptr ? &ignored : response);
}

Output ProcessServiceTest::ReadAll(grpc::ClientContext* context,
                                   const std::string& id, bool snapshot) {
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

}  // namespace cmdctl::test

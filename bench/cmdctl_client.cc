#include "bench/cmdctl_client.h"

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "bench/pattern.h"

namespace cmdctl::bench {
namespace {

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

absl::Status FromGrpc(const grpc::Status& s, absl::string_view what) {
  if (s.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                      absl::StrCat(what, ": ", s.error_message()));
}

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::Channel>> Connect(
    const ClientConfig& config, int connection_index) {
  grpc::SslCredentialsOptions options;
  for (auto [path, out] : {std::pair{&config.ca, &options.pem_root_certs},
                           std::pair{&config.cert, &options.pem_cert_chain},
                           std::pair{&config.key, &options.pem_private_key}}) {
    absl::StatusOr<std::string> pem = ReadFile(*path);
    if (!pem.ok()) return pem.status();
    *out = *std::move(pem);
  }
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(-1);
  // One TCP+TLS connection per channel, as separate clients would have.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetInt("cmdctl.bench.connection", connection_index);
  if (!config.tls_server_name.empty()) {
    args.SetSslTargetNameOverride(config.tls_server_name);
  }
  auto channel = grpc::CreateCustomChannel(config.server,
                                           grpc::SslCredentials(options), args);
  if (!channel->WaitForConnected(std::chrono::system_clock::now() +
                                 std::chrono::seconds(10))) {
    return absl::UnavailableError(
        absl::StrCat("cannot connect to ", config.server));
  }
  return channel;
}

absl::StatusOr<std::string> CmdctlClient::Run(
    const std::string& command, const std::vector<std::string>& args) {
  v1::RunProcessRequest request;
  request.set_command(command);
  for (const std::string& a : args) request.add_args(a);
  v1::RunProcessResponse response;
  grpc::ClientContext context;
  grpc::Status s = stub_->RunProcess(&context, request, &response);
  if (!s.ok()) return FromGrpc(s, absl::StrCat("RunProcess ", command));
  return response.job_id();
}

absl::StatusOr<v1::ProcessStatus> CmdctlClient::Status(
    const std::string& job_id) {
  v1::ProcessStatusRequest request;
  request.set_job_id(job_id);
  v1::ProcessStatusResponse response;
  grpc::ClientContext context;
  grpc::Status s = stub_->GetProcessStatus(&context, request, &response);
  if (!s.ok()) return FromGrpc(s, "GetProcessStatus");
  return std::move(*response.mutable_status());
}

absl::StatusOr<v1::JobState> CmdctlClient::State(const std::string& job_id) {
  absl::StatusOr<v1::ProcessStatus> status = Status(job_id);
  if (!status.ok()) return status.status();
  return status->state();
}

absl::StatusOr<v1::ListProcessesResponse> CmdctlClient::List(
    int page_size, v1::JobState state, const std::string& page_token) {
  v1::ListProcessesRequest request;
  request.set_page_size(page_size);
  request.set_state(state);
  request.set_page_token(page_token);
  v1::ListProcessesResponse response;
  grpc::ClientContext context;
  grpc::Status s = stub_->ListProcesses(&context, request, &response);
  if (!s.ok()) return FromGrpc(s, "ListProcesses");
  return response;
}

absl::Status CmdctlClient::Remove(const std::string& job_id) {
  v1::RemoveProcessRequest request;
  request.set_job_id(job_id);
  v1::RemoveProcessResponse response;
  grpc::ClientContext context;
  return FromGrpc(stub_->RemoveProcess(&context, request, &response),
                  "RemoveProcess");
}

absl::StatusOr<v1::JobState> CmdctlClient::Stop(const std::string& job_id,
                                                absl::Duration grace) {
  v1::StopProcessRequest request;
  request.set_job_id(job_id);
  request.mutable_grace_period()->set_seconds(
      absl::IDivDuration(grace, absl::Seconds(1), &grace));
  request.mutable_grace_period()->set_nanos(
      static_cast<int32_t>(absl::ToInt64Nanoseconds(grace)));
  v1::StopProcessResponse response;
  grpc::ClientContext context;
  grpc::Status s = stub_->StopProcess(&context, request, &response);
  if (!s.ok()) return FromGrpc(s, "StopProcess");
  return response.status().state();
}

absl::StatusOr<int64_t> CmdctlClient::Follow(
    const std::string& job_id,
    const std::function<void(absl::string_view)>& on_stdout) {
  v1::ProcessOutputRequest request;
  request.set_job_id(job_id);
  grpc::ClientContext context;
  auto reader = stub_->GetProcessOutput(&context, request);
  v1::ProcessOutputResponse response;
  int64_t messages = 0;
  while (reader->Read(&response)) {
    ++messages;
    if (response.stream() == v1::OUTPUT_STREAM_STDOUT) {
      on_stdout(response.data());
    }
  }
  grpc::Status s = reader->Finish();
  if (!s.ok()) return FromGrpc(s, "GetProcessOutput");
  return messages;
}

PatternFollower::PatternFollower(v1::ProcessService::Stub* stub,
                                 const std::string& job_id, bool full_check,
                                 DoneLatch* latch)
    : stub_(stub), full_check_(full_check), latch_(latch) {
  request_.set_job_id(job_id);
}

void PatternFollower::Start() {
  stub_->async()->GetProcessOutput(&context_, &request_, this);
  StartRead(&response_);
  StartCall();
}

void PatternFollower::OnReadDone(bool ok) {
  if (!ok) return;  // OnDone follows.
  if (response_.stream() == v1::OUTPUT_STREAM_STDOUT) {
    const std::string& d = response_.data();
    if (!d.empty()) {
      if (full_check_) {
        for (size_t i = 0; i < d.size(); ++i) {
          if (static_cast<uint8_t>(d[i]) != PatternByte(bytes_ + i)) {
            ++mismatches_;
          }
        }
      } else {
        if (static_cast<uint8_t>(d.front()) != PatternByte(bytes_)) {
          ++mismatches_;
        }
        if (static_cast<uint8_t>(d.back()) !=
            PatternByte(bytes_ + d.size() - 1)) {
          ++mismatches_;
        }
      }
      bytes_ += d.size();
    }
  }
  StartRead(&response_);
}

void PatternFollower::OnDone(const grpc::Status& status) {
  status_ = status;
  latch_->CountDown();
}

}  // namespace cmdctl::bench

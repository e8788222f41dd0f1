#include "rpc/output_reactor.h"

#include <utility>

#include "rpc/status_mapping.h"

namespace cmdctl {

void OutputReactor::FinishNow(const absl::Status& status) {
  EndStream(status, /*bytes_sent=*/0);
}

std::shared_ptr<OutputPump> OutputReactor::MakePump(
    std::unique_ptr<OutputCursor> cursor, TaskRunner* runner,
    std::function<void()> on_done) {
  pump_ = OutputPump::Create(std::move(cursor), this, runner);
  on_done_ = std::move(on_done);
  return pump_;
}

void OutputReactor::OnWriteDone(bool ok) {
  // Once gRPC has released the message too (usually by now), the data's
  // buffer goes back to the cursor for its next read.
  message_.Clear();
  std::optional<std::string> buffer = returned_->Take();
  pump_->WriteDone(ok, buffer ? *std::move(buffer) : std::string());
}

void OutputReactor::OnCancel() {
  if (pump_ != nullptr) pump_->Cancel();  // else it has finished already
}

void OutputReactor::OnDone() {
  if (pump_ != nullptr) pump_->Detach();
  if (on_done_) on_done_();
  delete this;
}

void OutputReactor::SendChunk(OutputChunk chunk) {
  message_ = EncodeOutputMessage(std::move(chunk), returned_);
  StartWrite(&message_);
}

void OutputReactor::EndStream(const absl::Status& status, uint64_t bytes_sent) {
  grpc::Status result = ToGrpcStatus(status);
  audit_.SetNumber("bytes", static_cast<int64_t>(bytes_sent));
  audit_.Log(static_cast<absl::StatusCode>(result.error_code()));
  Finish(std::move(result));  // OnDone (and delete) may follow at once
}

}  // namespace cmdctl

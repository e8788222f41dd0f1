#include "rpc/output_pump.h"

#include <utility>

namespace cmdctl {

std::shared_ptr<OutputPump> OutputPump::Create(
    std::unique_ptr<OutputCursor> cursor, OutputSink* sink,
    TaskRunner* runner) {
  return std::shared_ptr<OutputPump>(
      new OutputPump(std::move(cursor), sink, runner));
}

OutputPump::OutputPump(std::unique_ptr<OutputCursor> cursor, OutputSink* sink,
                       TaskRunner* runner)
    : cursor_(std::move(cursor)), sink_(sink), runner_(runner) {}

void OutputPump::Start() { Handle(Event::kStart); }

void OutputPump::WriteDone(bool ok, std::string sent_data) {
  Handle(ok ? Event::kWriteDone : Event::kWriteFailed, std::move(sent_data));
}

void OutputPump::Cancel() { Handle(Event::kCancel); }

void OutputPump::Shutdown() { Handle(Event::kShutdown); }

void OutputPump::Detach() {
  std::unique_ptr<OutputCursor> cursor;
  {
    absl::MutexLock lock(&mu_);
    sink_ = nullptr;
    runner_ = nullptr;
    ended_ = true;  // whatever comes later decides nothing
    // A wake being delivered now (CancelWait false) finds the pump detached.
    if (waiting_ && cursor_ != nullptr) cursor_->CancelWait();
    waiting_ = false;
    cursor = std::move(cursor_);
  }
  // The cursor (its reader, its hold on the job) closes here, without the
  // mutex.
}

void OutputPump::Handle(Event event, std::string sent_data) {
  Step step;
  {
    absl::MutexLock lock(&mu_);
    if (cursor_ != nullptr && sent_data.capacity() > 0) {
      cursor_->Recycle(std::move(sent_data));
    }
    switch (event) {
      case Event::kStart:
        break;
      case Event::kWriteDone:
        write_in_flight_ = false;
        break;
      case Event::kWriteFailed:  // the stream is broken or cancelled
        write_in_flight_ = false;
        cancelled_ = true;
        break;
      case Event::kCancel:
        cancelled_ = true;
        break;
      case Event::kShutdown:
        shutting_down_ = true;
        break;
      case Event::kResume:  // the wait is over: read again
        waiting_ = false;
        break;
    }
    step = PumpLocked();
  }
  Execute(std::move(step));
}

void OutputPump::OnWake() {
  absl::MutexLock lock(&mu_);
  if (runner_ == nullptr || ended_) return;  // detached, or over
  // The host's loop thread must not read: hand the read to the runner. Under
  // the mutex, so the runner is alive (Detach clears it under the mutex).
  runner_->Post([weak = weak_from_this()] {
    if (std::shared_ptr<OutputPump> self = weak.lock()) {
      self->Handle(Event::kResume);
    }
  });
}

OutputPump::Step OutputPump::PumpLocked() {
  if (ended_ || write_in_flight_) return Step{};
  if (shutting_down_) {
    return EndLocked(absl::UnavailableError("server shutting down"));
  }
  if (cancelled_) {
    return EndLocked(absl::CancelledError("output stream cancelled"));
  }
  if (waiting_ || cursor_ == nullptr) return Step{};
  for (;;) {
    absl::StatusOr<std::optional<OutputChunk>> next = cursor_->Next();
    if (!next.ok()) return EndLocked(next.status());
    if (next->has_value()) {
      Step step;
      step.kind = Step::Kind::kSend;
      step.sink = sink_;
      step.chunk = **std::move(next);
      bytes_sent_ += step.chunk.data.size();
      write_in_flight_ = true;
      return step;
    }
    if (cursor_->AtEnd()) return EndLocked(absl::OkStatus());
    // The wake holds no strong reference: a pump whose reactor is gone is
    // freed even if the job never changes again.
    std::weak_ptr<OutputPump> weak = weak_from_this();
    if (cursor_->WaitForMore([weak] {
          if (std::shared_ptr<OutputPump> self = weak.lock()) self->OnWake();
        })) {
      waiting_ = true;
      return Step{};
    }
    // Something changed since the last Next: read again.
  }
}

OutputPump::Step OutputPump::EndLocked(absl::Status status) {
  ended_ = true;
  Step step;
  step.kind = Step::Kind::kEnd;
  step.sink = sink_;
  step.status = std::move(status);
  step.bytes_sent = bytes_sent_;
  return step;
}

void OutputPump::Execute(Step step) {
  switch (step.kind) {
    case Step::Kind::kNone:
      return;
    case Step::Kind::kSend:
      // The sink lives until Detach, which its owner calls only after the
      // stream has ended, and it cannot end while this write is in flight.
      step.sink->SendChunk(std::move(step.chunk));
      return;
    case Step::Kind::kEnd:
      step.sink->EndStream(step.status, step.bytes_sent);
      return;
  }
}

}  // namespace cmdctl

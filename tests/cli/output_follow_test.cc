// Reading a job's output across lost connections (cli/output_follow.h):
// OutputPosition alone, and FollowOutput against a fake cmdctld (in
// process) whose streams break where a test says.
#include "cli/output_follow.h"

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"

namespace cmdctl::cli {
namespace {

namespace v1 = ::cmdctl::v1;
using ::testing::ElementsAre;
using ::testing::SizeIs;

constexpr v1::OutputStream kOut = v1::OUTPUT_STREAM_STDOUT;
constexpr v1::OutputStream kErr = v1::OUTPUT_STREAM_STDERR;

// --- OutputPosition ---

TEST(OutputPositionTest, FromStartAcceptsWhereverTheServerBegins) {
  OutputPosition position = OutputPosition::FromStart();
  // The cap dropped the first 100 bytes before anyone read: no gap to tell.
  OutputPosition::Accepted a = position.Accept(kOut, 100, "abc");
  EXPECT_EQ(a.data, "abc");
  EXPECT_EQ(a.gap, 0);
  EXPECT_EQ(position.offset(kOut), 103);
  EXPECT_EQ(position.offset(kErr), 0);
}

TEST(OutputPositionTest, RepeatedBytesAreDroppedAndGapsCounted) {
  OutputPosition position = OutputPosition::FromStart();
  position.Accept(kOut, 0, "hello ");
  // Sent again from earlier: only the new part.
  OutputPosition::Accepted again = position.Accept(kOut, 3, "lo world");
  EXPECT_EQ(again.data, "world");
  EXPECT_EQ(position.Accept(kOut, 0, "hello").data, "");
  // Starting later than the reader stands: a gap, then the bytes.
  OutputPosition::Accepted later = position.Accept(kOut, 20, "!!");
  EXPECT_EQ(later.gap, 9);
  EXPECT_EQ(later.data, "!!");
  EXPECT_EQ(position.offset(kOut), 22);
}

TEST(OutputPositionTest, UnknownStreamsLearnWhereTheTailBegan) {
  OutputPosition position = OutputPosition::Unknown();
  EXPECT_TRUE(position.none_known());
  OutputPosition::Accepted a = position.Accept(kErr, 40, "last\n");
  EXPECT_EQ(a.data, "last\n");
  EXPECT_EQ(a.gap, 0);
  EXPECT_TRUE(position.known(kErr));
  EXPECT_FALSE(position.known(kOut));
  EXPECT_EQ(position.offset(kErr), 45);
  position.UnknownFromStart();
  EXPECT_TRUE(position.all_known());
  EXPECT_EQ(position.offset(kOut), 0);
  EXPECT_EQ(position.offset(kErr), 45);
}

TEST(OutputPositionTest, AnExplicitStartCountsAGapAtOnce) {
  OutputPosition position = OutputPosition::At(10, 7);
  EXPECT_EQ(position.Accept(kOut, 15, "x").gap, 5);
  EXPECT_EQ(position.Accept(kErr, 7, "y").gap, 0);
}

// --- FollowOutput against a fake server ---

// Serves one ended job's output, a few bytes per message, stdout and
// stderr taking turns. Each call follows the next script: how many
// messages it sends before it ends with `end`.
class FakeOutputService final : public v1::ProcessService::Service {
 public:
  struct Script {
    int messages = -1;  // -1: all there is
    grpc::Status end = grpc::Status::OK;
    // When the call starts, the cap has dropped stdout before this offset.
    int64_t stdout_dropped_before = 0;
  };

  FakeOutputService(std::string out, std::string err)
      : streams_{std::move(out), std::move(err)} {}

  void AddScript(int messages, grpc::Status end,
                 int64_t stdout_dropped_before = 0) {
    absl::MutexLock lock(&mu_);
    scripts_.push_back({messages, std::move(end), stdout_dropped_before});
  }
  // The next calls send `bytes` before the offset asked for.
  void Rewind(int64_t bytes) {
    absl::MutexLock lock(&mu_);
    rewind_ = bytes;
  }
  std::vector<v1::ProcessOutputRequest> requests() {
    absl::MutexLock lock(&mu_);
    return requests_;
  }

  grpc::Status GetProcessOutput(
      grpc::ServerContext*, const v1::ProcessOutputRequest* request,
      grpc::ServerWriter<v1::ProcessOutputResponse>* writer) override {
    Script script;
    int64_t at[2];
    {
      absl::MutexLock lock(&mu_);
      requests_.push_back(*request);
      if (!scripts_.empty()) {
        script = scripts_.front();
        scripts_.pop_front();
      }
      first_stored_[0] =
          std::max(first_stored_[0], script.stdout_dropped_before);
      for (int i = 0; i < 2; ++i) {
        at[i] = request->tail_lines() > 0
                    ? TailStart(streams_[i], request->tail_lines())
                    : std::max<int64_t>(i == 0 ? request->stdout_offset()
                                               : request->stderr_offset(),
                                        first_stored_[i]) -
                          rewind_;
        at[i] = std::max(at[i], first_stored_[i]);
      }
    }
    int sent = 0;
    for (int turn = 0;; turn = 1 - turn) {
      if (at[0] >= Size(0) && at[1] >= Size(1)) return script.end;
      if (at[turn] >= Size(turn)) continue;
      if (sent == script.messages) return script.end;
      v1::ProcessOutputResponse message;
      message.set_stream(turn == 0 ? kOut : kErr);
      message.set_offset(at[turn]);
      message.set_data(streams_[turn].substr(at[turn], kChunk));
      at[turn] += static_cast<int64_t>(message.data().size());
      if (!writer->Write(message)) return grpc::Status::CANCELLED;
      ++sent;
    }
  }

 private:
  static constexpr size_t kChunk = 4;
  int64_t Size(int i) const { return streams_[i].size(); }
  // Where the last `lines` lines of `s` begin.
  static int64_t TailStart(const std::string& s, int64_t lines) {
    int64_t start = s.size();
    if (start > 0 && s.back() == '\n') --start;
    while (start > 0) {
      if (s[start - 1] == '\n' && --lines == 0) break;
      --start;
    }
    return start;
  }

  const std::string streams_[2];
  absl::Mutex mu_;
  std::deque<Script> scripts_ ABSL_GUARDED_BY(mu_);
  std::vector<v1::ProcessOutputRequest> requests_ ABSL_GUARDED_BY(mu_);
  int64_t first_stored_[2] ABSL_GUARDED_BY(mu_) = {0, 0};
  int64_t rewind_ ABSL_GUARDED_BY(mu_) = 0;
};

const grpc::Status kLost(grpc::StatusCode::UNAVAILABLE, "server shutting down");

class FollowOutputTest : public ::testing::Test {
 protected:
  void Serve(std::string out, std::string err) {
    service_ =
        std::make_unique<FakeOutputService>(std::move(out), std::move(err));
    grpc::ServerBuilder builder;
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    std::shared_ptr<grpc::Channel> channel =
        server_->InProcessChannel(grpc::ChannelArguments());
    session_.server = "fake";
    session_.stub = v1::ProcessService::NewStub(channel);
    // An in-process channel has no connection to wait for.
    session_.channel = nullptr;
  }
  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown();
  }

  // Follows into out_/err_; no waiting between attempts.
  FollowResult Follow(OutputPosition position, int64_t tail_lines = 0,
                      absl::Duration budget = absl::Seconds(30)) {
    FollowOptions options;
    options.job_id = "job";
    options.tail_lines = tail_lines;
    options.report_gaps = false;
    options.reconnect = {budget, absl::ZeroDuration(), absl::ZeroDuration()};
    return FollowOutput(
        session_, options, position,
        [this](v1::OutputStream stream, absl::string_view d) {
          (stream == kErr ? err_ : out_).append(d.data(), d.size());
          return writes_left_-- != 0;
        });
  }

  std::unique_ptr<FakeOutputService> service_;
  std::unique_ptr<grpc::Server> server_;
  Session session_;
  std::string out_, err_;
  int writes_left_ = -1;  // -1: no limit
};

const char kOutText[] = "one\ntwo\nthree\nfour\nfive\n";
const char kErrText[] = "e-one\ne-two\n";

TEST_F(FollowOutputTest, EndsWithEveryByteWhenNothingBreaks) {
  Serve(kOutText, kErrText);
  FollowResult result = Follow(OutputPosition::FromStart());
  EXPECT_TRUE(result.status.ok()) << result.status.error_message();
  EXPECT_EQ(out_, kOutText);
  EXPECT_EQ(err_, kErrText);
  EXPECT_THAT(service_->requests(), SizeIs(1));
}

TEST_F(FollowOutputTest, ResumesAtExactlyTheBytesWrittenAfterALoss) {
  Serve(kOutText, kErrText);
  service_->AddScript(3, kLost);  // out 4 bytes, err 4, out 4, then lost
  service_->AddScript(2, kLost);  // and again
  FollowResult result = Follow(OutputPosition::FromStart());
  EXPECT_TRUE(result.status.ok()) << result.status.error_message();
  EXPECT_EQ(out_, kOutText);
  EXPECT_EQ(err_, kErrText);
  std::vector<v1::ProcessOutputRequest> requests = service_->requests();
  ASSERT_THAT(requests, SizeIs(3));
  EXPECT_EQ(requests[1].stdout_offset(), 8);
  EXPECT_EQ(requests[1].stderr_offset(), 4);
  EXPECT_EQ(requests[2].stdout_offset(), 12);
  EXPECT_EQ(requests[2].stderr_offset(), 8);
  for (const v1::ProcessOutputRequest& r : requests) {
    EXPECT_FALSE(r.snapshot());
    EXPECT_EQ(r.tail_lines(), 0);
  }
}

TEST_F(FollowOutputTest, BytesSentAgainAreNotWrittenTwice) {
  Serve(kOutText, kErrText);
  service_->AddScript(3, kLost);
  service_->Rewind(3);
  EXPECT_TRUE(Follow(OutputPosition::FromStart()).status.ok());
  EXPECT_EQ(out_, kOutText);
  EXPECT_EQ(err_, kErrText);
}

TEST_F(FollowOutputTest, BytesTheCapDroppedMeanwhileAreSkipped) {
  Serve(kOutText, kErrText);
  service_->AddScript(1, kLost);  // stdout "one\n"
  // While disconnected the cap drops stdout up to "four".
  service_->AddScript(-1, grpc::Status::OK, /*stdout_dropped_before=*/14);
  EXPECT_TRUE(Follow(OutputPosition::FromStart()).status.ok());
  EXPECT_EQ(out_, "one\nfour\nfive\n");
  EXPECT_EQ(err_, kErrText);
}

TEST_F(FollowOutputTest, ATailLostBeforeOneStreamBeganIsFoundAgain) {
  Serve(kOutText, kErrText);
  service_->AddScript(1, kLost);  // stdout "five" (no newline yet) only
  EXPECT_TRUE(Follow(OutputPosition::Unknown(), /*tail_lines=*/1).status.ok());
  EXPECT_EQ(out_, "five\n");
  EXPECT_EQ(err_, "e-two\n");
  std::vector<v1::ProcessOutputRequest> requests = service_->requests();
  ASSERT_THAT(requests, SizeIs(3));
  EXPECT_EQ(requests[0].tail_lines(), 1);
  EXPECT_FALSE(requests[0].snapshot());
  // A snapshot of the tail finds where stderr's began...
  EXPECT_EQ(requests[1].tail_lines(), 1);
  EXPECT_TRUE(requests[1].snapshot());
  // ...and both streams follow on from their offsets.
  EXPECT_EQ(requests[2].tail_lines(), 0);
  EXPECT_FALSE(requests[2].snapshot());
  EXPECT_EQ(requests[2].stdout_offset(), 23);
  EXPECT_EQ(requests[2].stderr_offset(), 12);
}

TEST_F(FollowOutputTest, ATailLostBeforeAnyByteIsAskedForAgain) {
  Serve(kOutText, kErrText);
  service_->AddScript(0, kLost);
  EXPECT_TRUE(Follow(OutputPosition::Unknown(), /*tail_lines=*/2).status.ok());
  EXPECT_EQ(out_, "four\nfive\n");
  EXPECT_EQ(err_, kErrText);
  std::vector<v1::ProcessOutputRequest> requests = service_->requests();
  ASSERT_THAT(requests, SizeIs(2));
  EXPECT_EQ(requests[1].tail_lines(), 2);
  EXPECT_FALSE(requests[1].snapshot());
}

TEST_F(FollowOutputTest, StartsAtTheOffsetsGiven) {
  Serve(kOutText, kErrText);
  EXPECT_TRUE(Follow(OutputPosition::At(19, 12)).status.ok());
  EXPECT_EQ(out_, "five\n");
  EXPECT_EQ(err_, "");
}

TEST_F(FollowOutputTest, OtherErrorsEndItAtOnce) {
  Serve(kOutText, kErrText);
  service_->AddScript(2, grpc::Status(grpc::StatusCode::DATA_LOSS, "gone"));
  FollowResult result = Follow(OutputPosition::FromStart());
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::DATA_LOSS);
  EXPECT_EQ(out_, "one\n");
  EXPECT_EQ(err_, "e-on");
  EXPECT_THAT(service_->requests(), SizeIs(1));
}

TEST_F(FollowOutputTest, GivesUpOnceTheBudgetHasRunOut) {
  Serve(kOutText, kErrText);
  service_->AddScript(1, kLost);
  FollowResult result = Follow(OutputPosition::FromStart(), 0,
                               /*budget=*/absl::ZeroDuration());
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_FALSE(result.writer_stopped);
  EXPECT_THAT(service_->requests(), SizeIs(1));
}

TEST_F(FollowOutputTest, AWriterThatStopsEndsIt) {
  Serve(kOutText, kErrText);
  writes_left_ = 1;  // the second write fails
  FollowResult result = Follow(OutputPosition::FromStart());
  EXPECT_TRUE(result.writer_stopped);
  EXPECT_EQ(out_, "one\n");
  EXPECT_EQ(err_, "e-on");
}

TEST(GapMessageTest, SaysHowMuchOfWhichStream) {
  EXPECT_EQ(GapMessage(kErr, 5),
            "cmdctl: 5 bytes of the job's stderr were dropped by the server's "
            "output cap (cmdctld --max_output_bytes) before cmdctl could read "
            "them; the output goes on after them");
  EXPECT_THAT(GapMessage(kOut, 3 << 20),
              ::testing::HasSubstr("3145728 bytes (3M) of the job's stdout"));
}

}  // namespace
}  // namespace cmdctl::cli

// Captures what glog writes while it exists (a google::LogSink), as a reader
// of the log file would see it: one entry per line, split at every newline
// and carriage return inside a message.
#ifndef CMDCTL_TESTS_RPC_LOG_CAPTURE_H_
#define CMDCTL_TESTS_RPC_LOG_CAPTURE_H_

#include <glog/logging.h>

#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace cmdctl::test {

class LogCapture final : public google::LogSink {
 public:
  LogCapture() { google::AddLogSink(this); }
  ~LogCapture() override { google::RemoveLogSink(this); }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  using google::LogSink::send;
  void send(google::LogSeverity severity, const char* full_filename,
            const char* base_filename, int line,
            const google::LogMessageTime& time, const char* message,
            size_t message_len) override {
    absl::MutexLock lock(&mu_);
    for (absl::string_view piece :
         absl::StrSplit(absl::string_view(message, message_len),
                        absl::ByAnyChar("\n\r"))) {
      lines_.emplace_back(piece);
    }
  }

  // The lines that read as audit lines: every one a log reader would take
  // for a request (glog's prefix aside).
  std::vector<std::string> AuditLines() {
    absl::MutexLock lock(&mu_);
    std::vector<std::string> audit;
    for (const std::string& line : lines_) {
      if (absl::StrContains(line, "audit identity=")) audit.push_back(line);
    }
    return audit;
  }

 private:
  absl::Mutex mu_;
  std::vector<std::string> lines_ ABSL_GUARDED_BY(mu_);
};

}  // namespace cmdctl::test

#endif  // CMDCTL_TESTS_RPC_LOG_CAPTURE_H_

#include "cli/format.h"

#include <string.h>

#include <algorithm>
#include <array>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"

namespace cmdctl::cli {
namespace {

using cmdctl::v1::JobState;
using cmdctl::v1::ProcessStatus;

bool IsSet(const google::protobuf::Timestamp& ts) {
  return ts.seconds() != 0 || ts.nanos() != 0;
}

absl::Time ToAbslTime(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

std::string SignalWithNumber(int signal) {
  return absl::StrCat(SignalName(signal), " (", signal, ")");
}

bool NeedsQuoting(const std::string& word) {
  if (word.empty()) return true;
  for (char c : word) {
    const bool safe =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
        (c >= '0' && c <= '9') ||
        std::string_view("@%+=:,./_-").find(c) != std::string_view::npos;
    if (!safe) return true;
  }
  return false;
}

}  // namespace

std::string StateWord(JobState state) {
  switch (state) {
    case cmdctl::v1::JOB_STATE_RUNNING:
      return "running";
    case cmdctl::v1::JOB_STATE_EXITED:
      return "exited";
    case cmdctl::v1::JOB_STATE_SIGNALED:
      return "signaled";
    case cmdctl::v1::JOB_STATE_STOPPED:
      return "stopped";
    default:
      return "unknown";
  }
}

std::string SignalName(int signal) {
  const char* abbrev = signal > 0 ? sigabbrev_np(signal) : nullptr;
  if (abbrev == nullptr) return absl::StrCat("signal ", signal);
  return absl::StrCat("SIG", abbrev);
}

std::string DescribeState(const ProcessStatus& status) {
  switch (status.state()) {
    case cmdctl::v1::JOB_STATE_RUNNING:
      return status.stop_requested() ? "running (stop requested)" : "running";
    case cmdctl::v1::JOB_STATE_EXITED:
      return absl::StrCat("exited with code ", status.exit_code());
    case cmdctl::v1::JOB_STATE_SIGNALED:
      return absl::StrCat("killed by signal ",
                          SignalWithNumber(status.signal()));
    case cmdctl::v1::JOB_STATE_STOPPED:
      if (status.signal() != 0) {
        return absl::StrCat("stopped: terminated by ",
                            SignalWithNumber(status.signal()));
      }
      return absl::StrCat("stopped: exited with code ", status.exit_code());
    default:
      return "unknown";
  }
}

std::string ExitColumn(const ProcessStatus& status) {
  switch (status.state()) {
    case cmdctl::v1::JOB_STATE_EXITED:
      return absl::StrCat(status.exit_code());
    case cmdctl::v1::JOB_STATE_SIGNALED:
      return SignalName(status.signal());
    case cmdctl::v1::JOB_STATE_STOPPED:
      return status.signal() != 0 ? SignalName(status.signal())
                                  : absl::StrCat(status.exit_code());
    default:
      return "-";
  }
}

std::optional<int> WaitExitCode(const ProcessStatus& status) {
  switch (status.state()) {
    case cmdctl::v1::JOB_STATE_EXITED:
      return status.exit_code();
    case cmdctl::v1::JOB_STATE_SIGNALED:
      return 128 + status.signal();
    case cmdctl::v1::JOB_STATE_STOPPED:
      return status.signal() != 0 ? 128 + status.signal() : status.exit_code();
    default:
      return std::nullopt;
  }
}

std::string ShellQuote(const std::vector<std::string>& words) {
  std::vector<std::string> quoted;
  quoted.reserve(words.size());
  for (const std::string& word : words) {
    if (!NeedsQuoting(word)) {
      quoted.push_back(word);
      continue;
    }
    std::string q = "'";
    for (char c : word) {
      if (c == '\'') {
        q += "'\\''";
      } else {
        q += c;
      }
    }
    q += "'";
    quoted.push_back(std::move(q));
  }
  return absl::StrJoin(quoted, " ");
}

std::string CommandLine(const ProcessStatus& status) {
  std::vector<std::string> words{status.command()};
  words.insert(words.end(), status.args().begin(), status.args().end());
  return ShellQuote(words);
}

std::string FormatTimestamp(const google::protobuf::Timestamp& ts,
                            absl::TimeZone tz) {
  if (!IsSet(ts)) return "-";
  return absl::FormatTime("%Y-%m-%d %H:%M:%E3S %Z", ToAbslTime(ts), tz);
}

std::string FormatStatusText(const ProcessStatus& status, absl::Time now,
                             absl::TimeZone tz) {
  std::string out;
  auto line = [&out](absl::string_view label, absl::string_view value) {
    absl::StrAppend(&out, label, std::string(10 - label.size(), ' '), value,
                    "\n");
  };
  line("Job:", status.job_id());
  line("Command:", CommandLine(status));
  line("State:", DescribeState(status));
  line("Run as:", status.run_as());
  line("Owner:", status.owner());
  line("PID:", status.pid() > 0 ? absl::StrCat(status.pid()) : "-");
  line("Started:", FormatTimestamp(status.started_at(), tz));
  const bool running = status.state() == cmdctl::v1::JOB_STATE_RUNNING;
  if (!running) line("Ended:", FormatTimestamp(status.ended_at(), tz));
  if (IsSet(status.started_at())) {
    const absl::Time end = running || !IsSet(status.ended_at())
                               ? now
                               : ToAbslTime(status.ended_at());
    const absl::Duration d = absl::Trunc(end - ToAbslTime(status.started_at()),
                                         absl::Milliseconds(1));
    line("Duration:",
         absl::StrCat(absl::FormatDuration(std::max(d, absl::ZeroDuration())),
                      running ? " so far" : ""));
  }
  return out;
}

std::string FormatJobTable(std::vector<ProcessStatus> jobs, absl::TimeZone tz) {
  std::stable_sort(jobs.begin(), jobs.end(),
                   [](const ProcessStatus& a, const ProcessStatus& b) {
                     if (a.started_at().seconds() != b.started_at().seconds()) {
                       return a.started_at().seconds() <
                              b.started_at().seconds();
                     }
                     return a.started_at().nanos() < b.started_at().nanos();
                   });
  using Row = std::array<std::string, 5>;
  std::vector<Row> rows{{"ID", "STATE", "EXIT/SIGNAL", "STARTED", "COMMAND"}};
  for (const ProcessStatus& job : jobs) {
    std::string started =
        IsSet(job.started_at())
            ? absl::FormatTime("%Y-%m-%d %H:%M:%S",
                               ToAbslTime(job.started_at()), tz)
            : "-";
    rows.push_back({job.job_id(), StateWord(job.state()), ExitColumn(job),
                    std::move(started), CommandLine(job)});
  }
  std::array<size_t, 5> width{};
  for (const Row& row : rows) {
    for (size_t c = 0; c < row.size(); ++c) {
      width[c] = std::max(width[c], row[c].size());
    }
  }
  std::string out;
  for (const Row& row : rows) {
    for (size_t c = 0; c + 1 < row.size(); ++c) {
      absl::StrAppend(&out, row[c],
                      std::string(width[c] - row[c].size() + 2, ' '));
    }
    absl::StrAppend(&out, row.back(), "\n");
  }
  return out;
}

absl::StatusOr<std::string> FormatJson(
    const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.always_print_primitive_fields = true;
  std::string out;
  auto status =
      google::protobuf::util::MessageToJsonString(message, &out, options);
  if (!status.ok()) {
    return absl::InternalError(
        absl::StrCat("cannot print JSON: ", status.ToString()));
  }
  if (out.empty() || out.back() != '\n') out += '\n';
  return out;
}

}  // namespace cmdctl::cli

#include "cli/format.h"

#include <string.h>

#include <algorithm>
#include <array>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cli/duration.h"
#include "common/units.h"
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

// The length of the valid UTF-8 sequence at the start of `text` (1 to 4),
// or 0 where it is not valid UTF-8 (bad lead or continuation byte,
// overlong form, surrogate, beyond U+10FFFF).
size_t Utf8SequenceLength(absl::string_view text) {
  const auto byte = [&text](size_t i) {
    return i < text.size() ? static_cast<unsigned char>(text[i]) : 0u;
  };
  const unsigned lead = byte(0);
  if (lead < 0x80) return 1;
  size_t length;
  unsigned low = 0x80, high = 0xbf;  // range of the second byte
  if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    if (lead == 0xe0) low = 0xa0;
    if (lead == 0xed) high = 0x9f;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    if (lead == 0xf0) low = 0x90;
    if (lead == 0xf4) high = 0x8f;
  } else {
    return 0;
  }
  if (byte(1) < low || byte(1) > high) return 0;
  for (size_t i = 2; i < length; ++i) {
    if (byte(i) < 0x80 || byte(i) > 0xbf) return 0;
  }
  return length;
}

// How many bytes at the start of `text` must be shown escaped: 0 where the
// first character is fine to print, else the length of the control
// character (C0, DEL, or C1 as its two UTF-8 bytes) or 1 for a byte that is
// not UTF-8.
size_t UnprintableLength(absl::string_view text) {
  const unsigned char first = static_cast<unsigned char>(text[0]);
  if (first < 0x20 || first == 0x7f) return 1;
  const size_t length = Utf8SequenceLength(text);
  if (length == 0) return 1;
  // U+0080..U+009F, the C1 controls, are C2 80..C2 9F in UTF-8.
  if (length == 2 && first == 0xc2 &&
      static_cast<unsigned char>(text[1]) <= 0x9f) {
    return 2;
  }
  return 0;
}

void AppendOctal(unsigned char byte, std::string* out) {
  const char digits[] = {'\\', static_cast<char>('0' + (byte >> 6)),
                         static_cast<char>('0' + ((byte >> 3) & 7)),
                         static_cast<char>('0' + (byte & 7))};
  out->append(digits, sizeof(digits));
}

// Copies `text` to `out`, unprintable bytes as \ooo; `escape` (may be null)
// also escapes the characters it names with a backslash.
void AppendEscaped(absl::string_view text, const char* escape,
                   std::string* out) {
  size_t i = 0;
  while (i < text.size()) {
    const size_t bad = UnprintableLength(text.substr(i));
    if (bad > 0) {
      for (size_t j = 0; j < bad; ++j) {
        AppendOctal(static_cast<unsigned char>(text[i + j]), out);
      }
      i += bad;
      continue;
    }
    const size_t length = Utf8SequenceLength(text.substr(i));
    if (length == 1 && escape != nullptr &&
        strchr(escape, text[i]) != nullptr) {
      out->push_back('\\');
    }
    out->append(text.data() + i, length);
    i += length;
  }
}

bool HasUnprintable(absl::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    if (UnprintableLength(text.substr(i)) > 0) return true;
    i += Utf8SequenceLength(text.substr(i));
  }
  return false;
}

bool NeedsQuoting(const std::string& word) {
  if (word.empty()) return true;
  for (char c : word) {
    const bool safe =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
        (c >= '0' && c <= '9') ||
        absl::string_view("@%+=:,./_-").find(c) != absl::string_view::npos;
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
    case cmdctl::v1::JOB_STATE_LOST:
      return "lost";
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
    case cmdctl::v1::JOB_STATE_LOST:
      return "lost: the server cannot know how it ended";
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

std::string EscapeForTerminal(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  AppendEscaped(text, nullptr, &out);
  return out;
}

std::string ShellQuote(const std::vector<std::string>& words) {
  std::vector<std::string> quoted;
  quoted.reserve(words.size());
  for (const std::string& word : words) {
    if (!NeedsQuoting(word)) {
      quoted.push_back(word);
      continue;
    }
    if (HasUnprintable(word)) {
      std::string q = "$'";
      AppendEscaped(word, "\\'", &q);
      q += "'";
      quoted.push_back(std::move(q));
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

std::string FormatLimits(const cmdctl::v1::ResourceLimits& limits) {
  std::vector<std::string> parts;
  if (limits.memory_bytes() > 0) {
    parts.push_back(
        absl::StrCat("memory ", FormatByteSize(limits.memory_bytes())));
  }
  if (limits.cpu_millicores() > 0) {
    parts.push_back(absl::StrCat("cpus ", FormatCpus(limits.cpu_millicores())));
  }
  if (limits.pids() > 0) parts.push_back(absl::StrCat("pids ", limits.pids()));
  const int64_t read = limits.io_read_bytes_per_second();
  const int64_t write = limits.io_write_bytes_per_second();
  if (read > 0 && write > 0) {
    parts.push_back(absl::StrCat("io read ", FormatByteSize(read), "/s, write ",
                                 FormatByteSize(write), "/s"));
  } else if (read > 0) {
    parts.push_back(absl::StrCat("io read ", FormatByteSize(read), "/s"));
  } else if (write > 0) {
    parts.push_back(absl::StrCat("io write ", FormatByteSize(write), "/s"));
  }
  return absl::StrJoin(parts, ", ");
}

std::string HumanBytes(int64_t bytes) {
  if (bytes == 1) return "1 byte";
  if (bytes < 1024) return absl::StrCat(bytes, " bytes");
  return FormatByteSize(bytes);
}

std::string ExactBytes(int64_t bytes) {
  if (bytes < 1024) return HumanBytes(bytes);
  return absl::StrCat(bytes, " bytes (", FormatByteSize(bytes), ")");
}

std::string FormatUsage(const cmdctl::v1::ResourceUsage& usage) {
  return absl::StrCat(
      "CPU ", FormatDurationShort(FromProtoDuration(usage.cpu_user())),
      " user, ", FormatDurationShort(FromProtoDuration(usage.cpu_system())),
      " system; memory peak ", HumanBytes(usage.memory_peak_bytes()),
      "; IO read ", HumanBytes(usage.io_read_bytes()), ", written ",
      HumanBytes(usage.io_write_bytes()));
}

std::vector<std::string> StateNotes(const ProcessStatus& status) {
  std::vector<std::string> notes;
  if (status.timed_out()) {
    notes.push_back(status.has_timeout()
                        ? absl::StrCat("timed out (its timeout of ",
                                       FormatDurationShort(
                                           FromProtoDuration(status.timeout())),
                                       " ran out)")
                        : "timed out");
  }
  if (status.oom_killed()) {
    notes.push_back(
        status.limits().memory_bytes() > 0
            ? absl::StrCat("killed: out of memory (limit ",
                           FormatByteSize(status.limits().memory_bytes()), ")")
            : "killed: out of memory");
  }
  return notes;
}

std::vector<std::string> OutputNotes(const ProcessStatus& status) {
  std::vector<std::string> notes;
  const bool any = status.stdout_bytes() > 0 || status.stderr_bytes() > 0 ||
                   status.output_incomplete();
  if (!any) return notes;
  notes.push_back(absl::StrCat("stdout ", ExactBytes(status.stdout_bytes()),
                               ", stderr ", ExactBytes(status.stderr_bytes())));
  for (const auto& [name, dropped] :
       {std::pair<const char*, int64_t>{"stdout",
                                        status.stdout_discarded_bytes()},
        {"stderr", status.stderr_discarded_bytes()}}) {
    if (dropped > 0) {
      notes.push_back(absl::StrCat("the output cap dropped the first ",
                                   ExactBytes(dropped), " of ", name));
    }
  }
  if (status.output_incomplete()) {
    notes.push_back("output incomplete (a write to disk failed)");
  }
  return notes;
}

std::string FormatStatusText(const ProcessStatus& status, absl::Time now,
                             absl::TimeZone tz) {
  std::string out;
  auto line = [&out](absl::string_view label, absl::string_view value) {
    absl::StrAppend(&out, label, std::string(10 - label.size(), ' '), value,
                    "\n");
  };
  // `label` on the first line, the others under it.
  auto lines = [&line](absl::string_view label,
                       const std::vector<std::string>& values) {
    for (size_t i = 0; i < values.size(); ++i) {
      line(i == 0 ? label : "", values[i]);
    }
  };
  line("Job:", EscapeForTerminal(status.job_id()));
  line("Command:", CommandLine(status));
  std::vector<std::string> state{DescribeState(status)};
  for (std::string& note : StateNotes(status)) state.push_back(std::move(note));
  lines("State:", state);
  line("Run as:", EscapeForTerminal(status.run_as()));
  line("Owner:", EscapeForTerminal(status.owner()));
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
  const std::string limits = FormatLimits(status.limits());
  if (!limits.empty()) line("Limits:", limits);
  if (status.has_timeout() &&
      FromProtoDuration(status.timeout()) > absl::ZeroDuration()) {
    line("Timeout:", FormatDurationShort(FromProtoDuration(status.timeout())));
  }
  if (status.has_usage()) line("Usage:", FormatUsage(status.usage()));
  lines("Output:", OutputNotes(status));
  return out;
}

std::string FormatJobTable(std::vector<ProcessStatus> jobs, absl::TimeZone tz) {
  std::stable_sort(jobs.begin(), jobs.end(),
                   [](const ProcessStatus& a, const ProcessStatus& b) {
                     if (a.started_at().seconds() != b.started_at().seconds()) {
                       return a.started_at().seconds() >
                              b.started_at().seconds();
                     }
                     return a.started_at().nanos() > b.started_at().nanos();
                   });
  using Row = std::array<std::string, 5>;
  std::vector<Row> rows{{"ID", "STATE", "EXIT/SIGNAL", "STARTED", "COMMAND"}};
  for (const ProcessStatus& job : jobs) {
    std::string started =
        IsSet(job.started_at())
            ? absl::FormatTime("%Y-%m-%d %H:%M:%S",
                               ToAbslTime(job.started_at()), tz)
            : "-";
    rows.push_back({EscapeForTerminal(job.job_id()), StateWord(job.state()),
                    ExitColumn(job), std::move(started), CommandLine(job)});
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

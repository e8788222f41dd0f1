#include "os_adapter/monitor_files.h"

#include <cerrno>
#include <cstdlib>
#include <vector>

namespace cmdctl {
namespace {

bool ParseInt64(const std::string& s, int64_t& out) {
  if (s.empty() || s.size() > 20) return false;
  errno = 0;
  char* end = nullptr;
  const long long v = std::strtoll(s.c_str(), &end, 10);
  if (errno != 0 || end != s.c_str() + s.size()) return false;
  out = v;
  return true;
}

void Line(std::string& out, const char* key, int64_t value) {
  out += key;
  out += '=';
  out += std::to_string(value);
  out += '\n';
}

// Splits "k=v\n" lines; false on a malformed line.
bool Lines(const std::string& text,
           std::vector<std::pair<std::string, std::string>>& out) {
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) return false;  // a cut-off last line
    const size_t eq = text.find('=', pos);
    if (eq == std::string::npos || eq > nl) return false;
    out.emplace_back(text.substr(pos, eq - pos),
                     text.substr(eq + 1, nl - eq - 1));
    pos = nl + 1;
  }
  return true;
}

}  // namespace

std::string EncodeEndReport(const EndReport& r) {
  std::string out = "version=1\n";
  Line(out, "signaled", r.signaled ? 1 : 0);
  Line(out, "exit_code", r.exit_code);
  Line(out, "signal", r.signal);
  Line(out, "ended_at_ns", r.ended_at_ns);
  Line(out, "cpu_user_us", r.cpu_user_us);
  Line(out, "cpu_system_us", r.cpu_system_us);
  Line(out, "memory_peak_bytes", r.memory_peak_bytes);
  Line(out, "io_read_bytes", r.io_read_bytes);
  Line(out, "io_write_bytes", r.io_write_bytes);
  Line(out, "oom_killed", r.oom_killed ? 1 : 0);
  for (int s = 0; s < 2; ++s) {
    const std::string n = std::to_string(s);
    Line(out, ("written" + n).c_str(), r.written[s]);
    Line(out, ("discarded" + n).c_str(), r.discarded[s]);
    Line(out, ("incomplete" + n).c_str(), r.incomplete[s] ? 1 : 0);
  }
  out += "complete=1\n";  // last: a cut-off file lacks it
  return out;
}

std::optional<EndReport> DecodeEndReport(const std::string& text) {
  std::vector<std::pair<std::string, std::string>> lines;
  if (!Lines(text, lines)) return std::nullopt;
  EndReport r;
  int64_t v = 0;
  int seen = 0;
  bool complete = false;
  for (const auto& [key, value] : lines) {
    if (!ParseInt64(value, v)) return std::nullopt;
    ++seen;
    if (key == "version") {
      if (v != 1) return std::nullopt;
    } else if (key == "signaled") {
      r.signaled = v != 0;
    } else if (key == "exit_code") {
      r.exit_code = static_cast<int>(v);
    } else if (key == "signal") {
      r.signal = static_cast<int>(v);
    } else if (key == "ended_at_ns") {
      r.ended_at_ns = v;
    } else if (key == "cpu_user_us") {
      r.cpu_user_us = v;
    } else if (key == "cpu_system_us") {
      r.cpu_system_us = v;
    } else if (key == "memory_peak_bytes") {
      r.memory_peak_bytes = v;
    } else if (key == "io_read_bytes") {
      r.io_read_bytes = v;
    } else if (key == "io_write_bytes") {
      r.io_write_bytes = v;
    } else if (key == "oom_killed") {
      r.oom_killed = v != 0;
    } else if (key == "written0" || key == "written1") {
      r.written[key.back() - '0'] = v;
    } else if (key == "discarded0" || key == "discarded1") {
      r.discarded[key.back() - '0'] = v;
    } else if (key == "incomplete0" || key == "incomplete1") {
      r.incomplete[key.back() - '0'] = v != 0;
    } else if (key == "complete") {
      complete = v == 1;
    } else {
      return std::nullopt;
    }
  }
  if (!complete || seen != 18) return std::nullopt;
  return r;
}

std::optional<int64_t> FlatKeyedValue(const std::string& text,
                                      const std::string& key) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    if (text.compare(pos, key.size(), key) == 0 && pos + key.size() < nl &&
        text[pos + key.size()] == ' ') {
      int64_t v = 0;
      const size_t from = pos + key.size() + 1;
      if (!ParseInt64(text.substr(from, nl - from), v)) return std::nullopt;
      return v;
    }
    pos = nl + 1;
  }
  return std::nullopt;
}

IoBytes SumIoStat(const std::string& text) {
  IoBytes sum;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    // "8:0 rbytes=1 wbytes=2 rios=3 ..."
    size_t word = text.find(' ', pos);
    while (word != std::string::npos && word < nl) {
      const size_t start = word + 1;
      size_t stop = text.find(' ', start);
      if (stop == std::string::npos || stop > nl) stop = nl;
      const std::string kv = text.substr(start, stop - start);
      int64_t v = 0;
      if (kv.rfind("rbytes=", 0) == 0 && ParseInt64(kv.substr(7), v)) {
        sum.read += v;
      } else if (kv.rfind("wbytes=", 0) == 0 && ParseInt64(kv.substr(7), v)) {
        sum.write += v;
      }
      word = stop < nl ? stop : std::string::npos;
    }
    pos = nl + 1;
  }
  return sum;
}

}  // namespace cmdctl

// Figures 2 (stream) and 3 (follow latency): cmdctl against a raw TLS 1.3
// stream and ssh (docs/BENCHMARKS.md).
#include "absl/strings/numbers.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/bench.h"
#include "bench/raw_tls.h"

namespace cmdctl::bench {

// ---------------------------------------------------------------- 2. Stream

void Bench::Stream() {
  const uint64_t bytes = sizes_.stream_bytes;
  // What a job writing its output costs the server when nobody reads it.
  if (client_) {
    absl::StatusOr<ProcSample> before = Server();
    absl::StatusOr<std::string> id =
        client_->Run("head", {"-c", absl::StrCat(bytes), "/dev/zero"});
    if (!id.ok()) return Error("stream", id.status());
    auto t0 = Clock::now();
    bool ended = false;
    for (int i = 0; i < 12000 && !ended; ++i) {  // At most 10 minutes.
      absl::SleepFor(absl::Milliseconds(50));
      absl::StatusOr<v1::JobState> state = client_->State(*id);
      if (!state.ok()) return Error("stream", state.status());
      ended = *state != v1::JOB_STATE_RUNNING;
    }
    double s = SecondsSince(t0);
    absl::StatusOr<ProcSample> after = Server();
    if (ended && before.ok() && after.ok()) {
      report_->Add({"2 stream", "server CPU per GiB written, no reader",
                    (after->cpu_seconds - before->cpu_seconds) / (bytes / kGiB),
                    "s", "", 0, Better::kLower, std::nullopt,
                    absl::StrCat("job wrote ", bytes / kMiB, " MiB in ~", s,
                                 " s (50 ms status polls)")});
    }
  }
  std::vector<double> ours, raw, ssh;
  double server_cpu = 0, late_cpu = 0;
  int64_t messages = 0, late_messages = 0;
  std::vector<double> late;
  // CPU seconds per GiB: steadier than throughput on a shared machine.
  std::vector<double> cpu_follow, cpu_late, cpu_raw;
  for (int r = 0; r < sizes_.stream_rounds; ++r) {
    if (client_) {
      absl::StatusOr<ProcSample> before = Server();
      absl::StatusOr<std::string> id =
          client_->Run("head", {"-c", absl::StrCat(bytes), "/dev/zero"});
      if (!id.ok()) return Error("stream", id.status());
      uint64_t got = 0;
      Clock::time_point first;
      absl::StatusOr<int64_t> n =
          client_->Follow(*id, [&](absl::string_view d) {
            if (got == 0) first = Clock::now();
            got += d.size();
          });
      double s = SecondsSince(first);
      if (!n.ok()) return Error("stream", n.status());
      if (got != bytes) {
        return Error("stream", absl::DataLossError(absl::StrCat(
                                   "cmdctl delivered ", got, " of ", bytes)));
      }
      ours.push_back(bytes / kGiB / s);
      messages = std::max(messages, *n);
      absl::StatusOr<ProcSample> after = Server();
      if (before.ok() && after.ok()) {
        server_cpu = after->cpu_seconds - before->cpu_seconds;
        cpu_follow.push_back(server_cpu / (bytes / kGiB));
      }
      // A late reader of the same, now finished job: the stored-output path
      // alone, without the job writing at the same time.
      got = 0;
      n = client_->Follow(*id, [&](absl::string_view d) {
        if (got == 0) first = Clock::now();
        got += d.size();
      });
      s = SecondsSince(first);
      absl::StatusOr<ProcSample> after_late = Server();
      if (n.ok() && got == bytes) {
        late.push_back(bytes / kGiB / s);
        late_messages = std::max(late_messages, *n);
        if (after.ok() && after_late.ok()) {
          late_cpu = after_late->cpu_seconds - after->cpu_seconds;
          cpu_late.push_back(late_cpu / (bytes / kGiB));
        }
      }
    }
    if (tls_ctx_) {
      absl::StatusOr<ProcSample> before =
          SampleProc(static_cast<pid_t>(FLAGS_tls_server_pid));
      absl::StatusOr<RawTlsResult> t =
          ReadRawTlsStream(tls_ctx_, FLAGS_tls_port, bytes);
      if (!t.ok()) return Error("stream", t.status());
      raw.push_back(bytes / kGiB / t->first_to_last_seconds);
      absl::StatusOr<ProcSample> after =
          SampleProc(static_cast<pid_t>(FLAGS_tls_server_pid));
      if (FLAGS_tls_server_pid > 0 && before.ok() && after.ok()) {
        cpu_raw.push_back((after->cpu_seconds - before->cpu_seconds) /
                          (bytes / kGiB));
      }
      if (r == 0) {
        report_->SetInfo("raw_tls_negotiated",
                         absl::StrCat(t->version, " ", t->cipher));
      }
    }
    if (ssh_) {
      uint64_t got = 0;
      Clock::time_point first;
      absl::Status st =
          ssh_->Stream(absl::StrCat("head -c ", bytes, " /dev/zero"),
                       [&](absl::string_view d) {
                         if (got == 0) first = Clock::now();
                         got += d.size();
                       });
      double s = SecondsSince(first);
      if (!st.ok()) return Error("stream", st);
      if (got != bytes) {
        return Error("stream", absl::DataLossError("ssh stream short"));
      }
      ssh.push_back(bytes / kGiB / s);
    }
  }
  // The same through the command-line tools, end to end: a new process and
  // connection, output to /dev/null, timed from spawn to exit.
  std::vector<double> cli, ssh_cli;
  for (int r = 0; r < sizes_.stream_rounds; ++r) {
    std::string n = absl::StrCat(bytes);
    if (client_ && !FLAGS_cli.empty()) {
      auto t0 = Clock::now();
      absl::StatusOr<int> rc =
          RunToEnd(CliArgv({"run", "--wait", "head", "-c", n, "/dev/zero"}));
      double s = SecondsSince(t0);
      if (!rc.ok() || *rc != 0) {
        Error("stream", absl::InternalError("cmdctl run --wait head failed"));
      } else {
        cli.push_back(bytes / kGiB / s);
      }
    }
    if (ssh_) {
      auto t0 = Clock::now();
      absl::StatusOr<int> rc = RunToEnd(
          ssh_->Argv(absl::StrCat("head -c ", n, " /dev/zero"), false));
      double s = SecondsSince(t0);
      if (!rc.ok() || *rc != 0) {
        Error("stream", absl::InternalError("ssh head failed"));
      } else {
        ssh_cli.push_back(bytes / kGiB / s);
      }
    }
  }
  std::string note =
      absl::StrCat(sizes_.stream_rounds, " runs of ", bytes / kMiB,
                   " MiB, first to last byte; cmdctl: ", messages,
                   " messages/run (max), server CPU ",
                   absl::SixDigits(server_cpu), " s/run");
  double med = Quantile(ours, 0.5);
  report_->Add({"2 stream", "follow 1 job's output (median)", med, "GiB/s",
                "raw TLS 1.3 AES-256-GCM stream", Quantile(raw, 0.5),
                Better::kHigher, Goal{Better::kHigher, 0.75, true}, note});
  report_->Add({"2 stream", "follow 1 job's output (median)", med, "GiB/s",
                "ssh -c aes256-gcm head -c", Quantile(ssh, 0.5),
                Better::kHigher, Goal{Better::kHigher, 1.2, true}, note});
  report_->Add({"2 stream", "late reader of the finished job (median)",
                Quantile(late, 0.5), "GiB/s", "raw TLS 1.3 AES-256-GCM stream",
                Quantile(raw, 0.5), Better::kHigher,
                Goal{Better::kHigher, 0.85, true},
                absl::StrCat(late_messages, " messages/run (max), server CPU ",
                             absl::SixDigits(late_cpu), " s/run")});
  report_->Add({"2 stream", "server CPU per GiB, following (median)",
                Quantile(cpu_follow, 0.5), "s", "raw TLS server CPU per GiB",
                Quantile(cpu_raw, 0.5), Better::kLower,
                Goal{Better::kLower, 1.3, true},
                "utime+stime of cmdctld (job excluded) / GiB sent"});
  report_->Add({"2 stream", "server CPU per GiB, late reader (median)",
                Quantile(cpu_late, 0.5), "s", "raw TLS server CPU per GiB",
                Quantile(cpu_raw, 0.5), Better::kLower, std::nullopt,
                "utime+stime of cmdctld / GiB sent"});
  report_->Add({"2 stream", "cmdctl run --wait head -c >/dev/null",
                Quantile(cli, 0.5), "GiB/s", "ssh ... head -c >/dev/null",
                Quantile(ssh_cli, 0.5), Better::kHigher,
                Goal{Better::kHigher, 1.2, true},
                "whole command: process start, connection, stream, exit"});
}

// ---------------------------------------------------------------- 3. Follow

namespace {

// Splits received bytes into lines of CLOCK_MONOTONIC stamps; records each
// line's latency at the moment its bytes arrived.
class TickParser {
 public:
  explicit TickParser(std::vector<double>* out, int skip)
      : out_(out), skip_(skip) {}
  void Feed(absl::string_view data) {
    int64_t now = MonotonicNanos();
    partial_.append(data.data(), data.size());
    size_t start = 0, nl;
    while ((nl = partial_.find('\n', start)) != std::string::npos) {
      int64_t stamp;
      if (absl::SimpleAtoi(
              absl::string_view(partial_).substr(start, nl - start), &stamp) &&
          lines_++ >= skip_) {
        out_->push_back((now - stamp) / 1e9);
      }
      start = nl + 1;
    }
    partial_.erase(0, start);
  }

 private:
  std::vector<double>* out_;
  int skip_;
  int lines_ = 0;
  std::string partial_;
};

}  // namespace

void Bench::Follow() {
  const int kDelayMs = 300, kIntervalUs = 3000, kSkip = 3;
  std::vector<std::string> args = {"ticks", absl::StrCat(kDelayMs),
                                   absl::StrCat(sizes_.follow_lines),
                                   absl::StrCat(kIntervalUs)};
  std::vector<double> ours, ssh;
  for (int r = 0; r < sizes_.follow_rounds; ++r) {
    if (client_) {
      absl::StatusOr<std::string> id = client_->Run(FLAGS_job, args);
      if (!id.ok()) return Error("follow", id.status());
      TickParser parser(&ours, kSkip);
      absl::StatusOr<int64_t> n = client_->Follow(
          *id, [&parser](absl::string_view d) { parser.Feed(d); });
      if (!n.ok()) return Error("follow", n.status());
    }
    if (ssh_) {
      TickParser parser(&ssh, kSkip);
      absl::Status st = ssh_->Stream(
          absl::StrJoin({FLAGS_job, args[0], args[1], args[2], args[3]}, " "),
          [&parser](absl::string_view d) { parser.Feed(d); });
      if (!st.ok()) return Error("follow", st);
    }
  }
  std::string note = absl::StrCat(ours.size(), " lines, one every ",
                                  kIntervalUs / 1000.0, " ms");
  report_->Add({"3 follow", "line written -> received p50",
                Ms(Quantile(ours, 0.5)), "ms", "same through ssh p50",
                Ms(Quantile(ssh, 0.5)), Better::kLower,
                Goal{Better::kLower, 1.0, true}, note});
  report_->Add({"3 follow", "line written -> received p99",
                Ms(Quantile(ours, 0.99)), "ms", "same through ssh p99",
                Ms(Quantile(ssh, 0.99)), Better::kLower,
                Goal{Better::kLower, 2.0}, note});
}

}  // namespace cmdctl::bench

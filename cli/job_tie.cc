#include "cli/job_tie.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <optional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "cli/calls.h"
#include "cli/process_exit.h"
#include "cli/reconnect.h"
#include "common/file_util.h"

namespace cmdctl::cli {
namespace {

constexpr int kTiedSignals[] = {SIGINT, SIGTERM, SIGHUP};

// The tied signals that were not ignored when cmdctl started.
sigset_t TiedSignals() {
  sigset_t set;
  sigemptyset(&set);
  for (int signal : kTiedSignals) {
    struct sigaction current {};
    if (sigaction(signal, nullptr, &current) == 0 &&
        current.sa_handler == SIG_IGN) {
      continue;  // nohup, or a shell's background job: not ours to take
    }
    sigaddset(&set, signal);
  }
  return set;
}

}  // namespace

JobTie& JobTie::Arm() {
  static JobTie* const tie = [] {
    auto* created = new JobTie;
    const sigset_t set = TiedSignals();
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    // A write to a closed stdout must fail with EPIPE, not kill cmdctl
    // before it has stopped the job.
    signal(SIGPIPE, SIG_IGN);
    // Started with the signals blocked, like every thread after it.
    std::thread([created, set] {
      for (;;) {
        int signal = 0;
        if (sigwait(&set, &signal) == 0) created->OnSignal(signal);
      }
    }).detach();
    return created;
  }();
  return *tie;
}

void JobTie::OnSignal(int signal) {
  bool end_now;
  bool stopping = false;
  bool start_stop = false;
  std::string job_id;
  {
    absl::MutexLock lock(&mu_);
    // Nothing to stop (before the start, or the job has ended and cmdctl is
    // reading its status), or a second signal: end now.
    end_now =
        signal_ != 0 || phase_ == Phase::kIdle || phase_ == Phase::kFinished;
    stopping = stop_started_ && !stop_answered_;
    job_id = job_id_;
    if (!end_now) {
      signal_ = signal;
      // While RunProcess is in flight, Started() stops the job it made.
      start_stop = ClaimStopLocked();
    }
  }
  if (end_now) {
    if (stopping) {
      WriteAll(STDERR_FILENO, absl::StrCat("cmdctl: not waiting; job ", job_id,
                                           " is still being stopped\n"));
    }
    DieBySignal(signal);
  }
  if (start_stop) StartStop();
}

void JobTie::Starting(Session& session) {
  absl::MutexLock lock(&mu_);
  session_ = &session;
  phase_ = Phase::kStarting;
}

void JobTie::Started(const std::string& job_id) {
  int die_by = 0;
  bool start_stop = false;
  {
    absl::MutexLock lock(&mu_);
    if (job_id.empty()) {
      phase_ = Phase::kFinished;
      die_by = signal_;
    } else {
      job_id_ = job_id;
      phase_ = Phase::kStarted;
      start_stop = ClaimStopLocked();
    }
  }
  if (die_by != 0) DieBySignal(die_by);
  if (start_stop) StartStop();
}

void JobTie::OutputEnded() {
  {
    absl::MutexLock lock(&mu_);
    if (signal_ == 0) {
      phase_ = Phase::kFinished;
      return;
    }
  }
  WaitForStopAndDie();
}

void JobTie::StopForClosedOutput() {
  bool start_stop = false;
  {
    absl::MutexLock lock(&mu_);
    if (signal_ == 0) signal_ = SIGPIPE;
    start_stop = ClaimStopLocked();
  }
  if (start_stop) StartStop();
  WaitForStopAndDie();
}

bool JobTie::ClaimStopLocked() {
  if (signal_ == 0 || phase_ != Phase::kStarted || stop_started_) return false;
  stop_started_ = true;
  return true;
}

void JobTie::StartStop() {
  Session* session;
  std::string job_id;
  {
    absl::MutexLock lock(&mu_);
    session = session_;
    job_id = job_id_;
  }
  // On a thread of its own: across a lost connection (a restart of
  // cmdctld) the stop is sent again once the server is back
  // (CallWithReconnect), which takes waiting. It starts with the tied
  // signals blocked, as every thread does after Arm().
  std::thread([this, session, job_id] {
    // The server's default grace (std::nullopt), and so no deadline: see
    // StartStopProcess.
    Reply<cmdctl::v1::ProcessStatus> reply = CallWithReconnect(*session, [&] {
      return std::move(CallStopProcesses(*session, {job_id}, std::nullopt)[0]);
    });
    int signal;
    {
      absl::MutexLock lock(&mu_);
      stop_answered_ = true;
      signal = signal_;
    }
    if (reply.ok()) return;  // dies once the output has ended
    // The job may keep running: say so, and end without waiting for an
    // output that may never end.
    ReportFollowFailure(*session, reply.status, job_id, /*job_runs_on=*/true);
    DieBySignal(signal);
  }).detach();
}

void JobTie::WaitForStopAndDie() {
  int signal;
  {
    absl::MutexLock lock(&mu_);
    if (stop_started_) mu_.Await(absl::Condition(&stop_answered_));
    signal = signal_;
  }
  DieBySignal(signal);
}

}  // namespace cmdctl::cli

// `run --wait` ties the job to the client, as ssh or an attached `docker run`
// do (SPEC §7): SIGINT, SIGTERM or SIGHUP to cmdctl, or its stdout closing
// (EPIPE), stops the job (StopProcess with the server's grace: TERM, grace,
// KILL), and cmdctl then dies by that same signal (SIGPIPE for the closed
// pipe), so that a shell loop around it stops as it would around ssh.
//
// How: Arm() blocks the three signals before gRPC starts a thread, so every
// thread inherits the mask, and one thread of ours takes them with sigwait
// (no handler runs inside gRPC or our code). A signal before the job exists
// ends cmdctl at once (after RunProcess answers, if it is in flight: then
// the job is stopped first). Once the job exists, a signal starts an
// asynchronous StopProcess; the output keeps streaming meanwhile (the job's
// last words are shown) and cmdctl dies once the stop has answered and the
// output has ended; across a restart of cmdctld the stop is sent again once
// the server is back, and the output resumes (reconnect.h). A second signal
// ends cmdctl at once (the stop goes on on the server). A signal that was
// ignored when cmdctl started (nohup, a shell's background job) stays
// ignored: it ties nothing.
#ifndef CMDCTL_CLI_JOB_TIE_H_
#define CMDCTL_CLI_JOB_TIE_H_

#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "cli/session.h"

namespace cmdctl::cli {

class JobTie {
 public:
  // Blocks SIGINT, SIGTERM and SIGHUP in the calling thread (and so in every
  // thread started later: call it before anything starts gRPC), ignores
  // SIGPIPE (so that a closed stdout is an EPIPE to act on), and starts the
  // thread that takes the signals. Once per process; the tie lives as long
  // as the process.
  static JobTie& Arm();

  JobTie(const JobTie&) = delete;
  JobTie& operator=(const JobTie&) = delete;

  // RunProcess is about to be sent on `session` (which outlives the tie's
  // use): a signal now waits for its answer, to stop the job it may start.
  void Starting(Session& session);

  // RunProcess has answered: `job_id` is the job, or empty if it failed. If
  // a signal came meanwhile, a job is stopped and cmdctl dies by the signal
  // (once the output has ended, see OutputEnded); without a job it dies at
  // once.
  void Started(const std::string& job_id);

  // The job's output has ended (or failed). Returns if no signal came (a
  // later one then ends cmdctl at once); otherwise waits for the stop to
  // answer and dies by the signal.
  void OutputEnded();

  // stdout is closed: stops the job as a signal would and dies by SIGPIPE.
  [[noreturn]] void StopForClosedOutput();

 private:
  enum class Phase { kIdle, kStarting, kStarted, kFinished };

  JobTie() = default;
  void OnSignal(int signal);
  // Marks the stop as started if it can and should start: a signal came,
  // the job exists, no stop yet. The caller then calls StartStop unlocked.
  bool ClaimStopLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Sends the StopProcess of the job from a thread of its own, again after
  // a lost connection (no lock held: it calls into gRPC and waits).
  void StartStop() ABSL_LOCKS_EXCLUDED(mu_);
  // Waits until the stop has answered, then dies by the signal.
  [[noreturn]] void WaitForStopAndDie() ABSL_LOCKS_EXCLUDED(mu_);

  absl::Mutex mu_;
  Phase phase_ ABSL_GUARDED_BY(mu_) = Phase::kIdle;
  Session* session_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::string job_id_ ABSL_GUARDED_BY(mu_);
  int signal_ ABSL_GUARDED_BY(mu_) = 0;  // the first signal taken, 0: none
  bool stop_started_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_answered_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace cmdctl::cli

#endif  // CMDCTL_CLI_JOB_TIE_H_

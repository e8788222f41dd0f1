#include "os_adapter/linux_process_host.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <optional>
#include <utility>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "common/errno_status.h"
#include "common/file_util.h"
#include "glog/logging.h"
#include "os_adapter/exec_env.h"
#include "os_adapter/launcher_client.h"
#include "os_adapter/linux_process_host_job.h"
#include "os_adapter/os_util.h"
#include "os_adapter/output_files.h"
#include "os_adapter/syscalls.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

namespace cmdctl {
namespace {

bool AnyLimit(const ResourceLimits& l) { return l != ResourceLimits{}; }

}  // namespace

std::string DefaultLauncherPath() {
  char buf[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return "cmdctl-launcher";
  std::string exe(buf, static_cast<size_t>(n));
  return exe.substr(0, exe.rfind('/') + 1) + "cmdctl-launcher";
}

LinuxProcessHost::LinuxProcessHost(LinuxProcessHostOptions options)
    : options_(std::move(options)),
      is_root_(geteuid() == 0),
      own_uid_(geteuid()) {}

absl::StatusOr<std::unique_ptr<LinuxProcessHost>> LinuxProcessHost::Create(
    LinuxProcessHostOptions options) {
  std::unique_ptr<LinuxProcessHost> host(
      new LinuxProcessHost(std::move(options)));
  absl::Status status = host->Init();
  if (!status.ok()) return status;
  return host;
}

absl::Status LinuxProcessHost::Init() {
  own_login_ = LoginOf(own_uid_);
  boot_id_ = BootId();
  const std::string& launcher = options_.launcher_path;
  if (launcher.empty() || launcher[0] != '/') {
    return absl::InvalidArgumentError(
        absl::StrCat("launcher path must be absolute: '", launcher, "'"));
  }
  if (access(launcher.c_str(), X_OK) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot execute the launcher ", launcher, ": ", ErrnoText(errno)));
  }
  if (options_.state_dir.empty()) {
    return absl::InvalidArgumentError("a state directory is required");
  }
  absl::StatusOr<std::unique_ptr<RunDirectory>> runs =
      RunDirectory::Open(options_.state_dir);
  if (!runs.ok()) return runs.status();
  runs_ = *std::move(runs);
  if (!options_.output_dir.empty()) {
    absl::StatusOr<UniqueFd> dir =
        OpenAt(AT_FDCWD, options_.output_dir, O_RDONLY | O_DIRECTORY);
    if (!dir.ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot open --output_dir ", dir.status().message()));
    }
    struct stat st;
    if (fstat(dir->get(), &st) != 0 || st.st_uid != own_uid_ ||
        (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          "--output_dir ", options_.output_dir, " must be owned by ",
          own_login_, " and writable by nobody else"));
    }
    output_dir_ = *std::move(dir);
  }
  absl::StatusOr<std::unique_ptr<EventLoop>> loop = EventLoop::Create();
  if (!loop.ok()) return loop.status();
  loop_ = *std::move(loop);
  if (options_.reap_orphans) {
    absl::StatusOr<std::unique_ptr<ChildReaper>> reaper =
        ChildReaper::Create(loop_.get());
    if (!reaper.ok()) return reaper.status();
    reaper_ = *std::move(reaper);
  }
  if (options_.use_cgroups) cgroups_ = CgroupTree::Open(options_.cgroup_parent);
  // After the cgroup tree: the spare runs in the cgroup this process moved
  // into (a launcher spawned before would hold the parent, which must stay
  // empty).
  launchers_ = std::make_unique<LauncherPool>(launcher, reaper_.get());
  launchers_->Refill();
  return absl::OkStatus();
}

LinuxProcessHost::~LinuxProcessHost() {
  if (loop_ != nullptr) {
    std::vector<std::shared_ptr<Job>> jobs;
    {
      absl::MutexLock l(&mu_);
      shutting_down_ = true;
      for (const auto& [id, job] : jobs_) jobs.push_back(job);
    }
    if (options_.kill_jobs_on_destroy) {
      for (const auto& job : jobs) SignalTree(*job, SIGKILL).IgnoreError();
      // The loop notes each monitor's end meanwhile.
      const absl::Time deadline = absl::Now() + absl::Seconds(5);
      for (const auto& job : jobs) {
        absl::MutexLock l(&job->mu);
        job->mu.AwaitWithDeadline(absl::Condition(&job->ended), deadline);
      }
    }
    loop_->Stop();
  }
  absl::MutexLock l(&mu_);
  jobs_.clear();
}

std::string LinuxProcessHost::cgroup_parent() const {
  return cgroups_ == nullptr ? "" : cgroups_->path();
}

// ---------------------------------------------------------------------------
// Restarts

absl::StatusOr<std::optional<JobEnd>> LinuxProcessHost::Attach(
    const std::string& job_id, const std::string& host_state,
    std::shared_ptr<ProcessObserver> observer) {
  absl::StatusOr<HostJobState> state = DecodeHostJobState(host_state);
  if (!state.ok()) return state.status();
  if (FindJob(job_id) != nullptr) {
    return absl::AlreadyExistsError(absl::StrCat("job ", job_id, " exists"));
  }
  absl::StatusOr<UniqueFd> run_dir = runs_->OpenJob(job_id);
  if (!run_dir.ok()) {
    if (!absl::IsNotFound(run_dir.status())) return run_dir.status();
    LOG(WARNING) << "job " << job_id << ": no state left: its end is lost";
    return std::optional<JobEnd>(JobEnd::Lost(Now()));
  }
  // The same monitor (pid and start time, in this boot) still runs?
  UniqueFd pidfd;
  if (state->boot_id == boot_id_ && state->monitor_pid > 0) {
    pidfd.reset(PidfdOpen(state->monitor_pid));
    absl::StatusOr<uint64_t> start = ProcessStartTime(state->monitor_pid);
    if (!start.ok() || *start != state->monitor_start) pidfd.reset();
  }
  if (!pidfd) {
    // Ended while no host ran. A monitor that died without its report may
    // have left its cgroup, with what remained of the tree.
    if (cgroups_ != nullptr && state->cgroup_parent == cgroups_->path()) {
      absl::StatusOr<std::unique_ptr<JobCgroup>> cgroup =
          cgroups_->OpenExisting(job_id);
      if (cgroup.ok()) (*cgroup)->KillAndRemove(kTreeGoneWait).IgnoreError();
    }
    return std::optional<JobEnd>(EndOf(run_dir->get(), *state));
  }

  auto job = std::make_shared<Job>();
  job->id = job_id;
  job->state = *state;
  job->monitor_pidfd = std::move(pidfd);
  absl::StatusOr<std::shared_ptr<MonitorStatusPage>> page =
      MonitorStatusPage::Map(run_dir->get());
  if (!page.ok()) return page.status();
  job->page = *std::move(page);
  job->job_pid = job->page->status().job_pid.load(std::memory_order_acquire);
  absl::StatusOr<UniqueFd> notify = RunDirectory::OpenNotify(run_dir->get());
  if (!notify.ok()) return notify.status();
  job->notify = *std::move(notify);
  job->run_dir = *std::move(run_dir);
  absl::StatusOr<std::pair<UniqueFd, UniqueFd>> files =
      ReopenOutput(job_id, *state);
  if (files.ok()) {
    job->output = std::make_shared<JobOutputFiles>(
        std::move(files->first), std::move(files->second), job->page);
  } else {
    job->output_error = files.status();
    LOG(WARNING) << "job " << job_id << ": " << files.status();
  }
  std::unique_ptr<JobCgroup> cgroup;
  if (!state->cgroup_parent.empty()) {
    if (cgroups_ != nullptr && state->cgroup_parent == cgroups_->path()) {
      absl::StatusOr<std::unique_ptr<JobCgroup>> open =
          cgroups_->OpenExisting(job_id);
      if (open.ok()) cgroup = *std::move(open);
    } else {
      LOG(WARNING) << "job " << job_id << ": its cgroup under "
                   << state->cgroup_parent
                   << " is not this host's: signalled by process group";
    }
  }
  {
    absl::MutexLock l(&job->mu);
    job->observer = std::move(observer);
    job->cgroup = std::move(cgroup);
  }
  if (absl::Status registered = Register(job); !registered.ok()) {
    return registered;
  }
  return std::optional<JobEnd>();
}

JobEnd LinuxProcessHost::EndOf(int run_dir, const HostJobState& state) {
  std::optional<EndReport> report = RunDirectory::ReadEnd(run_dir);
  JobEnd end;
  if (report.has_value()) {
    end = JobEnd::Of(report->signaled ? ExitInfo::Signaled(report->signal)
                                      : ExitInfo::Exited(report->exit_code),
                     absl::FromUnixNanos(report->ended_at_ns));
    end.usage.cpu_user = absl::Microseconds(report->cpu_user_us);
    end.usage.cpu_system = absl::Microseconds(report->cpu_system_us);
    end.usage.memory_peak_bytes = report->memory_peak_bytes;
    end.usage.io_read_bytes = report->io_read_bytes;
    end.usage.io_write_bytes = report->io_write_bytes;
    end.oom_killed = report->oom_killed;
    for (int s = 0; s < 2; ++s) {
      end.output[s] = StreamTotals{report->written[s], report->discarded[s],
                                   report->incomplete[s]};
    }
    return end;
  }
  // The monitor died before it could record the end (killed, or the host
  // rebooted): how the job ended is unknowable. What it wrote still counts.
  end = JobEnd::Lost(Now());
  absl::StatusOr<std::shared_ptr<MonitorStatusPage>> page =
      MonitorStatusPage::Map(run_dir);
  if (page.ok()) {
    const MonitorStatus& st = (*page)->status();
    for (int s = 0; s < 2; ++s) {
      end.output[s] = StreamTotals{st.written[s].load(), st.discarded[s].load(),
                                   st.incomplete[s].load() != 0};
    }
  }
  return end;
}

std::vector<std::string> LinuxProcessHost::Leftovers() { return runs_->List(); }

void LinuxProcessHost::Release(const std::string& job_id) {
  {
    absl::MutexLock l(&mu_);
    auto it = jobs_.find(job_id);
    if (it != jobs_.end()) {
      absl::MutexLock jl(&it->second->mu);
      if (!it->second->ended) return;  // still running: not ours to drop
    }
    if (it != jobs_.end()) jobs_.erase(it);
  }
  runs_->Remove(job_id).IgnoreError();
}

absl::Status LinuxProcessHost::Discard(const std::string& job_id) {
  if (std::shared_ptr<Job> job = FindJob(job_id)) {
    bool ended;
    {
      absl::MutexLock l(&job->mu);
      job->discarded = true;
      job->observer.reset();
      ended = job->ended;
    }
    if (ended) {
      CleanUp(job_id, job->state);
      absl::MutexLock l(&mu_);
      jobs_.erase(job_id);
      return absl::OkStatus();
    }
    // The monitor's end finishes the cleanup (OnMonitorExit).
    return SignalTree(*job, SIGKILL);
  }
  // A leftover of an earlier host: take it up without an observer.
  absl::StatusOr<UniqueFd> run_dir = runs_->OpenJob(job_id);
  if (!run_dir.ok()) {
    return absl::IsNotFound(run_dir.status()) ? absl::OkStatus()
                                              : run_dir.status();
  }
  absl::StatusOr<std::string> text =
      RunDirectory::ReadHostState(run_dir->get());
  absl::StatusOr<HostJobState> state =
      text.ok() ? DecodeHostJobState(*text) : text.status();
  if (!state.ok()) return runs_->Remove(job_id);  // nothing else to find
  absl::StatusOr<std::optional<JobEnd>> attached =
      Attach(job_id, *text, nullptr);
  if (attached.ok() && !attached->has_value()) return Discard(job_id);
  CleanUp(job_id, *state);  // it had ended (Attach cleaned its cgroup)
  return absl::OkStatus();
}

void LinuxProcessHost::CleanUp(const std::string& job_id,
                               const HostJobState& state) {
  FdReserve::Lease lease = cleanup_fds_.Borrow();
  absl::Status removed = RemoveOutput(job_id, EncodeHostJobState(state));
  if (!removed.ok()) LOG(WARNING) << "job " << job_id << ": " << removed;
  runs_->Remove(job_id).IgnoreError();
}

// ---------------------------------------------------------------------------
// Signalling and usage

absl::Status LinuxProcessHost::SignalTree(Job& job, int sig) {
  absl::MutexLock l(&job.mu);
  if (job.ended) return absl::OkStatus();
  if (job.cgroup != nullptr) {
    return sig == SIGKILL ? job.cgroup->Kill() : job.cgroup->Signal(sig);
  }
  // Fallback: the job's process group (pgid == its main pid, which stays
  // reserved while any member of the group lives; the monitor, its parent,
  // has not reaped it while it runs).
  if (job.job_pid <= 0) return absl::OkStatus();
  if (kill(-job.job_pid, sig) != 0 && errno != ESRCH) {
    return ErrnoStatus(errno, "killpg", ErrnoCause::kMachinery);
  }
  return absl::OkStatus();
}

absl::Status LinuxProcessHost::Terminate(const std::string& job_id) {
  std::shared_ptr<Job> job = FindJob(job_id);
  if (job == nullptr) {
    return absl::NotFoundError(absl::StrCat("no job ", job_id));
  }
  return SignalTree(*job, SIGTERM);
}

absl::Status LinuxProcessHost::Kill(const std::string& job_id) {
  std::shared_ptr<Job> job = FindJob(job_id);
  if (job == nullptr) {
    return absl::NotFoundError(absl::StrCat("no job ", job_id));
  }
  return SignalTree(*job, SIGKILL);
}

absl::StatusOr<LiveStats> LinuxProcessHost::Stats(const std::string& job_id) {
  std::shared_ptr<Job> job = FindJob(job_id);
  if (job == nullptr) {
    return absl::NotFoundError(absl::StrCat("no running job ", job_id));
  }
  LiveStats stats;
  {
    absl::MutexLock l(&job->mu);
    if (job->ended) {
      return absl::NotFoundError(absl::StrCat("no running job ", job_id));
    }
    if (job->cgroup != nullptr) {
      absl::StatusOr<ResourceUsage> usage = job->cgroup->Usage();
      if (!usage.ok()) return usage.status();
      stats.usage = *usage;
    }
  }
  const MonitorStatus& st = job->page->status();
  for (int s = 0; s < 2; ++s) {
    stats.output[s] =
        StreamTotals{st.written[s].load(std::memory_order_acquire),
                     st.discarded[s].load(std::memory_order_acquire),
                     st.incomplete[s].load(std::memory_order_acquire) != 0};
  }
  return stats;
}

absl::Status LinuxProcessHost::CheckLimits(const ResourceLimits& limits) {
  if (!AnyLimit(limits)) return absl::OkStatus();
  if (cgroups_ == nullptr) {
    return CheckLimitsAgainst(
        limits, CgroupControllers{},
        "here: cmdctld has no usable cgroup v2 (its jobs are tracked by "
        "process group)");
  }
  return cgroups_->CheckLimits(limits);
}

// ---------------------------------------------------------------------------
// Time

absl::Time LinuxProcessHost::Now() { return absl::Now(); }

TimerId LinuxProcessHost::RunAfter(absl::Duration delay,
                                   std::function<void()> fn) {
  return loop_->RunAfter(delay, std::move(fn));
}

void LinuxProcessHost::CancelTimer(TimerId id) { loop_->CancelTimer(id); }

// ---------------------------------------------------------------------------
// The lifecycle (loop thread)

void LinuxProcessHost::OnNotify(const std::shared_ptr<Job>& job) {
  char buf[256];
  ssize_t n;
  bool notified = false;
  do {
    n = read(job->notify.get(), buf, sizeof(buf));
    notified |= n > 0;
  } while (n > 0 || (n < 0 && errno == EINTR));
  std::shared_ptr<ProcessObserver> observer;
  {
    absl::MutexLock l(&job->mu);
    if (n == 0 && job->notify_watch != 0) {
      // EOF: the monitor is gone (its pidfd says so too). Stop listening,
      // or the level-triggered hang-up would spin.
      loop_->RemoveFd(job->notify.get(), std::exchange(job->notify_watch, 0));
    }
    if (notified && !job->ended) observer = job->observer;
  }
  if (observer != nullptr) observer->OnOutput();
}

void LinuxProcessHost::OnMonitorExit(const std::shared_ptr<Job>& job) {
  EventLoop::WatchId watch, notify_watch;
  {
    absl::MutexLock l(&job->mu);
    watch = std::exchange(job->pidfd_watch, 0);
    notify_watch = std::exchange(job->notify_watch, 0);
  }
  if (watch == 0) return;  // handled already
  loop_->RemoveFd(job->monitor_pidfd.get(), watch);
  // No output notification from here on: OnOutput never follows OnEnd.
  if (notify_watch != 0) loop_->RemoveFd(job->notify.get(), notify_watch);
  if (job->own_child && reaper_ == nullptr) {
    siginfo_t si;
    while (waitid(static_cast<idtype_t>(P_PIDFD), job->monitor_pidfd.get(), &si,
                  WEXITED | WNOHANG) < 0 &&
           errno == EINTR) {
    }
  }
  job->monitor_pidfd.reset();
  const bool report = RunDirectory::ReadEnd(job->run_dir.get()).has_value();
  JobEnd end = EndOf(job->run_dir.get(), job->state);
  std::shared_ptr<ProcessObserver> observer;
  bool discarded;
  {
    absl::MutexLock l(&job->mu);
    if (job->ended) return;
    job->ended = true;
    // The monitor removed the cgroup; one that died first left it.
    if (job->cgroup != nullptr && !report) {
      job->cgroup->KillAndRemove(kTreeGoneWait).IgnoreError();
    }
    job->cgroup.reset();
    observer = std::move(job->observer);
    job->observer.reset();
    discarded = job->discarded;
  }
  if (reaper_ != nullptr) reaper_->ReapSoon();
  if (!report) {
    LOG(ERROR) << "job " << job->id << ": its monitor ended without "
               << "recording the job's end: reported LOST";
  }
  if (discarded) {
    CleanUp(job->id, job->state);
    absl::MutexLock l(&mu_);
    jobs_.erase(job->id);
    return;
  }
  bool notify;
  {
    absl::MutexLock l(&mu_);
    notify = !shutting_down_;
  }
  if (notify && observer != nullptr) observer->OnEnd(end);
}

}  // namespace cmdctl

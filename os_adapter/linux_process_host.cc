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
#include "os_adapter/os_util.h"
#include "os_adapter/output_files.h"
#include "os_adapter/syscalls.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

namespace cmdctl {

std::string DefaultLauncherPath() {
  char buf[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return "cmdctl-launcher";
  std::string exe(buf, static_cast<size_t>(n));
  return exe.substr(0, exe.rfind('/') + 1) + "cmdctl-launcher";
}

struct LinuxProcessHost::Job {
  // Immutable once registered.
  std::string id;
  pid_t pid = 0;
  std::shared_ptr<const JobOutputFiles> output;
  std::shared_ptr<OutputWatcher::Target> watch;
  bool has_cgroup = false;

  // Loop thread only once registered (Start fills them in before).
  std::shared_ptr<ProcessObserver> observer;
  UniqueFd pidfd;
  EventLoop::WatchId pidfd_watch = 0;
  EventLoop::WatchId events_watch = 0;
  std::optional<JobEnd> end;  // the main process's exit, once known
  bool finished = false;

  // The tree: signalled from any thread, torn down on the loop thread.
  absl::Mutex mu;
  std::unique_ptr<JobCgroup> cgroup ABSL_GUARDED_BY(mu);
  bool tree_gone ABSL_GUARDED_BY(mu) = false;
};

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
  const std::string& launcher = options_.launcher_path;
  if (launcher.empty() || launcher[0] != '/') {
    return absl::InvalidArgumentError(
        absl::StrCat("launcher path must be absolute: '", launcher, "'"));
  }
  if (access(launcher.c_str(), X_OK) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot execute the launcher ", launcher, ": ", ErrnoText(errno)));
  }
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
  absl::StatusOr<std::unique_ptr<OutputWatcher>> watcher =
      OutputWatcher::Create(loop_.get());
  if (!watcher.ok()) return watcher.status();
  watcher_ = *std::move(watcher);
  if (options_.reap_orphans) {
    absl::StatusOr<std::unique_ptr<ChildReaper>> reaper =
        ChildReaper::Create(loop_.get());
    if (!reaper.ok()) return reaper.status();
    reaper_ = *std::move(reaper);
  }
  if (options_.use_cgroups) cgroups_ = CgroupTree::Open(options_.cgroup_parent);
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
    for (const auto& job : jobs) SignalTree(*job, SIGKILL).IgnoreError();
    {
      // The loop keeps reaping and removing cgroups meanwhile.
      absl::MutexLock l(&mu_);
      auto done = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return unfinished_ == 0;
      };
      mu_.AwaitWithTimeout(absl::Condition(&done), absl::Seconds(5));
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
// Start

absl::StatusOr<StartedProcess> LinuxProcessHost::Start(
    const ProcessSpec& spec, std::shared_ptr<ProcessObserver> observer) {
  const std::string& id = spec.job_id;
  absl::StatusOr<UserEntry> user = LookupUser(spec.run_as);
  if (!user.ok()) return user.status();
  if (!is_root_ && user->uid != own_uid_) {
    return absl::PermissionDeniedError(absl::StrCat(
        "cmdctld runs as ", own_login_, " and can only run jobs as ",
        own_login_, ", not as ", spec.run_as));
  }
  {
    absl::MutexLock l(&mu_);
    if (jobs_.contains(id)) {
      return absl::AlreadyExistsError(absl::StrCat("job ", id, " exists"));
    }
  }
  // Each resource made for the job is undone unless the start succeeds.
  std::unique_ptr<JobCgroup> cgroup;
  UniqueFd procs;
  if (cgroups_ != nullptr) {
    absl::StatusOr<std::unique_ptr<JobCgroup>> made = cgroups_->Create(id);
    if (!made.ok()) return made.status();
    cgroup = *std::move(made);
    procs = cgroup->TakeProcsFd();
  }
  absl::Cleanup remove_cgroup = [&] {
    if (cgroup != nullptr) cgroup->Remove().IgnoreError();
  };
  UniqueFd outdir;
  if (output_dir_) {
    absl::StatusOr<UniqueFd> made = MakeOutputDir(id, *user);
    if (!made.ok()) return made.status();
    outdir = *std::move(made);
  }
  // The launcher removed the files it made; the directory is ours.
  absl::Cleanup remove_outdir = [&] {
    if (outdir) unlinkat(output_dir_.get(), id.c_str(), AT_REMOVEDIR);
  };

  LaunchRequest request;
  request.drop_privileges = is_root_;
  request.uid = user->uid;
  request.gid = user->gid;
  request.groups.assign(user->groups.begin(), user->groups.end());
  request.home = user->home;
  request.working_dir = spec.working_dir;
  request.job_id = id;
  request.program = spec.program;
  request.argv.push_back(spec.program);
  request.argv.insert(request.argv.end(), spec.args.begin(), spec.args.end());
  request.envp =
      BuildEnvironment(user->login, user->home, user->shell, spec.env);
  request.has_cgroup_procs_fd = procs.valid();
  request.has_output_dir_fd = outdir.valid();
  LaunchContext context{options_.launcher_path, reaper_.get(), {}};
  if (procs) context.attach_fds.push_back(procs.get());
  if (outdir) context.attach_fds.push_back(outdir.get());
  absl::StatusOr<LaunchedJob> launched = RunLauncher(request, context);
  if (!launched.ok()) return launched.status();

  auto job = std::make_shared<Job>();
  job->id = id;
  job->pid = launched->pid;
  job->pidfd = std::move(launched->pidfd);
  job->output = std::make_shared<JobOutputFiles>(
      std::move(launched->stdout_fd), std::move(launched->stderr_fd));
  job->observer = std::move(observer);
  job->has_cgroup = cgroup != nullptr;
  std::weak_ptr<Job> weak = job;
  job->watch =
      watcher_->NewTarget(job->output->ProcPath(OutputStream::kStdout),
                          job->output->ProcPath(OutputStream::kStderr), [weak] {
                            // Loop thread; the target is closed before the
                            // observer goes.
                            std::shared_ptr<Job> j = weak.lock();
                            if (j != nullptr && j->observer != nullptr)
                              j->observer->OnOutput();
                          });
  {
    absl::MutexLock l(&job->mu);
    job->cgroup = std::move(cgroup);
  }
  std::move(remove_cgroup).Cancel();
  std::move(remove_outdir).Cancel();
  if (absl::Status registered = Register(job); !registered.ok()) {
    return registered;
  }
  return StartedProcess{job->pid};
}

absl::StatusOr<UniqueFd> LinuxProcessHost::MakeOutputDir(
    const std::string& job_id, const UserEntry& user) {
  if (mkdirat(output_dir_.get(), job_id.c_str(), 0700) != 0) {
    return ErrnoStatus(errno, "creating the job's output directory",
                       ErrnoCause::kMachinery);
  }
  absl::StatusOr<UniqueFd> dir =
      OpenAt(output_dir_.get(), job_id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0,
             ErrnoCause::kMachinery);
  if (dir.ok() && (fchown(dir->get(), user.uid, user.gid) != 0 ||
                   fchmod(dir->get(), 0700) != 0)) {
    dir = ErrnoStatus(errno, "preparing the job's output directory",
                      ErrnoCause::kMachinery);
  }
  if (!dir.ok()) unlinkat(output_dir_.get(), job_id.c_str(), AT_REMOVEDIR);
  return dir;
}

absl::Status LinuxProcessHost::Register(const std::shared_ptr<Job>& job) {
  {
    absl::MutexLock l(&mu_);
    jobs_[job->id] = job;
    ++unfinished_;
  }
  // Every watch is in place before the exit path is published (the pidfd
  // watch without a reaper, Claim with one): from then on the loop may end
  // the job at any moment. Early cgroup events are harmless: they are acted
  // upon only after the main exit.
  absl::Status watched = absl::OkStatus();
  if (job->has_cgroup) {
    int events_fd;
    {
      absl::MutexLock l(&job->mu);
      events_fd = job->cgroup->events_fd();
    }
    absl::StatusOr<EventLoop::WatchId> id =
        loop_->AddFd(events_fd, EPOLLPRI, [this, job] { CheckTreeGone(job); });
    if (id.ok()) job->events_watch = *id;
    watched = id.status();
  }
  if (watched.ok()) {
    // With a reaper the pidfd only wakes it (in case a SIGCHLD were lost);
    // it reaps this main process among others.
    std::function<void()> on_ready;
    if (reaper_ != nullptr) {
      on_ready = [this] { reaper_->Reap(); };
    } else {
      on_ready = [this, weak = std::weak_ptr<Job>(job)] {
        if (std::shared_ptr<Job> j = weak.lock()) OnPidfdReadable(j);
      };
    }
    absl::StatusOr<EventLoop::WatchId> id =
        loop_->AddFd(job->pidfd.get(), EPOLLIN, std::move(on_ready));
    if (id.ok()) job->pidfd_watch = *id;
    watched = id.status();
  }
  if (watched.ok() && reaper_ != nullptr) {
    reaper_->Claim(job->pid, [this, job](const ExitInfo& exit) {
      OnMainExit(job, JobEnd::Of(exit, Now()));
    });
  }
  if (watched.ok()) return absl::OkStatus();
  // The kernel is out of epoll memory: the job cannot be followed, so it
  // must not run. Kill it; its end then runs the usual course on the loop.
  SignalTree(*job, SIGKILL).IgnoreError();
  if (reaper_ != nullptr) {
    reaper_->Claim(job->pid, [this, job](const ExitInfo&) {
      loop_->Post([this, job] { FinishJob(job); });
    });
  } else {
    siginfo_t si;
    while (waitid(static_cast<idtype_t>(P_PIDFD), job->pidfd.get(), &si,
                  WEXITED) < 0 &&
           errno == EINTR) {
    }
    loop_->Post([this, job] { FinishJob(job); });
  }
  {
    absl::MutexLock l(&mu_);
    jobs_.erase(job->id);
  }
  return watched;
}

std::shared_ptr<LinuxProcessHost::Job> LinuxProcessHost::FindJob(
    const std::string& job_id) {
  absl::MutexLock l(&mu_);
  auto it = jobs_.find(job_id);
  return it == jobs_.end() ? nullptr : it->second;
}

// ---------------------------------------------------------------------------
// Signalling

absl::Status LinuxProcessHost::SignalTree(Job& job, int sig) {
  absl::MutexLock l(&job.mu);
  if (job.tree_gone) return absl::OkStatus();
  if (job.cgroup != nullptr) {
    return sig == SIGKILL ? job.cgroup->Kill() : job.cgroup->Signal(sig);
  }
  // Fallback: the session's process group (pgid == the main pid, which
  // stays reserved while any member of the group lives).
  if (kill(-job.pid, sig) != 0 && errno != ESRCH) {
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

// ---------------------------------------------------------------------------
// Output and time

absl::StatusOr<std::unique_ptr<OutputReader>> LinuxProcessHost::OpenOutput(
    const std::string& job_id) {
  std::shared_ptr<Job> job = FindJob(job_id);
  if (job == nullptr) {
    return absl::NotFoundError(absl::StrCat("no job ", job_id));
  }
  OutputWatcher* watcher = watcher_.get();
  return std::unique_ptr<OutputReader>(new FileOutputReader(
      job->output,
      [watcher, target = job->watch] { return watcher->Arm(target); }));
}

absl::Time LinuxProcessHost::Now() { return absl::Now(); }

TimerId LinuxProcessHost::RunAfter(absl::Duration delay,
                                   std::function<void()> fn) {
  return loop_->RunAfter(delay, std::move(fn));
}

void LinuxProcessHost::CancelTimer(TimerId id) { loop_->CancelTimer(id); }

// ---------------------------------------------------------------------------
// The lifecycle (loop thread)

void LinuxProcessHost::OnPidfdReadable(const std::shared_ptr<Job>& job) {
  if (!job->pidfd) return;
  siginfo_t si = {};
  int rc;
  do {
    rc = waitid(static_cast<idtype_t>(P_PIDFD), job->pidfd.get(), &si,
                WEXITED | WNOHANG);
  } while (rc < 0 && errno == EINTR);
  if (rc == 0 && si.si_pid == 0) return;  // not yet
  std::optional<ExitInfo> exit;
  if (rc == 0) exit = DecodeChildStatus(si.si_code, si.si_status);
  if (rc == 0 && !exit) return;  // a stop/continue report
  const JobEnd end = exit ? JobEnd::Of(*exit, Now()) : JobEnd::Lost(Now());
  if (end.lost) {
    // Someone else reaped our child: how it ended is unknowable.
    LOG(ERROR) << "job " << job->id << ": cannot learn how pid " << job->pid
               << " ended (" << ErrnoText(errno) << ")";
  }
  OnMainExit(job, end);
}

void LinuxProcessHost::OnMainExit(const std::shared_ptr<Job>& job,
                                  const JobEnd& end) {
  if (job->end) return;
  job->end = end;
  if (job->pidfd_watch != 0)
    loop_->RemoveFd(job->pidfd.get(), job->pidfd_watch);
  job->pidfd.reset();
  // Like systemd's KillMode=control-group: the job ends with its main
  // process; whatever it left behind is killed.
  absl::Status killed = SignalTree(*job, SIGKILL);
  if (!killed.ok()) LOG(ERROR) << "job " << job->id << ": " << killed;
  if (job->has_cgroup) {
    CheckTreeGone(job);
  } else {
    // Nothing tells us when the group's last member is gone: the job ends
    // now (see docs/ARCHITECTURE.md).
    FinishJob(job);
  }
}

void LinuxProcessHost::CheckTreeGone(const std::shared_ptr<Job>& job) {
  if (job->finished) return;
  // Read even before the main exit: the read re-arms the level-triggered
  // EPOLLPRI (which fires when the launcher joins the cgroup, too).
  absl::StatusOr<bool> populated;
  {
    absl::MutexLock l(&job->mu);
    if (job->cgroup == nullptr) return;
    populated = job->cgroup->Populated();
  }
  if (!populated.ok()) {
    LOG(ERROR) << "job " << job->id << ": " << populated.status();
    return;
  }
  if (!*populated && job->end) FinishJob(job);
}

void LinuxProcessHost::FinishJob(const std::shared_ptr<Job>& job) {
  if (job->finished) return;
  job->finished = true;
  {
    absl::MutexLock l(&job->mu);
    job->tree_gone = true;
    if (job->cgroup != nullptr) {
      if (job->events_watch != 0) {
        loop_->RemoveFd(job->cgroup->events_fd(), job->events_watch);
      }
      absl::Status removed = job->cgroup->Remove();
      if (!removed.ok()) LOG(ERROR) << "job " << job->id << ": " << removed;
      job->cgroup.reset();
    }
  }
  // No output notification from here on: OnOutput never follows OnEnd.
  watcher_->Close(job->watch);
  bool notify;
  {
    absl::MutexLock l(&mu_);
    --unfinished_;
    notify = !shutting_down_;
  }
  // Orphans of this job were killed with it; reap them without waiting for
  // SIGCHLD.
  if (reaper_ != nullptr) reaper_->ReapSoon();
  std::shared_ptr<ProcessObserver> observer = std::move(job->observer);
  if (notify && observer != nullptr && job->end) {
    JobEnd end = *job->end;
    end.at = Now();
    observer->OnEnd(end);
  }
}

}  // namespace cmdctl

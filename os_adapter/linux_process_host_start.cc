// LinuxProcessHost: starting a job (Start and its steps).
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
#include "os_adapter/linux_process_host.h"
#include "os_adapter/linux_process_host_job.h"
#include "os_adapter/os_util.h"
#include "os_adapter/output_files.h"
#include "os_adapter/syscalls.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

namespace cmdctl {
namespace {

// What the request asked for wrongly (a program that does not exist, a
// directory the user cannot enter, a bad user...), as the launcher reports
// it. Nothing of the job is left when the launcher says so.
bool IsRequestError(const absl::Status& s) {
  switch (s.code()) {
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kAlreadyExists:
      return true;
    default:
      return false;
  }
}

}  // namespace

absl::StatusOr<StartedProcess> LinuxProcessHost::Start(
    const ProcessSpec& spec, std::shared_ptr<ProcessObserver> observer) {
  absl::StatusOr<StartedProcess> started = StartJob(spec, std::move(observer));
  // What the request asked for wrongly is the caller's to hear; the rest
  // (out of fds, memory, disk...) is the operator's too.
  if (!started.ok() && !IsRequestError(started.status())) {
    LOG(WARNING) << "job " << spec.job_id
                 << " not started: " << started.status();
    return absl::Status(
        started.status().code(),
        absl::StrCat("the job was not started: ", started.status().message()));
  }
  return started;
}

absl::StatusOr<StartedProcess> LinuxProcessHost::StartJob(
    const ProcessSpec& spec, std::shared_ptr<ProcessObserver> observer) {
  const std::string& id = spec.job_id;
  absl::StatusOr<UserEntry> user = LookupUser(spec.run_as);
  if (!user.ok()) return user.status();
  if (!is_root_ && user->uid != own_uid_) {
    return absl::PermissionDeniedError(absl::StrCat(
        "cmdctld runs as ", own_login_, " and can only run jobs as ",
        own_login_, ", not as ", spec.run_as));
  }
  if (FindJob(id) != nullptr) {
    return absl::AlreadyExistsError(absl::StrCat("job ", id, " exists"));
  }
  if (absl::Status can = CheckLimits(spec.limits); !can.ok()) return can;
  if (absl::Status room = CheckRoom(*user); !room.ok()) return room;

  HostJobState state;
  state.boot_id = boot_id_;
  state.uid = user->uid;
  state.gid = user->gid;
  state.login = user->login;
  state.home = user->home;
  state.output_dir = options_.output_dir;
  state.cgroup_parent = cgroup_parent();
  // Each resource made for the job is undone unless the start succeeds,
  // with the fd reserve freed first: the start may have failed for want
  // of fds.
  std::optional<FdReserve::Lease> lease;
  auto borrow = [&] {
    if (!lease) lease.emplace(cleanup_fds_.Borrow());
  };
  absl::StatusOr<UniqueFd> run_dir = runs_->Create(id);
  if (!run_dir.ok()) return run_dir.status();
  absl::Cleanup remove_run_dir = [&] {
    borrow();
    runs_->Remove(id).IgnoreError();
  };
  // Written before the launch: a crash from here on leaves a leftover the
  // next host can clean up (Leftovers, Discard).
  if (absl::Status s = RunDirectory::WriteHostState(run_dir->get(),
                                                    EncodeHostJobState(state));
      !s.ok()) {
    return s;
  }
  std::unique_ptr<JobCgroup> cgroup;
  if (cgroups_ != nullptr) {
    absl::StatusOr<std::unique_ptr<JobCgroup>> made =
        cgroups_->Create(id, spec.limits);
    if (!made.ok()) return made.status();
    cgroup = *std::move(made);
  }
  absl::Cleanup remove_cgroup = [&] {
    borrow();
    if (cgroup != nullptr) cgroup->KillAndRemove(kTreeGoneWait).IgnoreError();
  };
  UniqueFd outdir;
  if (output_dir_) {
    absl::StatusOr<UniqueFd> made = MakeOutputDir(id, *user);
    if (!made.ok()) return made.status();
    outdir = *std::move(made);
  }
  // The directory is ours; the files are removed as the user (below).
  absl::Cleanup remove_outdir = [&] {
    borrow();
    if (outdir) unlinkat(output_dir_.get(), id.c_str(), AT_REMOVEDIR);
  };

  LaunchRequest request =
      UserRequest(id, state, LaunchRequest::kLaunch, &*user);
  request.working_dir = spec.working_dir;
  request.program = spec.program;
  request.argv.push_back(spec.program);
  request.argv.insert(request.argv.end(), spec.args.begin(), spec.args.end());
  request.envp =
      BuildEnvironment(user->login, user->home, user->shell, spec.env);
  request.max_output_bytes = spec.max_output_bytes;
  request.has_cgroup_parent_fd = cgroup != nullptr;
  request.has_run_dir_fd = true;
  LaunchContext context = LauncherContext();
  if (cgroup != nullptr) context.attach_fds.push_back(cgroups_->fd());
  if (request.has_output_dir_fd)
    context.attach_fds.push_back(output_dir_.get());
  context.attach_fds.push_back(run_dir->get());
  absl::StatusOr<LaunchedJob> launched = RunLauncher(request, context);
  RefillLaunchers();
  // A launcher that reported what was wrong with the request removed the
  // files it made. One that did not (killed, out of fds, no reply), or a job
  // stopped below, may have left them (in the user's home, or in `outdir`).
  absl::Cleanup remove_output = [&] {
    borrow();
    if (absl::Status removed = RemoveOutput(id, EncodeHostJobState(state));
        !removed.ok()) {
      LOG(ERROR) << "job " << id << " (not started): " << removed;
    }
  };
  if (!launched.ok()) {
    if (IsRequestError(launched.status())) std::move(remove_output).Cancel();
    return launched.status();
  }

  state.monitor_pid = launched->monitor_pid;
  state.monitor_start = ProcessStartTime(launched->monitor_pid).value_or(0);
  const int fds[2] = {launched->stdout_fd.get(), launched->stderr_fd.get()};
  for (int s = 0; s < 2; ++s) {
    struct stat st;
    if (fstat(fds[s], &st) == 0) {
      state.dev[s] = st.st_dev;
      state.ino[s] = st.st_ino;
    }
    state.handle[s] = FileHandleOf(fds[s]);
  }
  const std::string host_state = EncodeHostJobState(state);
  auto job = std::make_shared<Job>();
  job->id = id;
  job->state = state;
  job->job_pid = launched->job_pid;
  job->own_child = true;
  job->monitor_pidfd = std::move(launched->monitor_pidfd);
  absl::Status ready = RunDirectory::WriteHostState(run_dir->get(), host_state);
  absl::StatusOr<std::shared_ptr<MonitorStatusPage>> page =
      MonitorStatusPage::Map(run_dir->get());
  if (ready.ok() && !page.ok()) ready = page.status();
  absl::StatusOr<UniqueFd> notify = RunDirectory::OpenNotify(run_dir->get());
  if (ready.ok() && !notify.ok()) ready = notify.status();
  if (!ready.ok()) {
    // The job runs, but could not be found again after a restart: stop it
    // (its monitor then removes the cgroup; the files go with the run dir).
    PidfdSendSignal(job->monitor_pidfd.get(), SIGKILL);
    return ready;
  }
  job->page = *std::move(page);
  job->notify = *std::move(notify);
  job->run_dir = *std::move(run_dir);
  job->output = std::make_shared<JobOutputFiles>(std::move(launched->stdout_fd),
                                                 std::move(launched->stderr_fd),
                                                 job->page);
  {
    absl::MutexLock l(&job->mu);
    job->observer = std::move(observer);
    job->cgroup = std::move(cgroup);
  }
  std::move(remove_run_dir).Cancel();
  std::move(remove_cgroup).Cancel();
  std::move(remove_outdir).Cancel();
  std::move(remove_output).Cancel();
  if (absl::Status registered = Register(job); !registered.ok()) {
    return registered;
  }
  return StartedProcess{job->job_pid, host_state};
}

absl::Status LinuxProcessHost::CheckRoom(const UserEntry& user) {
  // Before anything is made: on a full file system the job would lose its
  // output from the first byte, and its state and record could not be
  // written.
  const OutputSpaceFloor& floor = options_.output_space_floor;
  absl::Status room = CheckOutputSpaceOf(
      output_dir_.get(), user.home, floor,
      output_dir_
          ? absl::StrCat("--output_dir ", options_.output_dir)
          : absl::StrCat("the home of ", user.login, " (", user.home, ")"));
  if (!room.ok()) return room;
  return CheckOutputSpaceOf(runs_->fd(), options_.state_dir, floor,
                            absl::StrCat("--state_dir ", options_.state_dir));
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

LaunchRequest LinuxProcessHost::UserRequest(const std::string& job_id,
                                            const HostJobState& state,
                                            LaunchRequest::Mode mode,
                                            const UserEntry* user) const {
  LaunchRequest request;
  request.mode = mode;
  request.job_id = job_id;
  request.drop_privileges = is_root_;
  request.uid = state.uid;
  request.gid = state.gid;
  // The user's groups as they are now; only the primary one if the user is
  // gone (its files are still its uid's).
  absl::StatusOr<UserEntry> looked_up = user != nullptr
                                            ? absl::StatusOr<UserEntry>(*user)
                                            : LookupUser(state.login);
  if (looked_up.ok() && looked_up->uid == state.uid) {
    request.groups.assign(looked_up->groups.begin(), looked_up->groups.end());
  } else {
    request.groups = {state.gid};
  }
  request.home = state.home;
  request.has_output_dir_fd = !state.output_dir.empty();
  return request;
}

LaunchContext LinuxProcessHost::LauncherContext() const {
  return LaunchContext{
      options_.launcher_path, reaper_.get(), {}, launchers_.get()};
}

void LinuxProcessHost::RefillLaunchers() {
  loop_->Post([this] { launchers_->Refill(); });
}

absl::Status LinuxProcessHost::Register(const std::shared_ptr<Job>& job) {
  {
    absl::MutexLock l(&mu_);
    jobs_[job->id] = job;
  }
  // Both fds are watched under the job's lock: OnMonitorExit, which may
  // run at once, waits until the watches' ids are known.
  std::weak_ptr<Job> weak = job;
  absl::StatusOr<EventLoop::WatchId> id;
  {
    absl::MutexLock l(&job->mu);
    // A byte on the FIFO: the output grew while a reader waited.
    id = loop_->AddFd(job->notify.get(), EPOLLIN, [this, weak] {
      if (std::shared_ptr<Job> j = weak.lock()) OnNotify(j);
    });
    if (id.ok()) {
      job->notify_watch = *id;
      // Readable once the monitor has ended: the job's end is recorded.
      id = loop_->AddFd(job->monitor_pidfd.get(), EPOLLIN, [this, weak] {
        if (std::shared_ptr<Job> j = weak.lock()) OnMonitorExit(j);
      });
      if (id.ok()) job->pidfd_watch = *id;
    }
  }
  if (id.ok()) return absl::OkStatus();
  // The kernel is out of epoll memory: the job cannot be followed, so it
  // must not run. Kill it, wait for its monitor, clean up.
  SignalTree(*job, SIGKILL).IgnoreError();
  if (job->own_child) {
    siginfo_t si;
    while (waitid(static_cast<idtype_t>(P_PIDFD), job->monitor_pidfd.get(), &si,
                  WEXITED) < 0 &&
           errno == EINTR) {
    }
  }
  CleanUp(job->id, job->state);
  {
    absl::MutexLock l(&mu_);
    jobs_.erase(job->id);
  }
  return id.status();
}

std::shared_ptr<LinuxProcessHost::Job> LinuxProcessHost::FindJob(
    const std::string& job_id) {
  absl::MutexLock l(&mu_);
  auto it = jobs_.find(job_id);
  return it == jobs_.end() ? nullptr : it->second;
}

}  // namespace cmdctl

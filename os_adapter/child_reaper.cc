#include "os_adapter/child_reaper.h"

#include <errno.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <utility>

#include "common/errno_status.h"

namespace cmdctl {
namespace {

std::atomic<int> g_sigchld_fd{-1};
std::atomic<bool> g_reaper_taken{false};

void OnSigchld(int) {
  const int saved = errno;
  const int fd = g_sigchld_fd.load(std::memory_order_relaxed);
  if (fd >= 0) {
    const uint64_t one = 1;
    (void)!write(fd, &one, sizeof(one));
  }
  errno = saved;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ChildReaper>> ChildReaper::Create(
    EventLoop* loop) {
  if (g_reaper_taken.exchange(true)) {
    return absl::FailedPreconditionError(
        "only one host per process may reap orphans");
  }
  UniqueFd fd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!fd) {
    g_reaper_taken.store(false);
    return ErrnoStatus(errno, "eventfd", ErrnoCause::kMachinery);
  }
  // From here on the destructor undoes whatever was done.
  std::unique_ptr<ChildReaper> reaper(new ChildReaper(loop, std::move(fd)));
  absl::StatusOr<EventLoop::WatchId> id = loop->AddFd(
      reaper->sigchld_.get(), EPOLLIN, [raw = reaper.get()] { raw->Reap(); });
  if (!id.ok()) return id.status();
  reaper->watch_id_ = *id;
  g_sigchld_fd.store(reaper->sigchld_.get());
  struct sigaction sa = {};
  sa.sa_handler = OnSigchld;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
  if (sigaction(SIGCHLD, &sa, nullptr) != 0) {
    return ErrnoStatus(errno, "sigaction(SIGCHLD)", ErrnoCause::kMachinery);
  }
  if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) {
    return ErrnoStatus(errno, "prctl(PR_SET_CHILD_SUBREAPER)",
                       ErrnoCause::kMachinery);
  }
  reaper->ReapSoon();  // children that ended before the handler was set
  return reaper;
}

ChildReaper::~ChildReaper() {
  loop_->RemoveFd(sigchld_.get(), watch_id_);
  g_sigchld_fd.store(-1);
  signal(SIGCHLD, SIG_DFL);
  prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
  g_reaper_taken.store(false);
}

void ChildReaper::ReapSoon() {
  const uint64_t one = 1;
  (void)!write(sigchld_.get(), &one, sizeof(one));
}

void ChildReaper::Reap() {
  uint64_t count;
  (void)!read(sigchld_.get(), &count, sizeof(count));  // nonblocking
  // Not while a spawn holds the guard: its child is pinned by a pidfd first.
  absl::WriterMutexLock spawn_lock(&spawn_mu_);
  for (;;) {
    siginfo_t si = {};
    if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG) != 0) {
      if (errno == EINTR) continue;
      return;  // ECHILD: no children left
    }
    if (si.si_pid == 0) return;
    // A monitor whose end the host learnt from its pidfd, a helper, or a
    // reparented orphan: reaped, nothing more.
  }
}

}  // namespace cmdctl

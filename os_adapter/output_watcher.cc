#include "os_adapter/output_watcher.h"

#include <errno.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <vector>

#include "common/errno_status.h"

namespace cmdctl {

class OutputWatcher::Target {
 public:
  Target(std::string stdout_path, std::string stderr_path,
         std::function<void()> notify)
      : paths{std::move(stdout_path), std::move(stderr_path)},
        notify(std::move(notify)) {}

  const std::string paths[2];
  const std::function<void()> notify;
  // Guarded by the watcher's mu_: each file's latest wd (-1: none), whether
  // it has fired (its IN_MODIFY was read), and whether the target is closed.
  int wd[2] = {-1, -1};
  bool fired[2] = {false, false};
  bool closed = false;
};

absl::StatusOr<std::unique_ptr<OutputWatcher>> OutputWatcher::Create(
    EventLoop* loop) {
  UniqueFd inotify(inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
  if (!inotify) {
    return ErrnoStatus(errno, "inotify_init1", ErrnoCause::kMachinery);
  }
  std::unique_ptr<OutputWatcher> watcher(
      new OutputWatcher(loop, std::move(inotify)));
  absl::StatusOr<EventLoop::WatchId> id =
      loop->AddFd(watcher->inotify_.get(), EPOLLIN,
                  [raw = watcher.get()] { raw->Drain(); });
  if (!id.ok()) return id.status();
  watcher->watch_id_ = *id;
  return watcher;
}

OutputWatcher::~OutputWatcher() { loop_->RemoveFd(inotify_.get(), watch_id_); }

std::shared_ptr<OutputWatcher::Target> OutputWatcher::NewTarget(
    std::string stdout_path, std::string stderr_path,
    std::function<void()> notify) {
  return std::make_shared<Target>(std::move(stdout_path),
                                  std::move(stderr_path), std::move(notify));
}

absl::Status OutputWatcher::Arm(const std::shared_ptr<Target>& target) {
  // inotify_add_watch on a watch still armed keeps its wd (the mask is
  // replaced, IN_ONESHOT included); after it fired, it makes a new one.
  // But a one-shot watch is removed by the kernel a moment AFTER its
  // IN_MODIFY is queued: re-armed in that gap, add_watch returns the dying
  // watch, which then vanishes and leaves the file unwatched (seen on slow
  // CPUs). So a watch whose event we have read is removed first (EINVAL if
  // the kernel got there already): add_watch then always makes a live one.
  // mu_ is held from inotify_add_watch until by_wd_ knows the wd, so the
  // loop never reads an event for a wd it cannot map.
  absl::MutexLock l(&mu_);
  if (target->closed) return absl::OkStatus();  // ended: its end is due
  for (int s = 0; s < 2; ++s) {
    if (target->wd[s] >= 0 && target->fired[s]) {
      inotify_rm_watch(inotify_.get(), target->wd[s]);
    }
    const int wd = inotify_add_watch(inotify_.get(), target->paths[s].c_str(),
                                     IN_MODIFY | IN_ONESHOT);
    if (wd < 0) {
      // ENOSPC here is the watch limit: a resource, as it should read.
      return ErrnoStatus(errno, "inotify_add_watch on job output",
                         ErrnoCause::kMachinery);
    }
    // A previous wd that fired stays in by_wd_ until its IN_IGNORED.
    target->wd[s] = wd;
    target->fired[s] = false;
    by_wd_[wd] = target;
  }
  return absl::OkStatus();
}

void OutputWatcher::Close(const std::shared_ptr<Target>& target) {
  // A watch still armed is removed (its IN_IGNORED then finds nothing to
  // map); Drain checks `closed` before notifying.
  absl::MutexLock l(&mu_);
  target->closed = true;
  for (int& wd : target->wd) {
    if (wd < 0) continue;
    by_wd_.erase(wd);
    inotify_rm_watch(inotify_.get(), wd);  // EINVAL if it has just fired
    wd = -1;
  }
}

void OutputWatcher::Drain() {
  alignas(struct inotify_event) char buf[8192];
  std::vector<int> modified;
  std::vector<int> removed;  // IN_IGNORED: a one-shot fired, or rm_watch
  bool overflow = false;
  for (;;) {
    const ssize_t n = read(inotify_.get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    for (ssize_t off = 0; off < n;) {
      const auto* ev = reinterpret_cast<const struct inotify_event*>(buf + off);
      if (ev->mask & IN_Q_OVERFLOW) overflow = true;
      if (ev->mask & IN_MODIFY) modified.push_back(ev->wd);
      if (ev->mask & IN_IGNORED) removed.push_back(ev->wd);
      off += static_cast<ssize_t>(sizeof(struct inotify_event) + ev->len);
    }
  }
  std::vector<std::shared_ptr<Target>> fired;
  {
    absl::MutexLock l(&mu_);
    if (overflow) {
      // Events were lost: every target with a watch may have new output,
      // and any of its watches may have fired.
      for (const auto& [wd, target] : by_wd_) {
        fired.push_back(target);
        target->fired[0] = target->fired[1] = true;
      }
    } else {
      for (int wd : modified) {
        auto it = by_wd_.find(wd);
        if (it == by_wd_.end()) continue;
        fired.push_back(it->second);
        for (int s = 0; s < 2; ++s) {
          if (it->second->wd[s] == wd) it->second->fired[s] = true;
        }
      }
    }
    // After the lookups: a wd's IN_IGNORED follows its IN_MODIFY.
    for (int wd : removed) {
      auto it = by_wd_.find(wd);
      if (it == by_wd_.end()) continue;
      for (int& current : it->second->wd) {
        if (current == wd) current = -1;
      }
      by_wd_.erase(it);
    }
  }
  const Target* last = nullptr;
  for (const auto& target : fired) {
    if (target.get() == last) continue;  // coalesce runs of the same target
    last = target.get();
    bool closed;
    {
      absl::MutexLock l(&mu_);
      closed = target->closed;
    }
    if (!closed) target->notify();
  }
}

}  // namespace cmdctl

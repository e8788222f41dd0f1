#include "rpc/connection_table.h"

#include <sys/stat.h>

#include <vector>

namespace cmdctl {

ConnectionTable::Verdict ConnectionTable::Admit(int fd, const std::string& peer,
                                                absl::Time now) {
  struct stat st;
  absl::MutexLock lock(&mu_);
  // The kernel gave us this fd number, so whatever the table knew under it
  // was closed.
  Erase(fd);
  if (!Fits(peer) && now - last_sweep_ >= min_sweep_interval_) {
    last_sweep_ = now;
    SweepLocked();
  }
  if (max_total_ > 0 && static_cast<int64_t>(by_fd_.size()) >= max_total_) {
    return Verdict::kTooManyInAll;
  }
  if (!Fits(peer)) return Verdict::kTooManyFromPeer;
  Entry entry;
  entry.peer = peer;
  if (fstat(fd, &st) == 0) {
    entry.dev = st.st_dev;
    entry.ino = st.st_ino;
  }
  by_fd_.emplace(fd, std::move(entry));
  ++per_peer_[peer];
  return Verdict::kAdmitted;
}

bool ConnectionTable::Fits(const std::string& peer) const {
  if (max_total_ > 0 && static_cast<int64_t>(by_fd_.size()) >= max_total_) {
    return false;
  }
  if (max_per_peer_ <= 0) return true;
  auto it = per_peer_.find(peer);
  return it == per_peer_.end() || it->second < max_per_peer_;
}

void ConnectionTable::Erase(int fd) {
  auto it = by_fd_.find(fd);
  if (it == by_fd_.end()) return;
  auto peer = per_peer_.find(it->second.peer);
  if (peer != per_peer_.end() && --peer->second <= 0) per_peer_.erase(peer);
  by_fd_.erase(it);
}

void ConnectionTable::SweepLocked() {
  std::vector<int> gone;
  for (const auto& [fd, entry] : by_fd_) {
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode) ||
        st.st_dev != entry.dev || st.st_ino != entry.ino) {
      gone.push_back(fd);
    }
  }
  for (int fd : gone) Erase(fd);
}

int64_t ConnectionTable::Sweep() {
  absl::MutexLock lock(&mu_);
  SweepLocked();
  return static_cast<int64_t>(by_fd_.size());
}

int64_t ConnectionTable::size() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int64_t>(by_fd_.size());
}

int64_t ConnectionTable::CountFrom(const std::string& peer) const {
  absl::MutexLock lock(&mu_);
  auto it = per_peer_.find(peer);
  return it == per_peer_.end() ? 0 : it->second;
}

}  // namespace cmdctl

// UniqueFd: the one owner of a file descriptor (closed on destruction, never
// by hand). Move-only.
#ifndef CMDCTL_COMMON_UNIQUE_FD_H_
#define CMDCTL_COMMON_UNIQUE_FD_H_

#include <errno.h>
#include <unistd.h>

#include <utility>

namespace cmdctl {

class UniqueFd {
 public:
  UniqueFd() = default;
  // Takes ownership of `fd` (-1: none).
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { reset(); }

  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  explicit operator bool() const { return valid(); }

  // Gives the fd up without closing it.
  int release() { return std::exchange(fd_, -1); }

  // Closes the fd held (errno kept as it was) and takes `fd` instead.
  void reset(int fd = -1) {
    if (fd_ >= 0) {
      const int saved = errno;
      ::close(fd_);
      errno = saved;
    }
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

}  // namespace cmdctl

#endif  // CMDCTL_COMMON_UNIQUE_FD_H_

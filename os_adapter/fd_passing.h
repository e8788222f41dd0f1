// Passing file descriptors over the host<->launcher socket (SCM_RIGHTS).
// Shared by LinuxProcessHost and cmdctl-launcher so the control-message code
// exists once.
#ifndef CMDCTL_OS_ADAPTER_FD_PASSING_H_
#define CMDCTL_OS_ADAPTER_FD_PASSING_H_

#include <sys/types.h>
#include <sys/uio.h>

#include <cstddef>
#include <vector>

namespace cmdctl {

// The most fds one message carries.
inline constexpr size_t kMaxPassedFds = 4;

// One sendmsg of `iov` with `fds` (at most kMaxPassedFds; may be empty)
// attached, MSG_NOSIGNAL, retried on EINTR. Returns the bytes sent (possibly
// fewer than asked) or -1 with errno set.
ssize_t SendWithFds(int sock, const struct iovec* iov, size_t iov_count,
                    const int* fds, size_t fd_count);

// One recvmsg of up to `len` bytes (MSG_WAITALL, retried on EINTR); the fds
// attached to them are received close-on-exec and appended to *fds. Returns
// the bytes received (0 at EOF) or -1 with errno set; *truncated is set when
// the sender attached more fds than fit (they are then lost).
ssize_t ReceiveWithFds(int sock, void* buf, size_t len, std::vector<int>* fds,
                       bool* truncated);

}  // namespace cmdctl

#endif  // CMDCTL_OS_ADAPTER_FD_PASSING_H_

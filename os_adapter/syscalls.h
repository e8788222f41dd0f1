// Thin wrappers of the system calls glibc 2.36 has no function for. Each
// returns what the system call returns (-1 with errno set on failure).
#ifndef CMDCTL_OS_ADAPTER_SYSCALLS_H_
#define CMDCTL_OS_ADAPTER_SYSCALLS_H_

#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

namespace cmdctl {

// A pidfd of `pid` (close-on-exec, as every pidfd is).
inline int PidfdOpen(pid_t pid) {
  return static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
}

inline int PidfdSendSignal(int pidfd, int sig) {
  return static_cast<int>(
      syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0));
}

}  // namespace cmdctl

#endif  // CMDCTL_OS_ADAPTER_SYSCALLS_H_

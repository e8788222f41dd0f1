// What the Linux host needs to find one of its jobs again, possibly after a
// restart of the server: the job's monitor (pid plus its start time, so a
// recycled pid is never taken for it, and the boot it ran in), the run-as
// user and where the output lives, the identity (device, inode, file handle)
// of the two output files, and the job's cgroup. ProcessHost::Start returns it
// encoded (StartedProcess::host_state); the domain keeps it in the job's
// record.
#ifndef CMDCTL_OS_ADAPTER_HOST_JOB_STATE_H_
#define CMDCTL_OS_ADAPTER_HOST_JOB_STATE_H_

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace cmdctl {

struct HostJobState {
  // The monitor (cmdctl-launcher) that is the job's parent.
  int monitor_pid = 0;
  uint64_t monitor_start = 0;  // /proc/<pid>/stat starttime (clock ticks)
  std::string boot_id;         // /proc/sys/kernel/random/boot_id
  // The run-as user.
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::string login;
  std::string home;
  // Empty: ~/.local/state/cmdctl/jobs/<job_id>; else <output_dir>/<job_id>.
  std::string output_dir;
  // Empty: no cgroup (process group fallback); else the cgroup v2
  // directory holding the job's cgroup <cgroup_parent>/<job_id>.
  std::string cgroup_parent;
  // The output files as created (stdout, stderr).
  uint64_t dev[2] = {0, 0};
  uint64_t ino[2] = {0, 0};
  // Their file handles (FileHandleOf): an inode number is reused once its
  // file is removed, a handle is not (it holds the inode's generation).
  // Empty where the file system gives no handle, and in states written
  // before handles were kept: then device and inode alone are checked.
  std::string handle[2];
};

// The file handle of the file behind `fd` (name_to_handle_at: its type and
// bytes, hex), "" when its file system has none. Two files of one file
// system with the same handle are the same file (the kernel's NFS export
// identity: inode number and generation on ext4, xfs, btrfs and tmpfs).
std::string FileHandleOf(int fd);

// "key=value" lines, values C-escaped.
std::string EncodeHostJobState(const HostJobState& state);
// INVALID_ARGUMENT for text EncodeHostJobState did not write.
absl::StatusOr<HostJobState> DecodeHostJobState(const std::string& text);

// The start time of process `pid` (field 22 of /proc/<pid>/stat, in clock
// ticks since boot): with the pid, it names one process for the whole boot.
// NOT_FOUND when there is no such process.
absl::StatusOr<uint64_t> ProcessStartTime(pid_t pid);

// This boot's id (/proc/sys/kernel/random/boot_id), or "" if unreadable.
std::string BootId();

}  // namespace cmdctl

#endif  // CMDCTL_OS_ADAPTER_HOST_JOB_STATE_H_

// LinuxProcessHost: reading and removing a job's stored output.
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

absl::StatusOr<std::pair<UniqueFd, UniqueFd>> LinuxProcessHost::ReopenOutput(
    const std::string& job_id, const HostJobState& state) {
  LaunchRequest request =
      UserRequest(job_id, state, LaunchRequest::kOpenOutput);
  LaunchContext context = LauncherContext();
  if (request.has_output_dir_fd) {
    if (state.output_dir != options_.output_dir) {
      return absl::DataLossError(
          absl::StrCat("the job's output is under ", state.output_dir,
                       ", which is no longer this server's --output_dir"));
    }
    context.attach_fds.push_back(output_dir_.get());
  }
  absl::StatusOr<std::vector<UniqueFd>> fds = RunLauncherTask(request, context);
  RefillLaunchers();
  if (!fds.ok()) {
    if (absl::IsResourceExhausted(fds.status())) return fds.status();
    return absl::DataLossError(absl::StrCat(
        "the job's output files cannot be opened: ", fds.status().message()));
  }
  for (int s = 0; s < 2; ++s) {
    struct stat st;
    // The same inode number is not enough: a file made after the job's was
    // removed may get it (the handle holds the inode's generation too).
    if (fstat((*fds)[s].get(), &st) != 0 || st.st_dev != state.dev[s] ||
        st.st_ino != state.ino[s] ||
        (!state.handle[s].empty() &&
         FileHandleOf((*fds)[s].get()) != state.handle[s])) {
      return absl::DataLossError(
          absl::StrCat("the job's ", s == 0 ? "stdout" : "stderr",
                       " file was replaced by its owner: the output is lost"));
    }
  }
  return std::make_pair(std::move((*fds)[0]), std::move((*fds)[1]));
}

absl::StatusOr<std::unique_ptr<OutputReader>> LinuxProcessHost::OpenOutput(
    const OutputSource& source) {
  if (!source.ended) {
    std::shared_ptr<Job> job = FindJob(source.job_id);
    if (job == nullptr) {
      return absl::NotFoundError(absl::StrCat("no job ", source.job_id));
    }
    if (job->output == nullptr) return job->output_error;
    return std::unique_ptr<OutputReader>(new FileOutputReader(job->output));
  }
  absl::StatusOr<HostJobState> state = DecodeHostJobState(source.host_state);
  if (!state.ok()) return state.status();
  absl::StatusOr<std::pair<UniqueFd, UniqueFd>> files =
      ReopenOutput(source.job_id, *state);
  if (!files.ok()) return files.status();
  auto output = std::make_shared<JobOutputFiles>(
      std::move(files->first), std::move(files->second), *source.ended);
  return std::unique_ptr<OutputReader>(new FileOutputReader(output));
}

absl::Status LinuxProcessHost::RemoveOutput(const std::string& job_id,
                                            const std::string& host_state) {
  absl::StatusOr<HostJobState> state = DecodeHostJobState(host_state);
  if (!state.ok()) return state.status();
  LaunchRequest request =
      UserRequest(job_id, *state, LaunchRequest::kRemoveOutput);
  LaunchContext context = LauncherContext();
  if (request.has_output_dir_fd) {
    if (state->output_dir != options_.output_dir) {
      return absl::FailedPreconditionError(
          absl::StrCat("the job's output is under ", state->output_dir,
                       ", which is no longer this server's --output_dir"));
    }
    context.attach_fds.push_back(output_dir_.get());
  }
  absl::StatusOr<std::vector<UniqueFd>> done =
      RunLauncherTask(request, context);
  RefillLaunchers();
  if (!done.ok()) return done.status();
  if (request.has_output_dir_fd &&
      unlinkat(output_dir_.get(), job_id.c_str(), AT_REMOVEDIR) != 0 &&
      errno != ENOENT) {
    return ErrnoStatus(errno, "removing the job's output directory",
                       ErrnoCause::kMachinery);
  }
  return absl::OkStatus();
}

}  // namespace cmdctl

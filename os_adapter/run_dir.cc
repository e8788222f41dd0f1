#include "os_adapter/run_dir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "common/errno_status.h"
#include "common/file_util.h"

namespace cmdctl {
namespace {

constexpr int kDirFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW;
constexpr ErrnoCause kOurs = ErrnoCause::kMachinery;
constexpr const char* kJobFiles[] = {kStatusFileName,    kEndFileName,
                                     kHostStateFileName, kNotifyFifoName,
                                     "end.tmp",          "host_state.tmp"};

}  // namespace

absl::StatusOr<std::unique_ptr<RunDirectory>> RunDirectory::Open(
    const std::string& state_dir) {
  absl::StatusOr<UniqueFd> state = OpenAt(AT_FDCWD, state_dir, kDirFlags);
  if (!state.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot open --state_dir: ", state.status().message()));
  }
  struct stat st;
  if (fstat(state->get(), &st) != 0 || st.st_uid != geteuid() ||
      (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "--state_dir ", state_dir,
        " must be owned by this server's user and writable by nobody else"));
  }
  if (mkdirat(state->get(), "jobs", 0700) != 0 && errno != EEXIST) {
    return ErrnoStatus(errno, absl::StrCat("creating ", state_dir, "/jobs"),
                       kOurs);
  }
  absl::StatusOr<UniqueFd> jobs = OpenAt(state->get(), "jobs", kDirFlags);
  if (!jobs.ok()) return jobs.status();
  return std::unique_ptr<RunDirectory>(new RunDirectory(*std::move(jobs)));
}

absl::StatusOr<UniqueFd> RunDirectory::Create(const std::string& job_id) {
  if (mkdirat(dir_.get(), job_id.c_str(), 0700) != 0) {
    return ErrnoStatus(errno, "creating the job's state directory",
                       errno == EEXIST ? ErrnoCause::kRequest : kOurs);
  }
  absl::StatusOr<UniqueFd> dir =
      OpenAt(dir_.get(), job_id, kDirFlags, 0, kOurs);
  if (!dir.ok()) unlinkat(dir_.get(), job_id.c_str(), AT_REMOVEDIR);
  return dir;
}

absl::StatusOr<UniqueFd> RunDirectory::OpenJob(const std::string& job_id) {
  return OpenAt(dir_.get(), job_id, kDirFlags, 0,
                ErrnoCause::kRequest);  // ENOENT: NOT_FOUND
}

absl::Status RunDirectory::Remove(const std::string& job_id) {
  absl::StatusOr<UniqueFd> dir = OpenJob(job_id);
  if (!dir.ok()) {
    return dir.status().code() == absl::StatusCode::kNotFound ? absl::OkStatus()
                                                              : dir.status();
  }
  for (const char* name : kJobFiles) unlinkat(dir->get(), name, 0);
  if (unlinkat(dir_.get(), job_id.c_str(), AT_REMOVEDIR) != 0 &&
      errno != ENOENT) {
    return ErrnoStatus(errno, "removing the job's state directory", kOurs);
  }
  return absl::OkStatus();
}

std::vector<std::string> RunDirectory::List() {
  std::vector<std::string> ids;
  const int fd = openat(dir_.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ids;
  DIR* d = fdopendir(fd);
  if (d == nullptr) {
    close(fd);
    return ids;
  }
  while (struct dirent* e = readdir(d)) {
    const std::string name = e->d_name;
    if (name != "." && name != "..") ids.push_back(name);
  }
  closedir(d);
  return ids;
}

absl::Status RunDirectory::WriteHostState(int job_dir,
                                          const std::string& text) {
  absl::StatusOr<UniqueFd> fd = OpenAt(
      job_dir, "host_state.tmp", O_WRONLY | O_CREAT | O_TRUNC, 0600, kOurs);
  if (!fd.ok()) return fd.status();
  if (!WriteAll(fd->get(), text)) {
    return ErrnoStatus(errno, "writing the job's host state", kOurs);
  }
  if (renameat(job_dir, "host_state.tmp", job_dir, kHostStateFileName) != 0) {
    return ErrnoStatus(errno, "writing the job's host state", kOurs);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> RunDirectory::ReadHostState(int job_dir) {
  return ReadFileToString(job_dir, kHostStateFileName, 1 << 16);
}

std::optional<EndReport> RunDirectory::ReadEnd(int job_dir) {
  absl::StatusOr<std::string> text =
      ReadFileToString(job_dir, kEndFileName, 1 << 16);
  if (!text.ok()) return std::nullopt;
  return DecodeEndReport(*text);
}

absl::StatusOr<UniqueFd> RunDirectory::OpenNotify(int job_dir) {
  return OpenAt(job_dir, kNotifyFifoName, O_RDONLY | O_NONBLOCK | O_NOFOLLOW, 0,
                kOurs);
}

absl::StatusOr<std::shared_ptr<MonitorStatusPage>> MonitorStatusPage::Map(
    int job_dir) {
  absl::StatusOr<UniqueFd> fd =
      OpenAt(job_dir, kStatusFileName, O_RDWR | O_NOFOLLOW);
  if (!fd.ok()) return fd.status();
  struct stat st;
  if (fstat(fd->get(), &st) != 0 ||
      st.st_size != static_cast<off_t>(kStatusFileSize)) {
    return absl::InternalError("the job's status page has the wrong size");
  }
  void* page = mmap(nullptr, kStatusFileSize, PROT_READ | PROT_WRITE,
                    MAP_SHARED, fd->get(), 0);
  if (page == MAP_FAILED) {
    return ErrnoStatus(errno, "mapping the job's status page", kOurs);
  }
  auto* status = static_cast<MonitorStatus*>(page);
  if (status->magic != MonitorStatus::kMagic ||
      status->size != sizeof(MonitorStatus)) {
    munmap(page, kStatusFileSize);
    return absl::InternalError("the job's status page is not one");
  }
  return std::shared_ptr<MonitorStatusPage>(new MonitorStatusPage(status));
}

MonitorStatusPage::~MonitorStatusPage() { munmap(status_, kStatusFileSize); }

}  // namespace cmdctl

#include "cli/session.h"

#include <errno.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "common/file_util.h"

namespace cmdctl::cli {

int Report(const Failure& failure) {
  WriteAll(STDERR_FILENO, failure.message + "\n");
  return failure.exit_code;
}

int ReportRpc(const grpc::Status& status, const Session& session,
              const std::string& job_id) {
  Failure failure = FailureFromRpc(
      status,
      CallContext{session.server, job_id, /*connected=*/true, session.verbose});
  failure.exit_code = session.failure_exit;
  return Report(failure);
}

int ReportOwnFailure(const Session& session, absl::string_view message) {
  return Report(
      Failure{session.failure_exit, absl::StrCat("cmdctl: ", message)});
}

bool PrintStdout(absl::string_view text) {
  return WriteAll(STDOUT_FILENO, text);
}

bool WriteJobOutput(cmdctl::v1::OutputStream stream, absl::string_view data,
                    int* write_errno) {
  const int fd = stream == cmdctl::v1::OUTPUT_STREAM_STDERR ? STDERR_FILENO
                                                            : STDOUT_FILENO;
  if (WriteAll(fd, data)) return true;
  *write_errno = errno;
  return false;
}

}  // namespace cmdctl::cli

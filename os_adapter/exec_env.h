// Pure helpers shared by the host and the launcher: the job's clean
// environment (SPEC §5) and the execvp-like program search. No syscalls.
#ifndef CMDCTL_OS_ADAPTER_EXEC_ENV_H_
#define CMDCTL_OS_ADAPTER_EXEC_ENV_H_

#include <string>
#include <utility>
#include <vector>

namespace cmdctl {

inline constexpr char kCleanPath[] = "/usr/local/bin:/usr/bin:/bin";

// HOME, USER, LOGNAME, SHELL (/bin/sh when `shell` is empty) and
// PATH=kCleanPath, then `extra` in order; a key of `extra` that is already
// present replaces the value in place (the last one wins). "KEY=VALUE".
std::vector<std::string> BuildEnvironment(
    const std::string& login, const std::string& home, const std::string& shell,
    const std::vector<std::pair<std::string, std::string>>& extra);

// The value of `key` in a "KEY=VALUE" list; `fallback` when absent.
std::string EnvValue(const std::vector<std::string>& envp,
                     const std::string& key, const std::string& fallback);

// The paths execvp would try for `program`: itself when it contains '/',
// else <dir>/<program> for every dir of `path` (an empty entry meaning the
// working directory, as POSIX says).
std::vector<std::string> ExecCandidates(const std::string& program,
                                        const std::string& path);

// Folds the errno of each failed execve into the one to report, with
// execvp's precedence: a candidate that exists but cannot be executed
// (EACCES) beats "not found" in other directories; an error other than
// the "not here" kind stops the search.
class ExecSearch {
 public:
  // Records a failed execve; returns true when the next candidate should be
  // tried.
  bool Failed(int err);
  // The errno to report once the search stopped (ENOENT if nothing failed).
  int Error() const;

 private:
  bool saw_eacces_ = false;
  int last_ = 0;
  bool stopped_ = false;
};

}  // namespace cmdctl

#endif  // CMDCTL_OS_ADAPTER_EXEC_ENV_H_

#include "os_adapter/exec_env.h"

#include <cerrno>

namespace cmdctl {

std::vector<std::string> BuildEnvironment(
    const std::string& login, const std::string& home, const std::string& shell,
    const std::vector<std::pair<std::string, std::string>>& extra) {
  std::vector<std::pair<std::string, std::string>> kv = {
      {"HOME", home},       {"USER", login},
      {"LOGNAME", login},   {"SHELL", shell.empty() ? "/bin/sh" : shell},
      {"PATH", kCleanPath},
  };
  for (const auto& [key, value] : extra) {
    bool replaced = false;
    for (auto& entry : kv) {
      if (entry.first == key) {
        entry.second = value;
        replaced = true;
        break;
      }
    }
    if (!replaced) kv.emplace_back(key, value);
  }
  std::vector<std::string> envp;
  envp.reserve(kv.size());
  for (const auto& [key, value] : kv) envp.push_back(key + "=" + value);
  return envp;
}

std::string EnvValue(const std::vector<std::string>& envp,
                     const std::string& key, const std::string& fallback) {
  const std::string prefix = key + "=";
  for (const std::string& entry : envp) {
    if (entry.compare(0, prefix.size(), prefix) == 0) {
      return entry.substr(prefix.size());
    }
  }
  return fallback;
}

std::vector<std::string> ExecCandidates(const std::string& program,
                                        const std::string& path) {
  if (program.find('/') != std::string::npos) return {program};
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    const size_t end = path.find(':', start);
    std::string dir = path.substr(
        start, end == std::string::npos ? std::string::npos : end - start);
    if (dir.empty()) dir = ".";
    out.push_back(dir + "/" + program);
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return out;
}

bool ExecSearch::Failed(int err) {
  last_ = err;
  switch (err) {
    case EACCES:
      saw_eacces_ = true;
      return true;
    case ENOENT:
    case ENOTDIR:
    case ESTALE:
    case ENODEV:
    case ETIMEDOUT:
      return true;
    default:
      stopped_ = true;
      return false;
  }
}

int ExecSearch::Error() const {
  if (stopped_) return last_;
  if (saw_eacces_) return EACCES;
  return last_ == 0 ? ENOENT : last_;
}

}  // namespace cmdctl

#include "os_adapter/launch_protocol.h"

#include <cstring>

namespace cmdctl {
namespace {

constexpr uint32_t kMagic = 0x636d6432;  // "cmd2"

void PutU32(std::string& out, uint32_t v) {
  char b[4];
  std::memcpy(b, &v, 4);
  out.append(b, 4);
}

void PutI64(std::string& out, int64_t v) {
  char b[8];
  std::memcpy(b, &v, 8);
  out.append(b, 8);
}

void PutString(std::string& out, const std::string& s) {
  PutU32(out, static_cast<uint32_t>(s.size()));
  out.append(s);
}

void PutStrings(std::string& out, const std::vector<std::string>& v) {
  PutU32(out, static_cast<uint32_t>(v.size()));
  for (const std::string& s : v) PutString(out, s);
}

class Reader {
 public:
  explicit Reader(const std::string& bytes) : bytes_(bytes) {}

  bool U32(uint32_t& v) {
    if (bytes_.size() - pos_ < 4) return false;
    std::memcpy(&v, bytes_.data() + pos_, 4);
    pos_ += 4;
    return true;
  }
  bool I64(int64_t& v) {
    if (bytes_.size() - pos_ < 8) return false;
    std::memcpy(&v, bytes_.data() + pos_, 8);
    pos_ += 8;
    return true;
  }
  bool Bool(bool& v) {
    uint32_t u;
    if (!U32(u) || u > 1) return false;
    v = u == 1;
    return true;
  }
  bool String(std::string& s) {
    uint32_t n;
    if (!U32(n) || bytes_.size() - pos_ < n) return false;
    s.assign(bytes_, pos_, n);
    pos_ += n;
    return true;
  }
  bool Strings(std::vector<std::string>& v) {
    uint32_t n;
    if (!U32(n)) return false;
    // Every string takes at least 4 bytes: reject absurd counts up front.
    if (n > (bytes_.size() - pos_) / 4) return false;
    v.resize(n);
    for (std::string& s : v) {
      if (!String(s)) return false;
    }
    return true;
  }
  bool AtEnd() const { return pos_ == bytes_.size(); }

 private:
  const std::string& bytes_;
  size_t pos_ = 0;
};

}  // namespace

std::string EncodeLaunchRequest(const LaunchRequest& r) {
  std::string out;
  PutU32(out, kMagic);
  PutU32(out, r.mode);
  PutU32(out, r.drop_privileges ? 1 : 0);
  PutU32(out, r.uid);
  PutU32(out, r.gid);
  PutU32(out, static_cast<uint32_t>(r.groups.size()));
  for (uint32_t g : r.groups) PutU32(out, g);
  PutString(out, r.home);
  PutString(out, r.working_dir);
  PutString(out, r.job_id);
  PutString(out, r.program);
  PutStrings(out, r.argv);
  PutStrings(out, r.envp);
  PutI64(out, r.max_output_bytes);
  PutU32(out, r.has_cgroup_parent_fd ? 1 : 0);
  PutU32(out, r.has_output_dir_fd ? 1 : 0);
  PutU32(out, r.has_run_dir_fd ? 1 : 0);
  return out;
}

std::optional<LaunchRequest> DecodeLaunchRequest(const std::string& bytes) {
  Reader in(bytes);
  LaunchRequest r;
  uint32_t magic = 0, ngroups = 0;
  if (!in.U32(magic) || magic != kMagic || !in.U32(r.mode) ||
      r.mode < LaunchRequest::kLaunch ||
      r.mode > LaunchRequest::kRemoveOutput) {
    return std::nullopt;
  }
  if (!in.Bool(r.drop_privileges) || !in.U32(r.uid) || !in.U32(r.gid) ||
      !in.U32(ngroups) || ngroups > 65536) {
    return std::nullopt;
  }
  r.groups.resize(ngroups);
  for (uint32_t& g : r.groups) {
    if (!in.U32(g)) return std::nullopt;
  }
  if (!in.String(r.home) || !in.String(r.working_dir) || !in.String(r.job_id) ||
      !in.String(r.program) || !in.Strings(r.argv) || !in.Strings(r.envp) ||
      !in.I64(r.max_output_bytes) || r.max_output_bytes < 0 ||
      !in.Bool(r.has_cgroup_parent_fd) || !in.Bool(r.has_output_dir_fd) ||
      !in.Bool(r.has_run_dir_fd) || !in.AtEnd()) {
    return std::nullopt;
  }
  return r;
}

const char* LaunchStageName(LaunchStage stage) {
  switch (stage) {
    case LaunchStage::kProtocol:
      return "reading the launch request";
    case LaunchStage::kCgroup:
      return "joining the job's cgroup";
    case LaunchStage::kDropPrivileges:
      return "dropping privileges";
    case LaunchStage::kNoNewPrivs:
      return "setting no_new_privs";
    case LaunchStage::kWorkingDir:
      return "entering the working directory";
    case LaunchStage::kOutput:
      return "creating the output files";
    case LaunchStage::kStdio:
      return "setting up stdin/stdout/stderr";
    case LaunchStage::kExec:
      return "executing the program";
    case LaunchStage::kValidate:
      return "checking the launch request";
    case LaunchStage::kMonitor:
      return "setting up the job's monitor";
    case LaunchStage::kRemove:
      return "removing the output files";
  }
  return "launching";
}

}  // namespace cmdctl

// A cmdctld of the bench's own, beside the one bench/run.sh started: for the
// figures that need other server flags (the output cap) or restarts (job
// records). Its pid is kept in <work_dir>/side-<name>.pid while it runs, so
// that bench/run.sh's trap stops it even if the bench dies.
#ifndef CMDCTL_BENCH_SIDE_SERVER_H_
#define CMDCTL_BENCH_SIDE_SERVER_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "bench/cmdctl_client.h"

namespace cmdctl::bench {

struct SideServerConfig {
  std::string cmdctld;             // The binary.
  std::string cert, key, ca;       // Server TLS files.
  ClientConfig client;             // client.server is filled in per start.
  std::string work_dir;            // State dir, port, pid and log files.
  std::vector<std::string> flags;  // Extra cmdctld flags.
};

class SideServer {
 public:
  SideServer(std::string name, SideServerConfig config);
  ~SideServer();  // Stops it.
  SideServer(const SideServer&) = delete;
  SideServer& operator=(const SideServer&) = delete;

  // What one start took: from just before the spawn of cmdctld until its
  // first ListProcesses (first page, 100) answered on a new connection.
  struct Started {
    double seconds = 0;
    int first_page = 0;  // Records on that first page.
  };
  // Starts cmdctld on its state dir (kept across starts) and connects.
  absl::StatusOr<Started> Start();
  // SIGTERM, then SIGKILL after 10 s; waits for it.
  absl::Status Stop();

  CmdctlClient* client() { return client_.get(); }
  pid_t pid() const { return pid_; }

 private:
  std::string name_;
  SideServerConfig config_;
  pid_t pid_ = 0;
  int starts_ = 0;
  std::unique_ptr<CmdctlClient> client_;
};

}  // namespace cmdctl::bench

#endif  // CMDCTL_BENCH_SIDE_SERVER_H_

// The benchmark's results: one row per figure, printed as a table and saved
// as JSON together with the machine's description.
#ifndef CMDCTL_BENCH_REPORT_H_
#define CMDCTL_BENCH_REPORT_H_

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"

namespace cmdctl::bench {

enum class Better { kLower, kHigher };

// A goal: `value` must be <= (kLower) or >= (kHigher) `limit`. `on_ratio`:
// the goal is on the ratio to the peer rather than on the value.
struct Goal {
  Better better = Better::kLower;
  double limit = 0;
  bool on_ratio = false;
};

struct Row {
  std::string figure;  // "1 start", "2 stream", ...
  std::string metric;  // What cmdctl did, e.g. "RunProcess(true) p50".
  double value = 0;    // NaN: not measured (the side failed or was skipped).
  std::string unit;    // "ms", "GiB/s", "MiB", "s".
  std::string peer;    // What it is compared with; empty: no peer.
  double peer_value = 0;
  Better better = Better::kLower;
  std::optional<Goal> goal;
  std::string note;  // Samples, sizes, anything needed to read the row.

  // value / peer_value (NaN when there is no peer).
  double Ratio() const;
  // "yes", "NO", or "-" when there is no goal or no value.
  std::string Met() const;
  std::string GoalText() const;
};

class Report {
 public:
  void Add(Row row) { rows_.push_back(std::move(row)); }
  void SetInfo(std::string key, std::string value) {
    info_.emplace_back(std::move(key), std::move(value));
  }
  void AddError(std::string error) { errors_.push_back(std::move(error)); }

  // The table, for humans.
  std::string Table() const;
  // Everything, as pretty-printed JSON.
  absl::Status WriteJson(const std::string& path) const;

 private:
  std::vector<Row> rows_;
  std::vector<std::pair<std::string, std::string>> info_;
  std::vector<std::string> errors_;
};

}  // namespace cmdctl::bench

#endif  // CMDCTL_BENCH_REPORT_H_

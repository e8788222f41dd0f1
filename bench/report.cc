#include "bench/report.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <cmath>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace cmdctl::bench {
namespace {

std::string Num(double v) {
  if (std::isnan(v)) return "n/a";
  if (v == 0) return "0";
  double a = std::fabs(v);
  if (a >= 100) return absl::StrFormat("%.0f", v);
  if (a >= 10) return absl::StrFormat("%.1f", v);
  if (a >= 1) return absl::StrFormat("%.2f", v);
  return absl::StrFormat("%.3f", v);
}

google::protobuf::Value NumberValue(double v) {
  google::protobuf::Value out;
  if (std::isnan(v)) {
    out.set_null_value(google::protobuf::NULL_VALUE);
  } else {
    out.set_number_value(v);
  }
  return out;
}

google::protobuf::Value StringValue(const std::string& s) {
  google::protobuf::Value out;
  out.set_string_value(s);
  return out;
}

}  // namespace

double Row::Ratio() const {
  if (peer.empty() || std::isnan(value) || std::isnan(peer_value) ||
      peer_value == 0) {
    return std::nan("");
  }
  return value / peer_value;
}

std::string Row::GoalText() const {
  if (!goal) return "";
  std::string op = goal->better == Better::kLower ? "<=" : ">=";
  if (goal->on_ratio) return absl::StrCat(op, " ", Num(goal->limit), "x");
  return absl::StrCat(op, " ", Num(goal->limit), " ", unit);
}

std::string Row::Met() const {
  if (!goal) return "-";
  double v = goal->on_ratio ? Ratio() : value;
  if (std::isnan(v)) return "-";
  bool ok =
      goal->better == Better::kLower ? v <= goal->limit : v >= goal->limit;
  return ok ? "yes" : "NO";
}

std::string Report::Table() const {
  std::string out;
  absl::StrAppendFormat(&out, "%-10s %-40s %12s  %-34s %12s %8s  %-12s %-4s\n",
                        "figure", "cmdctl", "value", "peer", "peer value",
                        "ratio", "goal", "met");
  for (const Row& r : rows_) {
    std::string ratio = std::isnan(r.Ratio()) ? "" : Num(r.Ratio()) + "x";
    absl::StrAppendFormat(
        &out, "%-10s %-40s %12s  %-34s %12s %8s  %-12s %-4s\n", r.figure,
        r.metric, Num(r.value) + " " + r.unit, r.peer,
        r.peer.empty() ? "" : Num(r.peer_value) + " " + r.unit, ratio,
        r.GoalText(), r.Met());
  }
  for (const std::string& e : errors_)
    absl::StrAppend(&out, "ERROR: ", e, "\n");
  return out;
}

absl::Status Report::WriteJson(const std::string& path) const {
  google::protobuf::Struct root;
  auto& fields = *root.mutable_fields();
  google::protobuf::Struct info;
  for (const auto& [k, v] : info_) (*info.mutable_fields())[k] = StringValue(v);
  *fields["info"].mutable_struct_value() = info;
  auto* rows = fields["rows"].mutable_list_value();
  for (const Row& r : rows_) {
    google::protobuf::Struct row;
    auto& f = *row.mutable_fields();
    f["figure"] = StringValue(r.figure);
    f["metric"] = StringValue(r.metric);
    f["value"] = NumberValue(r.value);
    f["unit"] = StringValue(r.unit);
    f["better"] = StringValue(r.better == Better::kLower ? "lower" : "higher");
    if (!r.peer.empty()) {
      f["peer"] = StringValue(r.peer);
      f["peer_value"] = NumberValue(r.peer_value);
      f["ratio"] = NumberValue(r.Ratio());
    }
    if (r.goal) {
      f["goal"] = StringValue(r.GoalText());
      f["met"] = StringValue(r.Met());
    }
    if (!r.note.empty()) f["note"] = StringValue(r.note);
    *rows->add_values()->mutable_struct_value() = row;
  }
  auto* errors = fields["errors"].mutable_list_value();
  for (const std::string& e : errors_) *errors->add_values() = StringValue(e);

  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  auto st = google::protobuf::util::MessageToJsonString(root, &json, options);
  if (!st.ok()) return absl::InternalError(st.ToString());
  std::ofstream out(path);
  out << json;
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

}  // namespace cmdctl::bench

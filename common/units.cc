#include "common/units.h"

#include <cctype>
#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace cmdctl {
namespace {

absl::Status Bad(absl::string_view what, absl::string_view text,
                 absl::string_view expected) {
  return absl::InvalidArgumentError(
      absl::StrCat(what, ": '", text, "' is not ", expected));
}

// "123.45" -> 12345 with `decimals` = 2; false when malformed or there are
// more than `max_decimals` decimals.
bool ParseFixed(absl::string_view text, int max_decimals, int64_t* units,
                int* decimals) {
  const size_t dot = text.find('.');
  absl::string_view whole = text.substr(0, dot);
  absl::string_view frac =
      dot == absl::string_view::npos ? "" : text.substr(dot + 1);
  if (whole.empty() && frac.empty()) return false;
  if (frac.size() > static_cast<size_t>(max_decimals)) return false;
  if (dot != absl::string_view::npos && frac.empty()) return false;
  for (char c : whole) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  for (char c : frac) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  const std::string digits = absl::StrCat(whole.empty() ? "0" : whole, frac);
  if (digits.size() > 18) return false;
  return absl::SimpleAtoi(digits, units) &&
         ((*decimals = static_cast<int>(frac.size())), true);
}

}  // namespace

absl::StatusOr<int64_t> ParseByteSize(absl::string_view text,
                                      absl::string_view what) {
  constexpr absl::string_view kExpected =
      "a size such as 4096, 512K, 512M or 2G (powers of 1024)";
  absl::string_view s = absl::StripAsciiWhitespace(text);
  std::string lower = absl::AsciiStrToLower(s);
  absl::string_view rest = lower;
  for (absl::string_view suffix : {"ib", "b", "i"}) {
    if (rest.size() > suffix.size() && absl::EndsWith(rest, suffix) &&
        std::isalpha(static_cast<unsigned char>(
            rest[rest.size() - suffix.size() - 1]))) {
      rest.remove_suffix(suffix.size());
      break;
    }
  }
  int shift = 0;
  if (!rest.empty()) {
    switch (rest.back()) {
      case 'k':
        shift = 10;
        break;
      case 'm':
        shift = 20;
        break;
      case 'g':
        shift = 30;
        break;
      case 't':
        shift = 40;
        break;
      default:
        break;
    }
    if (shift != 0) rest.remove_suffix(1);
  }
  int64_t units = 0;
  int decimals = 0;
  if (!ParseFixed(rest, 6, &units, &decimals))
    return Bad(what, text, kExpected);
  int64_t scale = 1;
  for (int i = 0; i < decimals; ++i) scale *= 10;
  // units / scale * 2^shift, exactly.
  const __int128 bytes = (static_cast<__int128>(units) << shift);
  if (bytes % scale != 0) return Bad(what, text, "a whole number of bytes");
  const __int128 value = bytes / scale;
  if (value > std::numeric_limits<int64_t>::max()) {
    return Bad(what, text, kExpected);
  }
  return static_cast<int64_t>(value);
}

absl::StatusOr<int64_t> ParseCpuMillicores(absl::string_view text,
                                           absl::string_view what) {
  int64_t units = 0;
  int decimals = 0;
  if (!ParseFixed(absl::StripAsciiWhitespace(text), 3, &units, &decimals)) {
    return Bad(what, text,
               "a number of CPUs such as 1, 0.5 or 1.5 (at most 3 decimals)");
  }
  for (int i = decimals; i < 3; ++i) units *= 10;
  return units;
}

std::string FormatByteSize(int64_t bytes) {
  constexpr const char* kUnits[] = {"", "K", "M", "G", "T"};
  int unit = 0;
  while (unit < 4 && bytes >= (int64_t{1} << (10 * (unit + 1)))) ++unit;
  const int64_t base = int64_t{1} << (10 * unit);
  if (bytes % base == 0) return absl::StrCat(bytes / base, kUnits[unit]);
  return absl::StrFormat("%.1f%s", static_cast<double>(bytes) / base,
                         kUnits[unit]);
}

std::string FormatCpus(int64_t millicores) {
  std::string out =
      absl::StrFormat("%d.%03d", millicores / 1000, millicores % 1000);
  while (out.back() == '0') out.pop_back();
  if (out.back() == '.') out.pop_back();
  return out;
}

}  // namespace cmdctl

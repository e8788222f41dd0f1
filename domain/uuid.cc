#include "domain/uuid.h"

#include <cstddef>

namespace cmdctl {
namespace {

constexpr char kHex[] = "0123456789abcdef";

bool IsLowerHex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

}  // namespace

std::string FormatUuidV4(std::array<uint8_t, 16> random) {
  random[6] = static_cast<uint8_t>((random[6] & 0x0f) | 0x40);  // version 4
  random[8] = static_cast<uint8_t>((random[8] & 0x3f) | 0x80);  // variant 10xx
  std::string out;
  out.reserve(36);
  for (size_t i = 0; i < random.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[random[i] >> 4]);
    out.push_back(kHex[random[i] & 0x0f]);
  }
  return out;
}

bool IsUuidV4(const std::string& s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash != (s[i] == '-')) return false;
    if (!dash && !IsLowerHex(s[i])) return false;
  }
  const char variant = s[19];
  return s[14] == '4' &&
         (variant == '8' || variant == '9' || variant == 'a' || variant == 'b');
}

}  // namespace cmdctl

// The byte pattern the scale benchmark's job writes, so every follower can
// check that it received every byte, in order.
#ifndef CMDCTL_BENCH_PATTERN_H_
#define CMDCTL_BENCH_PATTERN_H_

#include <cstdint>

namespace cmdctl::bench {

// Byte `offset` of the pattern: not periodic at any power of two, so a lost
// or repeated chunk shows.
inline uint8_t PatternByte(uint64_t offset) {
  return static_cast<uint8_t>((offset * 131 + offset / 251) % 251);
}

}  // namespace cmdctl::bench

#endif  // CMDCTL_BENCH_PATTERN_H_

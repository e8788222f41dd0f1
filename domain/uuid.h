// Job ids: random UUIDs, version 4 (RFC 4122). The random bytes come from the
// caller (a CSPRNG in os_adapter/), so the domain stays free of OS calls.
#ifndef CMDCTL_DOMAIN_UUID_H_
#define CMDCTL_DOMAIN_UUID_H_

#include <array>
#include <cstdint>
#include <string>

namespace cmdctl {

// Sets the version (4) and variant (10xx) bits of `random` and formats it as
// 8-4-4-4-12 lower-case hex.
std::string FormatUuidV4(std::array<uint8_t, 16> random);

// True for a lower-case 8-4-4-4-12 UUID with version 4 and variant 10xx.
bool IsUuidV4(const std::string& s);

}  // namespace cmdctl

#endif  // CMDCTL_DOMAIN_UUID_H_

#include "os_adapter/random_id.h"

#include <openssl/rand.h>

#include <array>
#include <cstdint>

#include "domain/uuid.h"
#include "glog/logging.h"

namespace cmdctl {

std::string NewJobId() {
  std::array<uint8_t, 16> bytes;
  CHECK_EQ(RAND_bytes(bytes.data(), static_cast<int>(bytes.size())), 1)
      << "OpenSSL RAND_bytes failed";
  return FormatUuidV4(bytes);
}

}  // namespace cmdctl

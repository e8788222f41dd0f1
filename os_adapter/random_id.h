// Job ids from a CSPRNG.
#ifndef CMDCTL_OS_ADAPTER_RANDOM_ID_H_
#define CMDCTL_OS_ADAPTER_RANDOM_ID_H_

#include <string>

namespace cmdctl {

// A random UUID version 4 from OpenSSL's RAND_bytes (a CSPRNG seeded by the
// kernel). Aborts (CHECK) if the CSPRNG cannot deliver: a guessable id is
// worse than no service.
std::string NewJobId();

}  // namespace cmdctl

#endif  // CMDCTL_OS_ADAPTER_RANDOM_ID_H_

// cmdctl: the command-line client of cmdctld. See cli/app.h.
#include <malloc.h>

#include <string>
#include <vector>

#include "cli/app.h"
#include "cli/process_exit.h"

int main(int argc, char** argv) {
  // A streamed message's buffers (up to 256 KiB each, several per message)
  // are allocated and freed for every message. With glibc's defaults each
  // cycle returned the top of the heap to the kernel (brk down, a TLB
  // shootdown) and faulted it in again: ~40% of the client's system time
  // when streaming (docs/BENCHMARKS.md, "The client"). Keep freed memory
  // for reuse instead; the CLI's heap stays a few MiB.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 64 << 20);
  cmdctl::cli::ExitWithoutTeardown(
      cmdctl::cli::Main(std::vector<std::string>(argv, argv + argc)));
}

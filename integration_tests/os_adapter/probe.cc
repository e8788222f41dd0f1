// A tiny program the integration tests run as a job.
//   probe fds    prints the numbers of its open fds (checked before it opens
//                anything), space-separated, then a newline;
//   probe bytes  writes the 256 byte values 0..255 to stdout and 255..0 to
//                stderr, with no newline.
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

int main(int argc, char** argv) {
  if (argc == 2 && std::strcmp(argv[1], "fds") == 0) {
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    std::string out;
    for (rlim_t fd = 0; fd < rl.rlim_cur && fd < (1u << 20); ++fd) {
      if (fcntl(static_cast<int>(fd), F_GETFD) != -1) {
        if (!out.empty()) out += ' ';
        out += std::to_string(fd);
      }
    }
    out += '\n';
    return write(1, out.data(), out.size()) == static_cast<ssize_t>(out.size())
               ? 0
               : 1;
  }
  if (argc == 2 && std::strcmp(argv[1], "bytes") == 0) {
    unsigned char up[256], down[256];
    for (int i = 0; i < 256; ++i) {
      up[i] = static_cast<unsigned char>(i);
      down[i] = static_cast<unsigned char>(255 - i);
    }
    if (write(1, up, 256) != 256 || write(2, down, 256) != 256) return 1;
    return 0;
  }
  std::fprintf(stderr, "usage: probe fds|bytes\n");
  return 2;
}

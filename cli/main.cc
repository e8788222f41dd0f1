// cmdctl: the command-line client of cmdctld. See cli/app.h.
#include <string>
#include <vector>

#include "cli/app.h"
#include "cli/process_exit.h"

int main(int argc, char** argv) {
  cmdctl::cli::ExitWithoutTeardown(
      cmdctl::cli::Main(std::vector<std::string>(argv, argv + argc)));
}

// cmdctl's flags. gflags defines them (it parses and checks every value), but
// args.h finds them on the command line: gflags would take a flag from
// anywhere in argv, including a job's own arguments.
#ifndef CMDCTL_CLI_FLAGS_H_
#define CMDCTL_CLI_FLAGS_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "cli/args.h"
#include "gflags/gflags.h"

// Global flags (before the command).
DECLARE_string(server);
DECLARE_string(cert);
DECLARE_string(key);
DECLARE_string(ca);

// Command flags.
DECLARE_string(as);
DECLARE_bool(wait);
DECLARE_string(workdir);
DECLARE_string(env);
DECLARE_bool(follow);
DECLARE_string(output);
DECLARE_string(grace);
DECLARE_string(memory);
DECLARE_string(cpus);
DECLARE_string(pids_limit);
DECLARE_string(io_read_bps);
DECLARE_string(io_write_bps);
DECLARE_string(timeout);
DECLARE_string(tail);
DECLARE_string(state);

namespace cmdctl::cli {

// The flags that go before COMMAND, in the order help lists them.
const std::vector<std::string>& GlobalFlagNames();

// What args.h needs to know of `names`: whether each is boolean.
FlagTable FlagTableOf(const std::vector<std::string>& names);

// The gflags name of a flag as written on the command line: `pids-limit`
// is gflags' `pids_limit` (C++ names have no dashes).
std::string GflagsName(const std::string& name);

// gflags' description of one of our flags (name, type, default, help text).
gflags::CommandLineFlagInfo FlagInfo(const std::string& name);

// The value of a flag the user gave; nullopt when it kept its default.
std::optional<std::string> ExplicitFlag(const std::string& name);

// The values of the repeatable flags, which gflags keeps only the last of.
struct RepeatedFlags {
  std::map<std::string, std::string> env;  // --env=KEY=VALUE...
};

// Sets `flags` through gflags, which checks each value. INVALID_ARGUMENT
// (a usage error) naming the flag and the value it refused.
absl::StatusOr<RepeatedFlags> ApplyFlags(const std::vector<FlagArg>& flags);

}  // namespace cmdctl::cli

#endif  // CMDCTL_CLI_FLAGS_H_

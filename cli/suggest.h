// "Did you mean ...?" for mistyped commands and flags.
#ifndef CMDCTL_CLI_SUGGEST_H_
#define CMDCTL_CLI_SUGGEST_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace cmdctl::cli {

// The candidate closest to `word` by edit distance (insertions, deletions,
// substitutions and swaps of neighbours), if it is close enough to be a
// typo of it: at most 2 edits, and fewer than `word` has letters. The first
// of equally close candidates wins.
std::optional<std::string> NearestName(
    absl::string_view word, const std::vector<std::string>& candidates);

}  // namespace cmdctl::cli

#endif  // CMDCTL_CLI_SUGGEST_H_

#pragma once
// The one terminfo fact the client needs: how many colours TERM has (`mosh-client -c`,
// which the launcher passes to the server as -c). Read from the compiled terminfo
// database, so that an unknown TERM is an error instead of a guess.

#include <optional>
#include <string>
#include <vector>

#include "mosh2/util/bytes.hpp"
#include "mosh2/util/result.hpp"

namespace mosh2::os {

/// The `colors` number of a compiled terminfo entry (legacy 16-bit or ncurses 6
/// 32-bit format): its value, -1 when absent (as tigetnum reports it), or nothing when
/// the bytes are not a terminfo entry.
std::optional<int> terminfo_colors(bytes_view entry);

/// The directories searched for `term`, in ncurses' order: $TERMINFO, ~/.terminfo,
/// $TERMINFO_DIRS (an empty element is the system list), then /etc/terminfo,
/// /lib/terminfo, /usr/share/terminfo.
std::vector<std::string> terminfo_dirs(const char* terminfo, const char* home, const char* terminfo_dirs);

/// The colour count of `term`, looked up in `dirs`; the error is one line.
result<int, std::string> colors_of(const std::string& term, const std::vector<std::string>& dirs);

}  // namespace mosh2::os

#pragma once
// What the client reads from the compiled terminfo database: how many colours TERM has
// (`mosh-client -c`, which the launcher passes to the server as -c), so that an unknown
// TERM is an error instead of a guess; and the extended capabilities Smulx and Setulc
// (underline styles and colours), which decide how the local terminal is drawn.

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "mosh2/terminal/terminal_profile.hpp"

#include "mosh2/util/bytes.hpp"
#include "mosh2/util/result.hpp"

namespace mosh2::os {

/// The `colors` number of a compiled terminfo entry (legacy 16-bit or ncurses 6
/// 32-bit format): its value, -1 when absent (as tigetnum reports it), or nothing when
/// the bytes are not a terminfo entry.
std::optional<int> terminfo_colors(bytes_view entry);

/// The extended (user-defined) string capabilities of a compiled entry, from the section
/// ncurses writes after the standard ones (`tic -x`; term(5), "Extended storage format"),
/// as name and value in the entry's order; absent and cancelled ones are left out. Empty
/// for an entry without that section; nothing when the bytes are not a terminfo entry or
/// the section is damaged.
std::optional<std::vector<std::pair<std::string, std::string>>> terminfo_extended_strings(bytes_view entry);

/// The directories searched for `term`, in ncurses' order: $TERMINFO, ~/.terminfo,
/// $TERMINFO_DIRS (an empty element is the system list), then /etc/terminfo,
/// /lib/terminfo, /usr/share/terminfo.
std::vector<std::string> terminfo_dirs(const char* terminfo, const char* home, const char* terminfo_dirs);

/// The compiled entry of `term`, looked up in `dirs` (at most 64 KiB); the error is one line.
result<std::string, std::string> terminfo_entry(const std::string& term, const std::vector<std::string>& dirs);

/// The colour count of `term`, looked up in `dirs`; the error is one line.
result<int, std::string> colors_of(const std::string& term, const std::vector<std::string>& dirs);

/// What the terminfo entry of `term` says about underline styles (Smulx) and colours
/// (Setulc): nothing when there is no readable entry (the built-in table decides), else
/// the two strings, empty where the entry lacks one.
std::optional<terminal::terminfo_underline> underline_caps_of(const std::string& term,
                                                              const std::vector<std::string>& dirs);

}  // namespace mosh2::os

#pragma once
// How to end a line written to a terminal that may be in raw mode: a terminal without
// output processing (OPOST and ONLCR) moves down on "\n" but not back to the left, so
// the next line would start mid-screen.

#include <termios.h>

#include <string_view>

namespace mosh2::os {

/// "\r\n" for a terminal whose output flags do not turn "\n" into "\r\n"; else "\n".
constexpr std::string_view line_end(bool is_terminal, tcflag_t output_flags) {
  const bool maps = (output_flags & OPOST) && (output_flags & ONLCR);
  return is_terminal && !maps ? std::string_view("\r\n") : std::string_view("\n");
}

/// line_end for what `fd` is now.
std::string_view line_end_of(int fd);

}  // namespace mosh2::os

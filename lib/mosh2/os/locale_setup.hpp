#pragma once
// The server's and the client's locale: both need UTF-8. Unlike Mosh 1.4, a missing
// locale never stops a session: we fall back to C.UTF-8 and say so in one line.

#include <string>
#include <utility>
#include <vector>

namespace mosh2::os {

struct locale_outcome {
  bool utf8 = false;            ///< a UTF-8 LC_CTYPE is in effect
  bool fell_back = false;       ///< the requested locale was unusable; C.UTF-8 is used
  std::string note;             ///< one line for the user when fell_back, else empty
  /// Variables the session's program should get so that it, too, runs in UTF-8.
  std::vector<std::pair<std::string, std::string>> child_env;
};

/// Tries the environment's locale, then the `-l NAME=VALUE` assignments, then C.UTF-8.
locale_outcome choose_utf8_locale(const std::vector<std::pair<std::string, std::string>>& requested);

}  // namespace mosh2::os

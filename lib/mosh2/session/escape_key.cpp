// The escape key state machine and its texts.

#include "mosh2/session/escape_key.hpp"

#include <cctype>
#include <cstring>

#include <fmt/format.h>

namespace mosh2::session {

escape_key escape_key::from_environment(const char* value) {
  if (!value) return escape_key();
  if (*value == '\0') return escape_key(std::nullopt);
  const auto c = static_cast<unsigned char>(value[0]);
  // Keys a terminal needs for itself (Ctrl-C, Ctrl-D, LF, Ctrl-L, CR) stay theirs.
  if (std::strlen(value) != 1 || c < 1 || c > 127 || c == 0x03 || c == 0x04 || c == 0x0a || c == 0x0c ||
      c == 0x0d)
    return escape_key();
  return escape_key(static_cast<char>(c));
}

escape_key::escape_key(std::optional<char> key) : key_(key) {
  if (!key_) return;
  const auto c = static_cast<unsigned char>(*key_);
  if (c < 32) {
    pass_upper_ = static_cast<char>(c + 64);
    pass_lower_ = static_cast<char>(std::tolower(c + 64));
  } else {
    pass_upper_ = static_cast<char>(std::toupper(c));
    pass_lower_ = static_cast<char>(std::tolower(c));
  }
}

escape_key::result escape_key::feed(char byte) {
  result r;
  if (!key_) {
    r.send.push_back(byte);
    return r;
  }
  if (waiting_) {
    waiting_ = false;
    r.hide_help = true;
    if (byte == '.') r.act = action::quit;
    else if (byte == '\x1a') r.act = action::suspend;
    else if (byte == pass_upper_ || byte == pass_lower_) r.send.push_back(*key_);
    else {
      r.send.push_back(*key_);
      r.send.push_back(byte);
    }
    at_line_start_ = false;
    return r;
  }
  const bool printable_key = static_cast<unsigned char>(*key_) >= 32;
  if (byte == *key_ && (!printable_key || at_line_start_)) {
    waiting_ = true;
    r.show_help = true;
    return r;
  }
  r.send.push_back(byte);
  at_line_start_ = byte == '\r' || byte == '\n';
  return r;
}

std::string escape_key::key_name() const {
  if (!key_) return {};
  const auto c = static_cast<unsigned char>(*key_);
  if (c < 32) return fmt::format("Ctrl-{}", static_cast<char>(c + 64));
  return std::string(1, *key_);
}

std::string escape_key::quit_hint() const {
  if (!key_) return {};
  return fmt::format("[To quit: {} .]", key_name());
}

std::string escape_key::help_text() const {
  const auto c = static_cast<unsigned char>(*key_);
  const std::string literal = c < 32 ? fmt::format("\"{}\" gives literal {}", pass_upper_, key_name())
                                     : fmt::format("\"{}\" gives literal {}", *key_, key_name());
  return fmt::format("Commands: Ctrl-Z suspends, \".\" quits, {}", literal);
}

}  // namespace mosh2::session

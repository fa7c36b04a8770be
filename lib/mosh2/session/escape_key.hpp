#pragma once
// The client's escape key (protocol §10.8): Ctrl-^ by default, then "." quits,
// Ctrl-Z suspends, "^" sends a literal Ctrl-^. A pure byte-at-a-time state machine.

#include <optional>
#include <string>
#include <string_view>

namespace mosh2::session {

class escape_key {
public:
  /// What a typed byte turned into.
  enum class action { none, quit, suspend };
  struct result {
    std::string send;          ///< bytes for the keystroke log
    action act = action::none;
    bool show_help = false;    ///< the escape was just pressed: show the commands
    bool hide_help = false;    ///< the escape sequence ended
  };

  /// From MOSH_ESCAPE_KEY (unset → default Ctrl-^; empty → disabled).
  static escape_key from_environment(const char* value);
  explicit escape_key(std::optional<char> key = '\x1e');

  result feed(char byte);
  bool enabled() const { return key_.has_value(); }
  /// "Ctrl-^" or "~": how the notification bar names the key.
  std::string key_name() const;
  /// The quit hint, e.g. "[To quit: Ctrl-^ .]"; empty when disabled.
  std::string quit_hint() const;
  /// The help shown while waiting for the second key.
  std::string help_text() const;

private:
  std::optional<char> key_;
  char pass_upper_ = '^';
  char pass_lower_ = '^';
  bool waiting_ = false;
  bool at_line_start_ = true;
};

}  // namespace mosh2::session

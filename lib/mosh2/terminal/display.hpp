#pragma once
// The frame diff (protocol §9.4): the bytes that turn a terminal showing one framebuffer
// into one showing another, for the wire (a Mosh 1.4 client's emulator) or a real terminal.

#include <string>
#include <utility>

#include "mosh2/terminal/framebuffer.hpp"
#include "mosh2/terminal/terminal_profile.hpp"

namespace mosh2::terminal {

/// Bytes that turn a terminal showing `last` (with its cursor and current renditions
/// where `last` records them) into one showing `target`, in §9.4's emission order.
/// With `initialized` false the receiver's screen and modes are taken as unknown: the
/// diff clears the screen and forces every mode. A size change also clears the screen.
/// Empty when nothing differs. For the wire profile, a Mosh 1.4 emulator holding `last`
/// ends with a framebuffer equal to `target`, except that several bells ring once.
/// Renditions the profile cannot show (styled_underline, underline_color) are diffed
/// as what it shows instead: a stock peer's emulator ends equal to that.
std::string new_frame(const framebuffer& last, const framebuffer& target,
                      const terminal_profile& profile = terminal_profile::wire(),
                      bool initialized = true);

/// The SGR sequence that sets renditions `r` from a reset (`CSI 0;...m`), as far as
/// the profile can show them (underline styles and colours degrade to a plain one).
std::string sgr_sequence(const renditions& r, const terminal_profile& profile);

/// `fb` as a receiver with `profile` shows it: the renditions it cannot show replaced
/// by what it shows instead (what a frame diff toward it makes its emulator hold).
framebuffer as_shown(const framebuffer& fb, const terminal_profile& profile);

/// The frame diff bound to one terminal profile, plus the client's terminal set-up and
/// restore strings (protocol §8.5).
class display {
public:
  explicit display(terminal_profile profile = terminal_profile::wire())
      : profile_(std::move(profile)) {}

  /// See the free function new_frame.
  std::string new_frame(bool initialized, const framebuffer& last, const framebuffer& target) const {
    return terminal::new_frame(last, target, profile_, initialized);
  }
  /// Taking over the terminal: smcup (unless `term_init` is false, MOSH_NO_TERM_INIT)
  /// and application cursor keys.
  std::string open(bool term_init = true) const;
  /// Giving it back: cursor keys, SGR, cursor, mouse modes reset, then rmcup.
  std::string close(bool term_init = true) const;

  const terminal_profile& profile() const { return profile_; }

private:
  terminal_profile profile_;
};

}  // namespace mosh2::terminal

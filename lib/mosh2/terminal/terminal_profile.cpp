// The terminal profiles: the fixed wire profile and a built-in $TERM table. A table
// rather than ncurses keeps the terminal library free of it and makes the local output
// reproducible in tests; docs/display.md says where each entry comes from. Only the
// underline capabilities, which vary by terminal version, come from the terminfo entry
// when the client could read it (os/terminfo.hpp).

#include "mosh2/terminal/terminal_profile.hpp"

#include <array>

namespace mosh2::terminal {

namespace {

struct entry {
  std::string_view prefix;  ///< matched against the start of $TERM, first match wins
  bool ech, bce, scroll;
  std::string_view smcup, rmcup;
  bool styled_underline = false;  ///< Smulx in the family's terminfo entry
  bool underline_color = false;   ///< Setulc in the family's terminfo entry
};

constexpr std::string_view alt_on = "\033[?1049h", alt_off = "\033[?1049l";

// Only what the terminfo entry of that family declares (ncurses 6.4) or what every
// member of the family is known to implement: claiming a capability the terminal lacks
// corrupts the screen, while leaving one out only costs bytes on the local pty. Smulx
// (underline styles) is in ncurses 6.4's alacritty, kitty and tmux entries; Setulc
// (underline colour) only in the xterm-kitty entry that kitty installs itself.
constexpr std::array<entry, 16> table = {{
    {"xterm-kitty", true, false, true, alt_on, alt_off, true, true},
    {"xterm", true, true, true, "\033[?1049h\033[22;0;0t", "\033[?1049l\033[23;0;0t"},
    {"rxvt-unicode", true, true, true, alt_on, "\033[r\033[?1049l"},
    {"rxvt", false, true, false, "\0337\033[?47h", "\033[2J\033[?47l\0338"},
    {"screen", false, false, true, alt_on, alt_off},
    {"tmux", false, false, true, alt_on, alt_off, true, false},
    {"alacritty", true, false, true, alt_on, alt_off, true, false},
    {"foot", true, false, true, alt_on, alt_off},
    {"st-", true, false, true, alt_on, alt_off},
    {"kitty", true, false, true, alt_on, alt_off, true, false},
    {"linux", true, true, false, "", ""},
    {"vt220", true, false, false, "", ""},
    {"vt100", false, false, false, "", ""},
    {"ansi", true, false, true, "", ""},
    {"Eterm", false, false, false, "\0337\033[?47h", "\033[2J\033[?47l\0338"},
    {"kterm", false, false, false, "", ""},
}};

// Mosh 1.4 sends titles only to these (protocol §9.4).
constexpr std::array<std::string_view, 7> title_prefixes = {
    "xterm", "rxvt", "kterm", "Eterm", "alacritty", "screen", "tmux"};

}  // namespace

terminal_profile terminal_profile::wire(bool extended_styles) {
  terminal_profile p;
  p.styled_underline = p.underline_color = extended_styles;
  return p;
}

terminal_profile terminal_profile::from_term(std::string_view term) {
  terminal_profile p;
  p.mosh_emulator = false;
  p.has_ech = p.has_bce = p.has_scroll = p.has_title = false;
  for (const auto& e : table) {
    if (term.starts_with(e.prefix)) {
      p.has_ech = e.ech;
      p.has_bce = e.bce;
      p.has_scroll = e.scroll;
      p.smcup = e.smcup;
      p.rmcup = e.rmcup;
      p.styled_underline = e.styled_underline;
      p.underline_color = e.underline_color;
      break;
    }
  }
  for (auto prefix : title_prefixes)
    if (term.starts_with(prefix)) p.has_title = true;
  return p;
}

terminal_profile terminal_profile::from_term(std::string_view term, const terminfo_underline* entry) {
  terminal_profile p = from_term(term);
  if (!entry) return p;
  p.terminfo = *entry;
  p.styled_underline = !entry->smulx.empty();
  p.underline_color = !entry->setulc.empty();
  return p;
}

}  // namespace mosh2::terminal

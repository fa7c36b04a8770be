#pragma once
// What the terminal that interprets a frame diff can do: the fixed wire profile (a Mosh
// 1.4 client's emulator) or a real terminal chosen from a built-in table by $TERM, with
// what its terminfo entry says about underline styles and colours.

#include <string>
#include <string_view>

namespace mosh2::terminal {

/// The extended terminfo capabilities for underlines, as the entry has them (empty:
/// absent): Smulx (style, one parameter: 0 none ... 5 dashed) and Setulc (colour, one
/// parameter: 0xRRGGBB).
struct terminfo_underline {
  std::string smulx, setulc;
  bool operator==(const terminfo_underline&) const = default;
};

/// Capabilities the frame diff (display.hpp) may rely on in its receiver.
struct terminal_profile {
  /// ECH (`CSI n X`) erases n cells without moving the cursor.
  bool has_ech = true;
  /// Erasing fills with the current background colour (back-colour erase).
  bool has_bce = true;
  /// The terminal shows OSC 0/1/2 window and icon titles.
  bool has_title = true;
  /// SU/SD (`CSI n S`, `CSI n T`) scroll the region without moving the cursor.
  bool has_scroll = true;
  /// Rows may be scrolled off the top of the screen. False for a local terminal whose
  /// scrollback gets the session's history: screen rows must not land there too.
  bool scroll_off_top = true;
  /// The receiver is a Mosh 1.4 emulator, not a screen. Its state must end exactly equal
  /// to the target framebuffer (erased and printed-space cells differ, combining marks
  /// without a base keep their fallback flag), and every sequence §9.3 lists may be
  /// used with its exact semantics: selective SGR resets, SGR 90-97/100-107, empty
  /// first parameters, minimal mouse-mode changes, DECSET 1007. It also means nobody
  /// watches the cursor, so it is not hidden while drawing.
  bool mosh_emulator = true;
  /// Underline styles: `CSI 4:n m` (terminfo Smulx), curly, dotted, dashed and double.
  /// Without it they are drawn as a plain underline.
  bool styled_underline = false;
  /// Underline colours: `CSI 58:5:n m`, `CSI 58:2::r:g:b m`, `CSI 59 m` (terminfo
  /// Setulc). Without it the underline takes the text colour.
  bool underline_color = false;
  /// The terminfo strings that draw them, when the entry was read (terminfo_underline);
  /// empty: the built-in `CSI 4:n m` and `CSI 58:…m` forms.
  terminfo_underline terminfo;
  /// Written once when the client takes over the terminal (terminfo smcup), and rmcup
  /// on the way out.
  std::string smcup, rmcup;

  /// The fixed profile of the server→client hoststring (protocol §8.2): a Mosh 1.4
  /// emulator with ECH, BCE and titles.
  /// `extended_styles` is for a peer that negotiated them (a mosh2 client): underline
  /// styles and colours are sent; a stock Mosh 1.4 peer gets the plain underline.
  static terminal_profile wire(bool extended_styles = false);
  /// A real terminal named by $TERM, from a built-in table (docs/display.md); unknown
  /// names get a conservative profile (no ECH, no BCE, no titles, no SU/SD).
  static terminal_profile from_term(std::string_view term);
  /// The same, with what the terminal's terminfo entry says, when it was read: Smulx and
  /// Setulc there decide underline styles and colours (drawn with those strings), and
  /// an entry with neither gets the plain underline; without an entry (nullptr) the
  /// built-in table decides.
  static terminal_profile from_term(std::string_view term, const terminfo_underline* entry);
};

}  // namespace mosh2::terminal

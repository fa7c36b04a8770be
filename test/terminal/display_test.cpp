// Unit tests of the frame diff: the exact bytes of simple frames (Mosh's where the
// protocol notes record them, ours where we save bytes), the terminal profiles, and the
// byte counts of typical changes.

#include <doctest/doctest.h>

#include <cstdio>
#include <map>
#include <memory>
#include <string>

#include "mosh2/terminal/display.hpp"
#include "mosh2/terminal/emulator.hpp"

using namespace mosh2::terminal;

namespace {

// The screen after host output `bytes` on a blank terminal.
framebuffer screen(int w, int h, std::string_view bytes) {
  emulator e(w, h);
  e.write(bytes);
  return e.fb();
}

// The screen after `more` on top of `base`.
framebuffer then(const framebuffer& base, std::string_view more) {
  emulator e(base.width(), base.height());
  e.fb() = base;
  e.write(more);
  return e.fb();
}

// The diff from `a` to `b` must carry a wire receiver holding `a` to `b` (bells aside).
bool carries(const framebuffer& a, const framebuffer& b, const std::string& diff) {
  emulator rx(a.width(), a.height());
  rx.fb() = a;
  if (a.width() != b.width() || a.height() != b.height()) rx.resize(b.width(), b.height());
  rx.write(diff);
  framebuffer got = rx.fb();
  while (got.bell_count() < b.bell_count()) got.ring_bell();
  return got == b;
}

std::string text_rows(int rows, int cols, int first = 0) {
  std::string s;
  for (int r = 0; r < rows; ++r) {
    if (r) s += "\r\n";
    std::string line = "line " + std::to_string(first + r) + ": ";
    while (static_cast<int>(line.size()) < cols) line += static_cast<char>('a' + line.size() % 26);
    s += line;
  }
  return s;
}

const terminal_profile xterm = terminal_profile::from_term("xterm-256color");


// The capabilities of a terminfo entry as `infocmp -1 -x` prints them: booleans map to
// "", strings to their value with \E decoded. Empty when the entry is not installed.
std::map<std::string, std::string> terminfo(const std::string& name) {
  std::map<std::string, std::string> caps;
  const std::string cmd = "infocmp -1 -x '" + name + "' 2>/dev/null";
  std::unique_ptr<FILE, int (*)(FILE*)> p(::popen(cmd.c_str(), "r"), &::pclose);
  REQUIRE_MESSAGE(p != nullptr, "cannot run infocmp (ncurses-bin)");
  char buf[1024];
  while (std::fgets(buf, sizeof buf, p.get()) != nullptr) {
    std::string line(buf);
    if (line.empty() || line[0] != '\t') continue;  // the header names the entry
    line = line.substr(1);
    while (!line.empty() && (line.back() == '\n' || line.back() == ',')) line.pop_back();
    const auto eq = line.find('=');
    if (eq == std::string::npos) {
      caps[line] = "";
      continue;
    }
    std::string value;
    for (std::size_t i = eq + 1; i < line.size(); ++i) {
      if (line[i] == '\\' && i + 1 < line.size() && line[i + 1] == 'E') {
        value += '\033';
        ++i;
      } else {
        value += line[i];
      }
    }
    caps[line.substr(0, eq)] = value;
  }
  return caps;
}

}  // namespace

TEST_SUITE("terminal") {

TEST_CASE("equal screens give an empty diff") {
  const auto a = screen(20, 5, "hello\r\nworld");
  CHECK(new_frame(a, a).empty());
  CHECK(new_frame(a, screen(20, 5, "hello\r\nworld")).empty());
}

TEST_CASE("bell, title and clipboard come first, as in Mosh's observed diff") {
  const framebuffer blank(80, 24);
  const auto b = screen(80, 24, "\a\033]0;hello\a\033]52;c;aGk=\a");
  const std::string d = new_frame(blank, b);
  CHECK(d == "\a\033]0;hello\a\033]52;c;aGk=\a");
  CHECK(carries(blank, b, d));
}

TEST_CASE("a title that differs from the icon name is sent as OSC 1 then OSC 2") {
  const framebuffer blank(10, 2);
  const auto b = screen(10, 2, "\033]1;icon\a\033]2;title\a");
  CHECK(new_frame(blank, b) == "\033]1;icon\a\033]2;title\a");
  // Titles go only to terminals that show them.
  CHECK(new_frame(blank, b, terminal_profile::from_term("linux"), true).empty());
}

TEST_CASE("several bells ring once") {
  const framebuffer blank(10, 2);
  CHECK(new_frame(blank, screen(10, 2, "\a\a\a")) == "\a");
}

TEST_CASE("a size change starts with Mosh's repaint preamble") {
  const framebuffer small(80, 24);
  const framebuffer big(100, 30);
  // Mosh follows it with EL+LF per row and every mode; the cleared screen already is
  // the target here, and the wire receiver's modes are known.
  CHECK(new_frame(small, big) == "\033[r\033[0m\033[H\033[2J");
  const auto text = then(big, "$ ");
  CHECK(new_frame(small, text) == "\033[r\033[0m\033[H\033[2J$ ");
  CHECK(carries(small, text, new_frame(small, text)));
}

TEST_CASE("a repaint of an unknown terminal forces every mode, like Mosh") {
  const framebuffer blank(80, 24);
  CHECK(new_frame(blank, blank, xterm, false) ==
        "\033[?5l\033[r\033[0m\033[H\033[2J\033[?25l\033[?25h\033[?2004l"
        "\033[?1003l\033[?1002l\033[?1001l\033[?1000l\033[?1004l"
        "\033[?1015l\033[?1006l\033[?1005l");
}

TEST_CASE("the first frame of a session is a line feed and the prompt") {
  const framebuffer blank(80, 24);
  const auto b = screen(80, 24, "\r\n# ");
  // Mosh sends ESC[?25l LF "# " ESC[?25h; nobody watches the wire receiver's cursor.
  CHECK(new_frame(blank, b) == "\n# ");
  CHECK(new_frame(blank, b, xterm, true) == "\033[?25l\n# \033[?25h");
}

TEST_CASE("typing a character is that character") {
  const auto a = screen(80, 24, "$ ");
  const auto b = then(a, "l");
  CHECK(new_frame(a, b) == "l");
}

TEST_CASE("renditions change by the shorter of a delta and a reset") {
  const framebuffer blank(10, 2);
  const auto b = screen(10, 2, "\033[0;1;38;2;1;2;3mX\033[0;48;5;200mY");
  const std::string d = new_frame(blank, b);
  CHECK(d == "\033[1;38;2;1;2;3mX\033[;48;5;200mY");
  CHECK(carries(blank, b, d));
  // Bright colours by their short codes, and the attribute-off codes.
  const auto c = screen(10, 2, "\033[1;94mA\033[22mB");
  CHECK(new_frame(blank, c) == "\033[1;94mA\033[22mB");
  // A real terminal gets Mosh's palette form and no attribute-off codes.
  CHECK(new_frame(blank, c, xterm, true) == "\033[1;38;5;12mA\033[0;38;5;12mB");
}

TEST_CASE("cursor moves take the shortest encoding") {
  const framebuffer blank(80, 24);
  auto at = [&blank](int r, int c) {
    framebuffer f = blank;
    f.ds().cursor_row = r;
    f.ds().cursor_col = c;
    return f;
  };
  CHECK(new_frame(at(0, 0), at(10, 20)) == "\033[11;21H");
  CHECK(new_frame(at(10, 20), at(0, 0)) == "\033[H");
  CHECK(new_frame(at(0, 5), at(2, 0)) == "\r\n\n");
  CHECK(new_frame(at(5, 10), at(5, 7)) == "\b\b\b");
  CHECK(new_frame(at(5, 10), at(5, 30)) == "\033[31G");
  CHECK(new_frame(at(5, 10), at(6, 30)) == "\n\033[20C");
  CHECK(new_frame(at(5, 10), at(6, 10)) == "\n");
  CHECK(new_frame(at(5, 10), at(4, 10)) == "\033M");
  CHECK(new_frame(at(0, 40), at(0, 3)) == "\033[4G");
  CHECK(new_frame(at(3, 40), at(0, 3)) == "\033[;4H");
  CHECK(new_frame(at(3, 3), at(7, 0)) == "\033[8H");
  // On the last column the receiver may hold a pending wrap: only absolute moves.
  CHECK(new_frame(at(5, 79), at(5, 78)) == "\033[79G");
}

TEST_CASE("a soft-wrapped line is drawn by letting the receiver wrap") {
  const framebuffer blank(10, 3);
  const auto b = screen(10, 3, "0123456789abc");
  REQUIRE(b.row_at(0).wrap);
  CHECK(new_frame(blank, b) == "0123456789abc");
  // A full row that did not wrap is followed by a CR LF instead.
  const auto c = screen(10, 3, "0123456789\r\nabc");
  CHECK(new_frame(blank, c) == "0123456789\r\nabc");
  CHECK(carries(blank, c, new_frame(blank, c)));
}

TEST_CASE("wide and combining characters are printed as they are") {
  const framebuffer blank(10, 3);
  const auto b = screen(10, 3, "\xE6\x97\xA5\xE6\x9C\xAC e\xCC\x81");
  CHECK(new_frame(blank, b) == "\xE6\x97\xA5\xE6\x9C\xAC e\xCC\x81");
}

TEST_CASE("a mark without a base is drawn where the receiver stores it as fallback") {
  const framebuffer blank(10, 3);
  const auto b = screen(10, 3, "\033[1;3H\xCC\x81");
  REQUIRE(b.cell_at(0, 2).fallback());
  const std::string d = new_frame(blank, b);
  CHECK(d == "\033[3G\xCC\x81");
  CHECK(carries(blank, b, d));
  // A real terminal gets it after U+00A0, as Mosh draws it.
  CHECK(new_frame(blank, b, xterm, true) == "  \xC2\xA0\xCC\x81");
}

TEST_CASE("erased cells are erased and printed spaces are printed") {
  const auto a = screen(20, 3, "abcdefghijklmnopqrst");
  // ECH, then EL: the receiver's cells must be empty, not spaces.
  const auto b = then(a, "\033[1;3H\033[X\033[1;10H\033[K\033[2;1H");
  const std::string d = new_frame(a, b);
  CHECK(d == "\033[3G\033[X\033[7C\033[J\r\n");  // ED: the rows below are blank
  CHECK(carries(a, b, d));
  const auto c = then(a, "\033[1;3H \033[2;1H");
  CHECK(new_frame(a, c) == "\033[3G \r\n");
  const auto e = then(a, "\033[1;3H\033[X\033[1;10H\033[2;1Hx");
  CHECK(new_frame(a, e) == "\033[3G\033[X\r\nx");
  // Blank rows below an erased tail go in one ED.
  const auto full = screen(10, 4, "aaaaaaaaaa\r\nbbbbbbbbbb\r\ncccccccccc\r\ndddd");
  const auto cleared = then(full, "\033[1;5H\033[J");
  CHECK(new_frame(full, cleared) == "\033[3A\033[J");
}

TEST_CASE("scrolling a line is a line feed at the bottom row") {
  const auto a = screen(80, 24, text_rows(24, 70));
  const auto b = then(a, "\r\nnew line");
  const std::string d = new_frame(a, b);
  CHECK(d == "\n\rnew line");
  CHECK(carries(a, b, d));
}

TEST_CASE("a scroll inside a region uses SU within a temporary region") {
  const auto a = screen(20, 6, text_rows(6, 18));
  const auto b = then(a, "\033[2;5r\033[5;1H\r\nX\033[r\033[6;1H");
  const std::string d = new_frame(a, b);
  CHECK(d == "\033[2;5r\033[S\033[r\033[5HX\r\n");
  CHECK(carries(a, b, d));
}

TEST_CASE("scrolling back down uses SD") {
  const auto a = screen(20, 6, text_rows(6, 18));
  const auto b = then(a, "\033[H\033MX");
  const std::string d = new_frame(a, b);
  CHECK(d.size() <= 8);
  CHECK(carries(a, b, d));
}

TEST_CASE("mouse and paste modes change by the fewest sequences on the wire") {
  const framebuffer blank(10, 2);
  const auto on = screen(10, 2, "\033[?1002h\033[?1006h\033[?2004h\033[?1004h");
  CHECK(new_frame(blank, on) == "\033[?2004h\033[?1002h\033[?1004h\033[?1006h");
  CHECK(new_frame(on, blank) == "\033[?2004l\033[?1002l\033[?1004l\033[?1006l");
  // A real terminal gets Mosh's resets.
  CHECK(new_frame(on, blank, xterm, true) ==
        "\033[?2004l\033[?1003l\033[?1002l\033[?1001l\033[?1000l\033[?1004l"
        "\033[?1015l\033[?1006l\033[?1005l");
  const auto other = then(on, "\033[?1000h");
  CHECK(new_frame(on, other) == "\033[?1000h");
  CHECK(new_frame(on, other, xterm, true) == "\033[?1002l\033[?1000h");
  // DECSET 1007 is synchronized, so the wire receiver gets it too.
  CHECK(new_frame(blank, screen(10, 2, "\033[?1007h")) == "\033[?1007h");
}

TEST_CASE("reverse video and cursor visibility are sent when they change") {
  const framebuffer blank(10, 2);
  CHECK(new_frame(blank, screen(10, 2, "\033[?5h")) == "\033[?5h");
  CHECK(new_frame(blank, screen(10, 2, "\033[?25l")) == "\033[?25l");
}

TEST_CASE("a soft wrap on the bottom row is recorded inside a shorter region") {
  const auto a = screen(6, 4, "\033[4;1Habcdefgh\033[H\033M");  // the wrapped row moves down
  const auto b = then(a, "");
  REQUIRE(b.row_at(3).wrap);
  emulator rx(6, 4);
  const std::string d = new_frame(framebuffer(6, 4), b);
  rx.write(d);
  CHECK(rx.fb() == b);
}

TEST_CASE("the profile table claims no capability that the installed terminfo lacks") {
  // The entries Debian's ncurses-base installs (the others in the table, such as
  // alacritty or kitty, come from ncurses-term and are checked by the test below only).
  // Leaving a capability out is allowed (it costs bytes); claiming one corrupts screens.
  int checked = 0;
  for (const char* name : {"xterm-256color", "xterm", "rxvt-unicode-256color", "rxvt", "screen",
                           "screen-256color", "tmux-256color", "linux", "vt220", "vt100",
                           "ansi", "Eterm"}) {
    const auto ti = terminfo(name);
    REQUIRE_MESSAGE(!ti.empty(), "terminfo entry " << name << " is missing (ncurses-base)");
    const auto p = terminal_profile::from_term(name);
    INFO(name);
    if (p.has_ech) CHECK(ti.count("ech") == 1);
    if (p.has_bce) CHECK(ti.count("bce") == 1);
    if (p.has_scroll) CHECK((ti.count("indn") == 1 && ti.count("rin") == 1));
    CHECK(p.smcup == (ti.count("smcup") ? ti.at("smcup") : std::string()));
    CHECK(p.rmcup == (ti.count("rmcup") ? ti.at("rmcup") : std::string()));
    ++checked;
  }
  CHECK(checked == 12);
}

TEST_CASE("the profile table gives the documented capabilities and Mosh's title list") {
  const auto w = terminal_profile::wire();
  CHECK(w.mosh_emulator);
  CHECK(w.has_ech);
  CHECK(w.has_bce);
  CHECK(w.has_title);
  CHECK(w.smcup.empty());
  const auto x = terminal_profile::from_term("xterm-256color");
  CHECK_FALSE(x.mosh_emulator);
  CHECK(x.has_ech);
  CHECK(x.has_bce);
  CHECK(x.has_title);
  CHECK(x.smcup == "\033[?1049h\033[22;0;0t");
  const auto l = terminal_profile::from_term("linux");
  CHECK(l.has_bce);
  CHECK_FALSE(l.has_title);
  CHECK_FALSE(l.has_scroll);
  const auto t = terminal_profile::from_term("tmux-256color");
  CHECK_FALSE(t.has_bce);
  CHECK_FALSE(t.has_ech);
  CHECK(t.has_title);
  CHECK(terminal_profile::from_term("screen.xterm-256color").has_title);
  CHECK(terminal_profile::from_term("rxvt-unicode-256color").rmcup == "\033[r\033[?1049l");
  const auto u = terminal_profile::from_term("no-such-terminal");
  CHECK_FALSE(u.has_ech);
  CHECK_FALSE(u.has_bce);
  CHECK_FALSE(u.has_title);
  CHECK(u.smcup.empty());
}

TEST_CASE("the client's terminal set-up and restore strings follow Mosh") {
  const display d(terminal_profile::from_term("xterm"));
  CHECK(d.open() == "\033[?1049h\033[22;0;0t\033[?1h");
  CHECK(d.open(false) == "\033[?1h");
  CHECK(d.close() ==
        "\033[?1l\033[0m\033[?25h\033[?1003l\033[?1002l\033[?1001l\033[?1000l"
        "\033[?1015l\033[?1006l\033[?1005l\033[?2004l\033[?1049l\033[23;0;0t");
}

TEST_CASE("byte counts of typical changes stay small") {
  // The numbers are reported with -s; the bounds catch regressions.
  const framebuffer blank(80, 24);
  const auto prompt = screen(80, 24, "user@host:~$ ");
  const auto typed = then(prompt, "l");
  const auto full = screen(80, 24, text_rows(24, 78));
  const auto scrolled = then(full, "\r\nuser@host:~$ ");
  const auto colored = screen(80, 24,
                              "\033[1;34mdir\033[0m  \033[1;32mexec\033[0m  file\r\n"
                              "\033[1;34mdocs\033[0m \033[1;36mlink\033[0m  \033[31marchive.tgz\033[0m");
  const auto vim_line = then(full, "\033[12;1H\033[Knew text in the middle");
  const auto cleared = then(full, "\033[H\033[2J$ ");

  const std::size_t typing = new_frame(prompt, typed).size();
  const std::size_t scroll = new_frame(full, scrolled).size();
  const std::size_t redraw = new_frame(blank, full).size();
  const std::size_t color = new_frame(blank, colored).size();
  const std::size_t midline = new_frame(full, vim_line).size();
  const std::size_t clear = new_frame(full, cleared).size();
  MESSAGE("typing a character: " << typing << " bytes");
  MESSAGE("scrolling one line with a prompt: " << scroll << " bytes");
  MESSAGE("full 80x24 redraw of 78-column lines: " << redraw << " bytes (text " << 24 * 78 << ")");
  MESSAGE("two lines of ls --color: " << color << " bytes");
  MESSAGE("replacing a line in the middle: " << midline << " bytes");
  MESSAGE("clearing the screen: " << clear << " bytes");
  CHECK(typing == 1);
  CHECK(scroll <= 2 + 13 + 2);
  CHECK(redraw <= 24 * 78 + 23 * 2);
  CHECK(midline <= 8 + 21 + 3);
  CHECK(clear <= 8);
  CHECK(carries(full, scrolled, new_frame(full, scrolled)));
  CHECK(carries(blank, colored, new_frame(blank, colored)));
}

}  // TEST_SUITE

TEST_SUITE("terminal") {

TEST_CASE("underline styles and colours: sent to an extended peer, plain toward a stock one") {
  const framebuffer blank = screen(20, 2, "");
  const framebuffer styled = screen(20, 2, "\x1b[4:3;58:2::1:2:3mab\x1b[0mc");
  // A stock Mosh 1.4 peer gets the plain underline, and ends with what it can show.
  const std::string stock = new_frame(blank, styled, terminal_profile::wire());
  CHECK(stock.find("4:3") == std::string::npos);
  CHECK(stock.find("58") == std::string::npos);
  CHECK(stock.find("4m") != std::string::npos);
  {
    emulator rx(20, 2);
    rx.write(stock);
    CHECK(rx.fb() == as_shown(styled, terminal_profile::wire()));
    CHECK(rx.fb().cell_at(0, 0).rend().has(renditions::underlined));
    CHECK(!rx.fb().cell_at(0, 0).rend().extended());
  }
  // A peer that negotiated them gets them, and ends exactly equal.
  const std::string ext = new_frame(blank, styled, terminal_profile::wire(true));
  CHECK(ext.find("4:3") != std::string::npos);
  CHECK(ext.find("58:2::1:2:3") != std::string::npos);
  {
    emulator rx(20, 2);
    rx.write(ext);
    CHECK(rx.fb() == styled);
  }
  // Once drawn, an unchanged extended screen costs nothing toward either peer.
  CHECK(new_frame(styled, styled, terminal_profile::wire()).empty());
  // Changing only the style is a change toward an extended peer, none toward a stock one.
  const framebuffer dotted = screen(20, 2, "\x1b[4:4;58:2::1:2:3mab\x1b[0mc");
  CHECK(new_frame(styled, dotted, terminal_profile::wire()).empty());
  CHECK(new_frame(styled, dotted, terminal_profile::wire(true)).find("4:4") != std::string::npos);
}

TEST_CASE("SGR 21's double underline is 4:2 toward an extended peer, the plain underline toward a stock one") {
  const framebuffer blank = screen(20, 2, "");
  const framebuffer doubled = screen(20, 2, "\x1b[21mab");
  const std::string stock = new_frame(blank, doubled, terminal_profile::wire());
  CHECK(stock.find("4:2") == std::string::npos);
  CHECK(stock.find("21") == std::string::npos);
  emulator rx(20, 2);
  rx.write(stock);
  CHECK(rx.fb() == as_shown(doubled, terminal_profile::wire()));
  CHECK(rx.fb().cell_at(0, 0).rend().has(renditions::underlined));
  CHECK(rx.fb().cell_at(0, 0).rend().ul_style == underline_style::single);
  CHECK(new_frame(blank, doubled, terminal_profile::wire(true)).find("4:2") != std::string::npos);
}

TEST_CASE("local terminals get underline styles where terminfo has Smulx, colours where it has Setulc") {
  const framebuffer blank = screen(20, 2, "");
  const framebuffer styled = screen(20, 2, "\x1b[4:3;58:5:9mab");
  const std::string kitty = new_frame(blank, styled, terminal_profile::from_term("xterm-kitty"), false);
  CHECK(kitty.find("4:3") != std::string::npos);
  CHECK(kitty.find("58:5:9") != std::string::npos);
  const std::string tmux = new_frame(blank, styled, terminal_profile::from_term("tmux-256color"), false);
  CHECK(tmux.find("4:3") != std::string::npos);
  CHECK(tmux.find("58") == std::string::npos);
  const std::string xterm = new_frame(blank, styled, terminal_profile::from_term("xterm-256color"), false);
  CHECK(xterm.find("4:3") == std::string::npos);
  CHECK(xterm.find("58") == std::string::npos);
  CHECK(xterm.find("4m") != std::string::npos);
  // And a plain terminal's screen is redrawn only when what it shows changes.
  CHECK(new_frame(styled, styled, terminal_profile::from_term("xterm-256color")).empty());
  renditions r;
  r.set_underline(underline_style::dashed);
  r.ul = color::rgb(1, 2, 3);
  CHECK(sgr_sequence(r, terminal_profile::from_term("xterm-kitty")) == "\x1b[0;4:5;58:2::1:2:3m");
  CHECK(sgr_sequence(r, terminal_profile::from_term("vt100")) == "\x1b[0;4m");
}

}  // TEST_SUITE

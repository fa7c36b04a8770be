// Parameterized terminfo strings (tparm.hpp), with the capabilities the client uses and
// the operators real entries have; and the frame diff drawing underline styles and
// colours with a profile's terminfo strings.

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "mosh2/terminal/display.hpp"
#include "mosh2/terminal/emulator.hpp"
#include "mosh2/terminal/tparm.hpp"

using namespace mosh2::terminal;

namespace {

std::string run(std::string_view cap, std::vector<long> p) { return tparm(cap, p); }

const std::string kitty_setulc = "\x1b[58:2::%p1%{65536}%/%d:%p1%{256}%/%{255}%&%d:%p1%{255}%&%d%;m";

}  // namespace

TEST_SUITE("terminal") {

TEST_CASE("tparm: Smulx and Setulc as terminals define them") {
  CHECK(run("\x1b[4:%p1%dm", {3}) == "\x1b[4:3m");
  CHECK(run(kitty_setulc, {0x010203}) == "\x1b[58:2::1:2:3m");
  CHECK(run(kitty_setulc, {0xFF8000}) == "\x1b[58:2::255:128:0m");
  // VTE's form, with a conditional.
  CHECK(run("\x1b[%?%p1%{0}%=%t24%e4:%p1%d%;m", {0}) == "\x1b[24m");
  CHECK(run("\x1b[%?%p1%{0}%=%t24%e4:%p1%d%;m", {5}) == "\x1b[4:5m");
}

TEST_CASE("tparm: the rest of the language, and malformed strings") {
  CHECK(run("\x1b[%i%p1%d;%p2%dH", {4, 9}) == "\x1b[5;10H");               // cup
  CHECK(run("%p1%02d|%p1%x|%p1%X|%p1%o|%p1%:-3d|", {10}) == "10|a|A|12|10 |");
  CHECK(run("%p1%'0'%+%c", {7}) == "7");
  CHECK(run("%p1%Pa%ga%ga%*%d", {6}) == "36");
  CHECK(run("%p1%p2%>%tbig%esmall%;", {2, 1}) == "big");
  CHECK(run("%?%p1%t%?%p2%tA%eB%;%eC%;", {1, 0}) == "B");                  // nested
  CHECK(run("%?%p1%t%?%p2%tA%eB%;%eC%;", {0, 1}) == "C");
  CHECK(run("100%%", {}) == "100%");
  CHECK(run("%p1%3.2d|%p1%.3x", {5}) == " 05|005");
  // A spec that is no conversion (a second '.', a third digit) is dropped up to the
  // character that broke it; the rest is printed as text.
  CHECK(run("%p1%1.2.3d", {5}) == "3d");
  CHECK(run("%p1%123456d", {5}) == "456d");
  CHECK(run("%p1%{0}%/%d", {5}) == "0");  // no division by zero
  CHECK(run("%+%+%d", {}) == "0");        // an empty stack pops 0
  CHECK(run("%", {}) == "");
  CHECK(run("%p", {}) == "");
  CHECK(run("%{12", {}) == "");
  std::string deep;
  for (int i = 0; i < 100; ++i) deep += "%p1";
  CHECK(run(deep + "%d", {1}) == "1");  // the stack is bounded
}

TEST_CASE("a profile with terminfo strings draws underline styles and true colours with them") {
  emulator src(20, 2);
  src.write("\x1b[4:3;58:2::1:2:3mab\x1b[4:4mc\x1b[58:5:9md");
  const framebuffer blank(20, 2);
  const terminfo_underline vte{"\x1b[%?%p1%{0}%=%t24%e4:%p1%d%;m", kitty_setulc};
  const auto p = terminal_profile::from_term("xterm-256color", &vte);
  CHECK(p.styled_underline);
  CHECK(p.underline_color);
  const std::string out = new_frame(blank, src.fb(), p, false);
  CHECK(out.find("\x1b[4:3m") != std::string::npos);
  CHECK(out.find("\x1b[4:4m") != std::string::npos);
  CHECK(out.find("\x1b[58:2::1:2:3m") != std::string::npos);
  CHECK(out.find("58:5:9") != std::string::npos);  // indexed: Setulc has only RGB
  // What a terminal that reads those sequences shows is the source screen.
  emulator rx(20, 2);
  rx.write(out);
  for (int c = 0; c < 4; ++c) CHECK(rx.fb().cell_at(0, c).rend() == src.fb().cell_at(0, c).rend());
  renditions r;
  r.set_underline(underline_style::curly);
  r.ul = color::rgb(1, 2, 3);
  CHECK(sgr_sequence(r, p) == "\x1b[0;4m\x1b[4:3m\x1b[58:2::1:2:3m");
}

TEST_CASE("the terminfo decides over the built-in table; without an entry the table does") {
  const terminfo_underline neither{};
  // kitty's table entry has both; an entry read without them gets the plain underline.
  const auto read = terminal_profile::from_term("xterm-kitty", &neither);
  CHECK_FALSE(read.styled_underline);
  CHECK_FALSE(read.underline_color);
  renditions r;
  r.set_underline(underline_style::curly);
  r.ul = color::rgb(1, 2, 3);
  CHECK(sgr_sequence(r, read) == "\x1b[0;4m");
  const auto table = terminal_profile::from_term("xterm-kitty", nullptr);
  CHECK(table.styled_underline);
  CHECK(table.underline_color);
  CHECK(sgr_sequence(r, table) == "\x1b[0;4:3;58:2::1:2:3m");
  // And xterm's table entry has neither, but an entry with Smulx gives the styles.
  const terminfo_underline smulx_only{"\x1b[4:%p1%dm", ""};
  const auto xterm = terminal_profile::from_term("xterm-256color", &smulx_only);
  CHECK(xterm.styled_underline);
  CHECK_FALSE(xterm.underline_color);
  CHECK(sgr_sequence(r, xterm) == "\x1b[0;4m\x1b[4:3m");
}

}  // TEST_SUITE

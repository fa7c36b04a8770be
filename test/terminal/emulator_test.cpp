// Unit tests of the emulator: every control and sequence of protocol §9.3, the wrap,
// wide and combining rules, and the additions beyond Mosh 1.4.

#include <doctest/doctest.h>

#include <string>

#include "mosh2/terminal/emulator.hpp"

using namespace mosh2::terminal;

namespace {

// The row as text, a blank cell as one space (wide cells contribute their text once).
std::string row_text(const emulator& e, int r) {
  std::string s;
  for (int c = 0; c < e.fb().width(); ++c) {
    const auto& cl = e.fb().cell_at(r, c);
    s += cl.blank() ? std::string(" ") : std::string(cl.text());
  }
  return s;
}

std::string trimmed(const emulator& e, int r) {
  auto s = row_text(e, r);
  s.erase(s.find_last_not_of(' ') + 1);
  return s;
}

int crow(const emulator& e) { return e.fb().ds().cursor_row; }
int ccol(const emulator& e) { return e.fb().ds().cursor_col; }

}  // namespace

TEST_SUITE("terminal") {

TEST_CASE("printable ASCII lands in cells and advances the cursor") {
  emulator e(10, 3);
  e.write("hello");
  CHECK(trimmed(e, 0) == "hello");
  CHECK(crow(e) == 0);
  CHECK(ccol(e) == 5);
}

TEST_CASE("printing the last column sets the deferred-wrap flag instead of wrapping") {
  emulator e(5, 3);
  e.write("abcde");
  CHECK(ccol(e) == 4);
  CHECK(e.fb().ds().next_print_wraps);
  CHECK_FALSE(e.fb().row_at(0).wrap);
  e.write("f");
  CHECK(trimmed(e, 1) == "f");
  CHECK(e.fb().row_at(0).wrap);
  CHECK(crow(e) == 1);
  CHECK(ccol(e) == 1);
}

TEST_CASE("a carriage return clears the deferred-wrap flag so no wrap happens") {
  emulator e(5, 3);
  e.write("abcde\rX");
  CHECK(trimmed(e, 0) == "Xbcde");
  CHECK_FALSE(e.fb().row_at(0).wrap);
}

TEST_CASE("HT does not clear the deferred-wrap flag") {
  emulator e(5, 3);
  e.write("abcde\tX");
  CHECK(trimmed(e, 0) == "abcde");
  CHECK(trimmed(e, 1) == "X");
  CHECK(e.fb().row_at(0).wrap);
}

TEST_CASE("SGR and DECSET keep the deferred-wrap flag but other functions clear it") {
  emulator e(5, 3);
  e.write("abcde\x1b[1m\x1b[?25hX");
  CHECK(trimmed(e, 1) == "X");
  emulator f(5, 3);
  f.write("abcde\x1b[5nX");  // DSR: any other function clears the flag
  CHECK(trimmed(f, 0) == "abcdX");
  CHECK(trimmed(f, 1) == "");
}

TEST_CASE("without autowrap the last column is overwritten") {
  emulator e(5, 3);
  e.write("\x1b[?7labcdefg");
  CHECK(trimmed(e, 0) == "abcdg");
  CHECK(crow(e) == 0);
  CHECK(ccol(e) == 4);
}

TEST_CASE("printing at the bottom of the screen scrolls") {
  emulator e(3, 2);
  e.write("abcdefg");
  CHECK(trimmed(e, 0) == "def");
  CHECK(trimmed(e, 1) == "g");
  CHECK(e.fb().row_at(0).wrap);
}

TEST_CASE("a wide character takes two cells and blanks the second") {
  emulator e(6, 2);
  e.write("a\xE4\xBD\xA0" "b");  // a 你 b
  CHECK(e.fb().cell_at(0, 1).text() == "\xE4\xBD\xA0");
  CHECK(e.fb().cell_at(0, 1).wide());
  CHECK(e.fb().cell_at(0, 2).blank());
  CHECK(e.fb().cell_at(0, 3).text() == "b");
  CHECK(ccol(e) == 4);
}

TEST_CASE("a wide character in the last column blanks it and moves to the next row") {
  emulator e(4, 2);
  e.write("abc\xE4\xBD\xA0");
  CHECK(e.fb().cell_at(0, 3).blank());
  CHECK_FALSE(e.fb().row_at(0).wrap);
  CHECK(e.fb().cell_at(1, 0).wide());
  CHECK(crow(e) == 1);
  CHECK(ccol(e) == 2);
}

TEST_CASE("a combining character attaches to the previously printed cell") {
  emulator e(6, 2);
  e.write("e\xCC\x81x");  // e + U+0301
  CHECK(e.fb().cell_at(0, 0).text() == "e\xCC\x81");
  CHECK(e.fb().cell_at(0, 1).text() == "x");
  CHECK(ccol(e) == 2);
}

TEST_CASE("a combining character after the last column attaches to that column") {
  emulator e(3, 2);
  e.write("abc\xCC\x81");
  CHECK(e.fb().cell_at(0, 2).text() == "c\xCC\x81");
  CHECK(e.fb().ds().next_print_wraps);
}

TEST_CASE("a combining character after cursor motion goes into a blank cell with the fallback flag") {
  emulator e(6, 2);
  e.write("ab\x1b[1;5H\xCC\x81");
  const auto& c = e.fb().cell_at(0, 4);
  CHECK(c.fallback());
  CHECK(c.text() == "\xCC\x81");
  CHECK(ccol(e) == 5);
}

TEST_CASE("combining characters stop being added once the cell is full") {
  emulator e(6, 2);
  std::string s = "a";
  for (int i = 0; i < 40; ++i) s += "\xCC\x81";
  e.write(s);
  CHECK(e.fb().cell_at(0, 0).text().size() == 31);  // 1 + 15 marks of 2 bytes
  CHECK(e.fb().cell_at(0, 1).blank());
}

TEST_CASE("unprintable code points are ignored") {
  emulator e(6, 2);
  e.write("a\xF3\xA0\x80\x81" "b");  // U+E0001 is a format character: width 0 -> combines
  e.write("\xCD\xB8" "c");            // U+0378 is unassigned: width -1
  CHECK(trimmed(e, 0).substr(0, 1) == "a");
  CHECK(e.fb().cell_at(0, 2).text() == "c");
}

TEST_CASE("insert mode shifts the rest of the row right") {
  emulator e(6, 2);
  e.write("abcdef\r\x1b[4hXY");
  CHECK(trimmed(e, 0) == "XYabcd");
  e.write("\x1b[4lZ");
  CHECK(trimmed(e, 0) == "XYZbcd");
}

TEST_CASE("BS stops at column 0 and CR returns to it") {
  emulator e(6, 2);
  e.write("ab\b\b\b\bX");
  CHECK(trimmed(e, 0) == "Xb");
  e.write("cd\rY");
  CHECK(trimmed(e, 0) == "Ycd");
}

TEST_CASE("LF, VT, FF and IND move down and NEL also returns to column 0") {
  emulator e(6, 5);
  e.write("a\nb\vc\fd");
  CHECK(crow(e) == 3);
  CHECK(trimmed(e, 3) == "   d");
  e.write("\x1b" "E" "x");
  CHECK(trimmed(e, 4) == "x");
  e.write("\x1b" "D");
  CHECK(trimmed(e, 3) == "x");  // scrolled
}

// The first column from `from` on of row `r` that is not a blank of `rend`, or -1.
int first_non_blank(const emulator& e, int r, int from, const renditions& rend) {
  for (int c = from; c < e.fb().width(); ++c)
    if (!(e.fb().cell_at(r, c) == cell(rend))) return c;
  return -1;
}

TEST_CASE("lines scrolled in are blank past their text, whatever the reused row held before") {
  // Rows that scroll off are reused for the lines that scroll in, and only the cells the
  // old line had written are blanked again: every other cell must already be blank.
  emulator e(80, 24);
  for (int i = 0; i < 60; ++i) e.write(std::string(79, 'X') + "\r\n");
  for (int i = 0; i < 60; ++i) e.write(std::to_string(i) + "\r\n");
  for (int r = 0; r < 23; ++r) {
    CHECK(trimmed(e, r) == std::to_string(37 + r));
    CHECK(first_non_blank(e, r, 2, renditions{}) == -1);
  }
  // A background colour scrolls in blanks of that colour over the default ones...
  renditions red;
  red.bg = color::indexed(1);
  e.write("\x1b[41m");
  for (int i = 0; i < 30; ++i) e.write("ab\r\n");
  for (int r = 0; r < 24; ++r) CHECK(first_non_blank(e, r, r < 23 ? 2 : 0, red) == -1);
  // ...and the default background over red ones.
  e.write("\x1b[m");
  for (int i = 0; i < 30; ++i) e.write("c\r\n");
  for (int r = 0; r < 24; ++r) CHECK(first_non_blank(e, r, r < 23 ? 1 : 0, renditions{}) == -1);
}

TEST_CASE("RI moves up and scrolls down at the top of the region") {
  emulator e(4, 3);
  e.write("a\r\nb\x1b[H\x1bM" "c");
  CHECK(trimmed(e, 0) == "c");
  CHECK(trimmed(e, 1) == "a");
  CHECK(trimmed(e, 2) == "b");
}

TEST_CASE("BEL increments the bell counter") {
  emulator e(4, 3);
  e.write("\a\a");
  CHECK(e.fb().bell_count() == 2);
}

TEST_CASE("tab stops: default every 8, HTS, TBC, CHT and CBT") {
  emulator e(30, 2);
  e.write("\t");
  CHECK(ccol(e) == 8);
  e.write("\x1b[3G\x1bH\r\t");
  CHECK(ccol(e) == 2);
  e.write("\x1b[2I");
  CHECK(ccol(e) == 16);
  e.write("\x1b[Z");
  CHECK(ccol(e) == 8);
  e.write("\x1b[g\r\x1b[2I");
  CHECK(ccol(e) == 16);
  e.write("\x1b[3g\r\t");
  CHECK(ccol(e) == 29);  // no stop left: last column
}

TEST_CASE("cursor movement sequences clamp to the screen") {
  emulator e(10, 5);
  e.write("\x1b[3;4H");
  CHECK(crow(e) == 2);
  CHECK(ccol(e) == 3);
  e.write("\x1b[A");
  CHECK(crow(e) == 1);
  e.write("\x1b[0B");  // 0 means the default, 1
  CHECK(crow(e) == 2);
  e.write("\x1b[99C");
  CHECK(ccol(e) == 9);
  e.write("\x1b[2D");
  CHECK(ccol(e) == 7);
  e.write("\x1b[99A");
  CHECK(crow(e) == 0);
  e.write("\x1b[5G");
  CHECK(ccol(e) == 4);
  e.write("\x1b[4d");
  CHECK(crow(e) == 3);
  e.write("\x1b[2`");
  CHECK(ccol(e) == 1);
  e.write("\x1b[f");
  CHECK(crow(e) == 0);
  CHECK(ccol(e) == 0);
}

TEST_CASE("origin mode makes positions relative to the scrolling region") {
  emulator e(10, 10);
  e.write("\x1b[3;6r\x1b[4;4H\x1b[?6h");
  CHECK(crow(e) == 0);  // like Mosh 1.4, DECOM homes by the old mode, then switches
  CHECK(ccol(e) == 0);
  e.write("\x1b[H");
  CHECK(crow(e) == 2);
  e.write("\x1b[2;1H");
  CHECK(crow(e) == 3);
  e.write("\x1b[20;1H");
  CHECK(crow(e) == 5);
  e.write("\x1b[?6l");
  CHECK(crow(e) == 2);  // homed to the region's top: origin mode was still on
}

TEST_CASE("erase in display and erase in line use the current background") {
  emulator e(4, 3);
  e.write("abcdefghijk\x1b[2;2H\x1b[41m\x1b[K");
  CHECK(trimmed(e, 1) == "e");
  CHECK(e.fb().cell_at(1, 2).rend().bg == color::indexed(1));
  CHECK_FALSE(e.fb().cell_at(1, 2).rend().has(renditions::bold));
  e.write("\x1b[1K");
  CHECK(trimmed(e, 1) == "");
  e.write("\x1b[J");
  CHECK(trimmed(e, 2) == "");
  CHECK(trimmed(e, 0) == "abcd");
  e.write("\x1b[1J");
  CHECK(trimmed(e, 0) == "");
  e.write("x\x1b[2J");
  CHECK(trimmed(e, 1) == "");
}

TEST_CASE("erasing the last column clears the row's wrap flag") {
  emulator e(4, 3);
  e.write("abcdef");
  CHECK(e.fb().row_at(0).wrap);
  e.write("\x1b[1;3H\x1b[K");
  CHECK_FALSE(e.fb().row_at(0).wrap);
}

TEST_CASE("ICH, DCH and ECH edit cells at the cursor") {
  emulator e(6, 2);
  e.write("abcdef\x1b[1;2H\x1b[2@");
  CHECK(trimmed(e, 0) == "a  bcd");
  e.write("\x1b[3P");
  CHECK(trimmed(e, 0) == "acd");
  e.write("\x1b[X");
  CHECK(trimmed(e, 0) == "a d");
  CHECK(ccol(e) == 1);
}

TEST_CASE("IL and DL work inside the scrolling region and home the column") {
  emulator e(3, 5);
  e.write("1\r\n2\r\n3\r\n4\r\n5\x1b[2;4r\x1b[3;2H\x1b[L");
  CHECK(ccol(e) == 0);
  CHECK(trimmed(e, 2) == "");
  CHECK(trimmed(e, 3) == "3");
  CHECK(trimmed(e, 4) == "5");
  e.write("\x1b[2M");
  CHECK(trimmed(e, 2) == "");
  CHECK(trimmed(e, 1) == "2");
  CHECK(trimmed(e, 4) == "5");
}

TEST_CASE("SU and SD scroll the region without moving the cursor") {
  emulator e(3, 4);
  e.write("1\r\n2\r\n3\r\n4\x1b[2S");
  CHECK(trimmed(e, 0) == "3");
  CHECK(trimmed(e, 2) == "");
  CHECK(crow(e) == 3);
  e.write("\x1b[T");
  CHECK(trimmed(e, 1) == "3");
}

TEST_CASE("DECSTBM ignores invalid ranges and homes the cursor otherwise") {
  emulator e(3, 5);
  e.write("\x1b[3;3H\x1b[4;2r");
  CHECK(e.fb().ds().scroll_top == 0);
  CHECK(e.fb().ds().scroll_bottom == 4);
  CHECK(crow(e) == 2);
  e.write("\x1b[2;4r");
  CHECK(e.fb().ds().scroll_top == 1);
  CHECK(e.fb().ds().scroll_bottom == 3);
  CHECK(crow(e) == 0);
  e.write("\x1b[4;1Hx\ny\nz");
  CHECK(trimmed(e, 2) == " y");  // the region scrolled twice under the cursor
  CHECK(trimmed(e, 3) == "  z");
  CHECK(trimmed(e, 4) == "");
}

TEST_CASE("SGR sets attributes and resets them") {
  emulator e(10, 2);
  e.write("\x1b[1;3;4;5;7;8mA");
  const auto& r = e.fb().cell_at(0, 0).rend();
  CHECK(r.has(renditions::bold));
  CHECK(r.has(renditions::italic));
  CHECK(r.has(renditions::underlined));
  CHECK(r.has(renditions::blink));
  CHECK(r.has(renditions::inverse));
  CHECK(r.has(renditions::invisible));
  e.write("\x1b[22;23;24;25;27;28m");
  CHECK(e.fb().ds().rend == renditions{});
  e.write("\x1b[2m");  // faint is ignored, as in Mosh 1.4
  CHECK(e.fb().ds().rend == renditions{});
  e.write("\x1b[1;31m\x1b[m");
  CHECK(e.fb().ds().rend == renditions{});
}

TEST_CASE("SGR colours map onto palette indices and true colour") {
  emulator e(10, 2);
  e.write("\x1b[31;42m");
  CHECK(e.fb().ds().rend.fg == color::indexed(1));
  CHECK(e.fb().ds().rend.bg == color::indexed(2));
  e.write("\x1b[38;5;1m");
  CHECK(e.fb().ds().rend.fg == color::indexed(1));  // indices 0-7 are the basic colours
  e.write("\x1b[93;104m");
  CHECK(e.fb().ds().rend.fg == color::indexed(11));
  CHECK(e.fb().ds().rend.bg == color::indexed(12));
  e.write("\x1b[38;5;200;48;2;1;2;3m");
  CHECK(e.fb().ds().rend.fg == color::indexed(200));
  CHECK(e.fb().ds().rend.bg == color::rgb(1, 2, 3));
  e.write("\x1b[38;2;0;0;0m");
  CHECK(e.fb().ds().rend.fg == color::rgb(0, 0, 0));
  e.write("\x1b[39;49m");
  CHECK(e.fb().ds().rend == renditions{});
}

TEST_CASE("SGR colours in the colon form: 38:5:n, 38:2::r:g:b, 38:2:r:g:b, 48 and 58") {
  emulator e(10, 2);
  e.write("\x1b[1m\x1b[38:2:1:2:3m");
  CHECK(e.fb().ds().rend.fg == color::rgb(1, 2, 3));
  CHECK(e.fb().ds().rend.has(renditions::bold));
  e.write("\x1b[38:2::4:5:6;48:5:200m");
  CHECK(e.fb().ds().rend.fg == color::rgb(4, 5, 6));
  CHECK(e.fb().ds().rend.bg == color::indexed(200));
  e.write("\x1b[58:2::7:8:9m");
  CHECK(e.fb().ds().rend.ul == color::rgb(7, 8, 9));
  e.write("\x1b[58;5;17m");
  CHECK(e.fb().ds().rend.ul == color::indexed(17));
  e.write("\x1b[59m");
  CHECK(e.fb().ds().rend.ul.is_default());
  e.write("\x1b[38:5:300m");  // out of range: unchanged
  CHECK(e.fb().ds().rend.fg == color::rgb(4, 5, 6));
  // The sub-parameters belong to the 38: the 1 after them is bold again, not a colour.
  e.write("\x1b[0;38:5:9;3m");
  CHECK(e.fb().ds().rend.fg == color::indexed(9));
  CHECK(e.fb().ds().rend.has(renditions::italic));
  CHECK(!e.fb().ds().rend.has(renditions::bold));
}

TEST_CASE("underline styles 4:0 to 4:5 and 24") {
  emulator e(10, 2);
  e.write("\x1b[4:3m");
  CHECK(e.fb().ds().rend.has(renditions::underlined));
  CHECK(e.fb().ds().rend.ul_style == underline_style::curly);
  CHECK(e.fb().ds().rend.extended());
  e.write("\x1b[4:2mx");
  CHECK(e.fb().cell_at(0, 0).rend().ul_style == underline_style::double_line);
  CHECK(e.fb().row_at(0).extended);
  e.write("\x1b[4:4m");
  CHECK(e.fb().ds().rend.ul_style == underline_style::dotted);
  e.write("\x1b[4:5m");
  CHECK(e.fb().ds().rend.ul_style == underline_style::dashed);
  e.write("\x1b[4:1m");
  CHECK(e.fb().ds().rend.ul_style == underline_style::single);
  CHECK(!e.fb().ds().rend.extended());
  e.write("\x1b[4:3m\x1b[4:0m");
  CHECK(!e.fb().ds().rend.has(renditions::underlined));
  CHECK(e.fb().ds().rend == renditions{});
  e.write("\x1b[4:3m\x1b[24m");
  CHECK(e.fb().ds().rend == renditions{});
  e.write("\x1b[4:3m\x1b[4m");  // plain SGR 4 is the single underline
  CHECK(e.fb().ds().rend.ul_style == underline_style::single);
}

TEST_CASE("SGR 21 is the double underline, as 4:2, and goes with 24 or 4:0") {
  emulator e(10, 2);
  e.write("\x1b[1;21mx");
  CHECK(e.fb().cell_at(0, 0).rend().has(renditions::underlined));
  CHECK(e.fb().cell_at(0, 0).rend().ul_style == underline_style::double_line);
  CHECK(e.fb().cell_at(0, 0).rend().has(renditions::bold));  // not "bold off"
  CHECK(e.fb().row_at(0).extended);
  renditions as_colon;
  {
    emulator c(10, 2);
    c.write("\x1b[1;4:2mx");
    as_colon = c.fb().cell_at(0, 0).rend();
  }
  CHECK(e.fb().cell_at(0, 0).rend() == as_colon);
  e.write("\x1b[24m");
  CHECK(!e.fb().ds().rend.has(renditions::underlined));
  CHECK(!e.fb().ds().rend.extended());
  e.write("\x1b[21m\x1b[4:0m");
  CHECK(!e.fb().ds().rend.has(renditions::underlined));
  e.write("\x1b[21;4m");  // a later plain 4 is the single underline again
  CHECK(e.fb().ds().rend.ul_style == underline_style::single);
}

TEST_CASE("a colon in any CSI sequence but SGR makes it ignored") {
  emulator e(10, 5);
  e.write("\x1b[3:1H");
  CHECK(crow(e) == 0);
  CHECK(ccol(e) == 0);
  e.write("\x1b[3;1H");
  CHECK(crow(e) == 2);
}

TEST_CASE("SCOSC and SCORC (CSI s, CSI u) save and restore the cursor like DECSC/DECRC") {
  emulator e(10, 5);
  e.write("\x1b[2;3H\x1b[1m\x1b[s\x1b[H\x1b[0m\x1b[u");
  CHECK(crow(e) == 1);
  CHECK(ccol(e) == 2);
  CHECK(e.fb().ds().rend.has(renditions::bold));
  // With parameters they are other functions, not a save or a restore.
  e.write("\x1b[4;4H\x1b[1;5s\x1b[H\x1b[u");
  CHECK(crow(e) == 1);
  CHECK(ccol(e) == 2);
  e.write("\x1b[H\x1b[1u");
  CHECK(crow(e) == 0);
}

TEST_CASE("a narrow character over half of a wide one blanks the other half (program output)") {
  emulator e(10, 2, emulator_options::server(0));
  e.write("\xE4\xB8\xAD\xE6\x96\x87");  // two wide characters in columns 0-3
  e.write("\x1b[1;2Hx");                     // over the right half of the first
  CHECK(e.fb().cell_at(0, 0).blank());
  CHECK(!e.fb().cell_at(0, 0).wide());
  CHECK(e.fb().cell_at(0, 1).text() == "x");
  CHECK(e.fb().cell_at(0, 2).wide());
  e.write("\x1b[1;3Hy");                     // over the left half of the second
  CHECK(e.fb().cell_at(0, 2).text() == "y");
  CHECK(!e.fb().cell_at(0, 2).wide());
  CHECK(e.fb().cell_at(0, 3).blank());
  e.write("\x1b[2;1H\xE4\xB8\xAD\x1b[2;2H\xC3\xA9");  // a non-ASCII narrow one
  CHECK(e.fb().cell_at(1, 0).blank());
  CHECK(e.fb().cell_at(1, 1).text() == "\xC3\xA9");
  // A frame diff's receiver keeps Mosh 1.4's behaviour: the wide character stays.
  emulator stock(10, 2);
  stock.write("\xE4\xB8\xAD\x1b[1;2Hx");
  CHECK(stock.fb().cell_at(0, 0).wide());
}

TEST_CASE("DECSC and DECRC save and restore position, renditions and modes") {
  emulator e(10, 5);
  e.write("\x1b[2;3H\x1b[1m\x1b[?7l\x1b" "7\x1b[H\x1b[0m\x1b[?7h\x1b" "8");
  CHECK(crow(e) == 1);
  CHECK(ccol(e) == 2);
  CHECK(e.fb().ds().rend.has(renditions::bold));
  CHECK_FALSE(e.fb().ds().auto_wrap);
}

TEST_CASE("DECRC snaps a saved position into a smaller screen") {
  emulator e(10, 5);
  e.write("\x1b[5;10H\x1b" "7");
  e.resize(4, 3);
  e.write("\x1b" "8");
  CHECK(crow(e) == 2);
  CHECK(ccol(e) == 3);
}

TEST_CASE("RIS clears screen, title and clipboard but keeps the bell count") {
  emulator e(10, 3);
  e.write("abc\a\x1b]0;t\a\x1b]52;c;eA==\a\x1b[1m\x1b" "c");
  CHECK(trimmed(e, 0) == "");
  CHECK(e.fb().title().empty());
  CHECK(e.fb().clipboard().empty());
  CHECK(e.fb().bell_count() == 1);
  CHECK(e.fb().ds().rend == renditions{});
  CHECK_FALSE(e.fb().title_initialized());
}

TEST_CASE("DECALN fills the screen with E and leaves the cursor and margins alone") {
  emulator e(3, 3);
  e.write("\x1b[2;3r\x1b[2;2Ha\x1b#8");
  CHECK(row_text(e, 0) == "EEE");
  CHECK(row_text(e, 2) == "EEE");
  CHECK(crow(e) == 1);
  CHECK(ccol(e) == 2);
  CHECK(e.fb().ds().scroll_top == 1);
}

TEST_CASE("DECSTR resets modes, region, renditions and the saved cursor") {
  emulator e(10, 5);
  e.write("\x1b[2;3r\x1b[4h\x1b[?6h\x1b[?25l\x1b[?1h\x1b[1m\x1b[3;3H\x1b" "7\x1b[!p");
  const auto& ds = e.fb().ds();
  CHECK_FALSE(ds.insert_mode);
  CHECK_FALSE(ds.origin_mode);
  CHECK(ds.cursor_visible);
  CHECK_FALSE(ds.application_cursor_keys);
  CHECK(ds.scroll_top == 0);
  CHECK(ds.scroll_bottom == 4);
  CHECK(ds.rend == renditions{});
  e.write("\x1b" "8");
  CHECK(crow(e) == 0);
  CHECK(ccol(e) == 0);
}

TEST_CASE("OSC 0, 1, 2 and ; set the title and icon name") {
  emulator e(10, 3);
  e.write("\x1b]0;both\a");
  CHECK(e.fb().title() == U"both");
  CHECK(e.fb().icon_name() == U"both");
  CHECK(e.fb().title_initialized());
  e.write("\x1b]1;icon\a");
  CHECK(e.fb().icon_name() == U"icon");
  CHECK(e.fb().title() == U"both");
  e.write("\x1b]2;win\x1b\\");
  CHECK(e.fb().title() == U"win");
  CHECK(e.fb().icon_name() == U"icon");
  e.write("\x1b];semi\a");
  CHECK(e.fb().title() == U"semi");
  CHECK(e.fb().icon_name() == U"semi");
  e.write("\x1b]3;x\a\x1b]8;;http://x\a");
  CHECK(e.fb().title() == U"semi");
}

TEST_CASE("titles are cut to 256 code points counting the prefix") {
  emulator e(10, 3);
  std::string s = "\x1b]2;";
  for (int i = 0; i < 300; ++i) s += "\xC3\xA9";
  e.write(s + "\a");
  CHECK(e.fb().title().size() == 254);
  e.write("\x1b];" + std::string(300, 'x') + "\a");
  CHECK(e.fb().title().size() == 255);
}

TEST_CASE("OSC 52 stores the clipboard payload verbatim") {
  emulator e(10, 3);
  e.write("\x1b]52;c;aGk=\a");
  CHECK(e.fb().clipboard() == "aGk=");
  e.write("\x1b]52;p;eHl6\a");
  CHECK(e.fb().clipboard() == "aGk=");
}

TEST_CASE("DEC modes set the synchronized draw state") {
  emulator e(10, 3);
  e.write("\x1b[?5h\x1b[?25l\x1b[?2004h\x1b[?1002h\x1b[?1004h\x1b[?1006h\x1b[?1007h\x1b[?1h");
  const auto& ds = e.fb().ds();
  CHECK(ds.reverse_video);
  CHECK_FALSE(ds.cursor_visible);
  CHECK(ds.bracketed_paste);
  CHECK(ds.mouse == mouse_reporting::button_event);
  CHECK(ds.mouse_focus_events);
  CHECK(ds.mouse_enc == mouse_encoding::sgr);
  CHECK(ds.mouse_alternate_scroll);
  CHECK(ds.application_cursor_keys);
  e.write("\x1b[?1000l\x1b[?1015l");
  CHECK(ds.mouse == mouse_reporting::none);
  CHECK(ds.mouse_enc == mouse_encoding::none);
  e.write("\x1b[?9h");
  CHECK(ds.mouse == mouse_reporting::x10);
}

TEST_CASE("DECSET 3 clears the screen and homes the cursor") {
  emulator e(10, 3);
  e.write("abc\r\ndef\x1b[?3h");
  CHECK(trimmed(e, 0) == "");
  CHECK(trimmed(e, 1) == "");
  CHECK(crow(e) == 0);
  CHECK(ccol(e) == 0);
  CHECK(e.fb().width() == 10);
}

TEST_CASE("device attribute and status requests get the 1.4 replies") {
  emulator e(10, 5);
  e.write("\x1b[c\x1b[>c\x1b[5n\x1b[3;4H\x1b[6n");
  CHECK(e.take_replies() == "\x1b[?62c\x1b[>1;10;0c\x1b[0n\x1b[3;4R");
  CHECK(e.take_replies().empty());
}

TEST_CASE("input translation rewrites SS3 cursor keys unless DECCKM is set") {
  emulator e(10, 3);
  CHECK(e.translate_input("x\x1bOA\x1bOD\x1bOP") == "x\x1b[A\x1b[D\x1bOP");
  e.write("\x1b[?1h");
  CHECK(e.translate_input("\x1bOB") == "\x1bOB");
}

TEST_CASE("resize cuts and pads rows, clears wrap flags and clamps the cursor") {
  emulator e(5, 3);
  e.write("abcdefg\x1b[41m");
  e.resize(3, 2);
  CHECK(row_text(e, 0) == "abc");
  CHECK_FALSE(e.fb().row_at(0).wrap);
  CHECK(crow(e) == 1);
  e.resize(6, 4);
  CHECK(e.fb().cell_at(0, 5).rend().bg == color::indexed(1));
  CHECK(e.fb().ds().scroll_bottom == 3);
  CHECK(e.fb().ds().tabs.size() == 6);
}

TEST_CASE("the alternate screen 1049 saves the cursor, clears, and restores the normal screen exactly") {
  emulator e(6, 3);
  e.write("ab\r\ncdefghi\x1b[2;2H");
  const framebuffer before = e.fb();
  e.write("\x1b[?1049h");
  CHECK(e.alternate_screen());
  CHECK(trimmed(e, 0) == "");
  e.write("XYZ\x1b[3;3Hq");
  e.write("\x1b[?1049l");
  CHECK_FALSE(e.alternate_screen());
  CHECK(e.fb() == before);
  CHECK(e.fb().row_at(1).wrap == before.row_at(1).wrap);
}

TEST_CASE("alternate screen 47 keeps its contents and 1047 clears them on exit") {
  emulator e(6, 3);
  e.write("main\x1b[?47h\rALT\x1b[?47l");
  CHECK(trimmed(e, 0) == "main");
  e.write("\x1b[?47h");
  CHECK(trimmed(e, 0).substr(0, 3) == "ALT");
  e.write("\x1b[?1047l\x1b[?1047h");
  CHECK(trimmed(e, 0) == "");
  e.write("\x1b[?1047l");
  CHECK(trimmed(e, 0) == "main");
}

TEST_CASE("the hidden normal screen follows a resize") {
  emulator e(6, 3);
  e.write("abcdef\x1b[?1049h");
  e.resize(4, 5);
  e.write("\x1b[?1049l");
  CHECK(row_text(e, 0) == "abcd");
  CHECK(e.fb().height() == 5);
}

TEST_CASE("RIS leaves the alternate screen") {
  emulator e(6, 3);
  e.write("\x1b[?1049hx\x1b" "c");
  CHECK_FALSE(e.alternate_screen());
}

TEST_CASE("DEC special graphics translate to Unicode box drawing") {
  emulator e(10, 3);
  e.write("\x1b(0lqkx~_\x1b(Bq");
  CHECK(trimmed(e, 0) == "\u250C\u2500\u2510\u2502\u00B7\u00A0q");
}

TEST_CASE("SO and SI switch between G1 and G0") {
  emulator e(10, 3);
  e.write("\x1b)0a\x0eq\x0fq");
  CHECK(e.fb().cell_at(0, 0).text() == "a");
  CHECK(e.fb().cell_at(0, 1).text() == "\u2500");
  CHECK(e.fb().cell_at(0, 2).text() == "q");
}

TEST_CASE("REP repeats the preceding graphic character") {
  emulator e(10, 3);
  e.write("x\x1b[3b");
  CHECK(trimmed(e, 0) == "xxxx");
  e.write("\r\x1b[2b");  // nothing printed just before: ignored
  CHECK(trimmed(e, 0) == "xxxx");
}

TEST_CASE("C1 controls arrive as UTF-8 code points and are honoured") {
  emulator e(10, 3);
  e.write("\xC2\x9B" "2;3H");
  CHECK(crow(e) == 1);
  CHECK(ccol(e) == 2);
  e.write("\xC2\x9D" "2;c1\xC2\x9C");
  CHECK(e.fb().title() == U"c1");
}

TEST_CASE("copying an emulator shares rows until one side writes") {
  emulator e(10, 3);
  e.write("abc");
  emulator copy = e;
  CHECK(copy.fb().shares_row(e.fb(), 0));
  copy.write("d");
  CHECK_FALSE(copy.fb().shares_row(e.fb(), 0));
  CHECK(copy.fb().shares_row(e.fb(), 1));
  CHECK(trimmed(e, 0) == "abc");
  CHECK_FALSE(copy.fb() == e.fb());
}

TEST_CASE("equality ignores unsynchronized state such as tab stops and the scrolling region") {
  emulator a(10, 3), b(10, 3);
  b.write("\x1b[3g\x1b[1;2r\x1b[H\x1b[4h\x1b[?1h");
  CHECK(a.fb() == b.fb());
  b.write("\x1b[?25l");
  CHECK_FALSE(a.fb() == b.fb());
}


TEST_CASE("ill-formed UTF-8 prints U+FFFD and the following character survives") {
  emulator e(10, 2);
  e.write("a\xE2\x82" "b\xFF");
  CHECK(e.fb().cell_at(0, 1).text() == "\uFFFD");
  CHECK(e.fb().cell_at(0, 2).text() == "b");
  CHECK(e.fb().cell_at(0, 3).text() == "\uFFFD");
}

TEST_CASE("a UTF-8 character split across writes prints once") {
  emulator e(10, 2);
  e.write("\xE4\xBD");
  e.write("\xA0x");
  CHECK(e.fb().cell_at(0, 0).text() == "\xE4\xBD\xA0");
  CHECK(e.fb().cell_at(0, 2).text() == "x");
}

TEST_CASE("an escape sequence split across writes still dispatches") {
  emulator e(10, 5);
  e.write("\x1b[");
  e.write("3;");
  e.write("4H");
  CHECK(crow(e) == 2);
  CHECK(ccol(e) == 3);
}

TEST_CASE("a wide character that does not fit moves to the next row even with autowrap off") {
  emulator e(4, 2);
  e.write("\x1b[?7labcd\xE4\xBD\xA0");
  CHECK(e.fb().cell_at(0, 3).blank());
  CHECK(e.fb().cell_at(1, 0).wide());
  CHECK(crow(e) == 1);
  CHECK(ccol(e) == 2);
}

TEST_CASE("CUU and CUD stop at the scrolling margins when inside the region") {
  emulator e(5, 10);
  e.write("\x1b[3;6r\x1b[5;1H\x1b[9A");
  CHECK(crow(e) == 2);
  e.write("\x1b[9B");
  CHECK(crow(e) == 5);
  e.write("\x1b[8;1H\x1b[9B");
  CHECK(crow(e) == 9);
}

TEST_CASE("IL and DL outside the scrolling region change no rows") {
  emulator e(3, 5);
  e.write("1\r\n2\r\n3\r\n4\r\n5\x1b[2;3r\x1b[5;2H\x1b[L\x1b[M");
  CHECK(trimmed(e, 4) == "5");
  CHECK(trimmed(e, 1) == "2");
  CHECK(ccol(e) == 0);
}

TEST_CASE("CAN abandons an OSC string without setting the title") {
  emulator e(10, 2);
  e.write("\x1b]0;nope\x18" "x");
  CHECK(e.fb().title().empty());
  CHECK(trimmed(e, 0) == "x");
}

TEST_CASE("DECSC saves the character set designations") {
  emulator e(10, 2);
  e.write("\x1b(0\x1b" "7\x1b(B\x1b" "8qq");  // DECRC brings back G0 = graphics
  CHECK(e.fb().cell_at(0, 0).text() == "\u2500");
  CHECK(e.fb().cell_at(0, 1).text() == "\u2500");
  e.write("\x1b(Bq");
  CHECK(e.fb().cell_at(0, 2).text() == "q");
}

TEST_CASE("DECSET 1048 saves and restores the cursor") {
  emulator e(10, 5);
  e.write("\x1b[3;4H\x1b[?1048h\x1b[H\x1b[?1048l");
  CHECK(crow(e) == 2);
  CHECK(ccol(e) == 3);
}

TEST_CASE("the alternate screen is not part of synchronized equality") {
  emulator a(6, 3), b(6, 3);
  b.write("\x1b[?47h");
  CHECK(b.alternate_screen());
  CHECK(a.fb() == b.fb());
}

TEST_CASE("cleared and scrolled-in rows share one blank row until written") {
  emulator e(6, 4);
  e.write("a\r\nb\x1b[2J");
  CHECK(e.fb().row_at(0) == e.fb().row_at(3));
  e.write("\x1b[S");
  const framebuffer copy = e.fb();
  e.write("\x1b[Hx");
  CHECK(trimmed(e, 0) == "x");
  CHECK(copy.cell_at(0, 0).blank());
  CHECK_FALSE(e.fb().shares_row(copy, 0));
  CHECK(e.fb().shares_row(copy, 1));
}

TEST_CASE("a written row gets a generation no other row of the screen has") {
  emulator e(6, 4);
  e.write("\x1b[2J\x1b[2;1Hx");
  const auto g = e.fb().row_at(1).generation;
  for (int r = 0; r < 4; ++r)
    if (r != 1) CHECK(e.fb().row_at(r).generation != g);
}

TEST_CASE("replies are owed only for requests, and never for a hoststring-like stream") {
  emulator e(20, 5);
  e.write("\x07\x1b]0;t\x07\x1b]52;c;eA==\x07\x1b[?5h\x1b[r\x1b[0m\x1b[H\x1b[2J\x1b[?25l"
          "ab\x1b[5X\x1b[K\r\n\x1b[2;3H\x1b[0;1;38;2;1;2;3mX\x1b[?25h\x1b[?2004h\x1b[?1002h"
          "\x1b[?1004h\x1b[?1006h\x1b[;3r\x1b[3H\n\x1b[r");
  CHECK(e.take_replies().empty());
}

}  // TEST_SUITE

// The history: which lines enter it, its numbering and bound, its encoding (round
// trip and hostile input) and the bytes that print it into a local terminal; and the
// reflow of the main screen on a width change.

#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "mosh2/terminal/display.hpp"
#include "mosh2/terminal/emulator.hpp"
#include "mosh2/terminal/history.hpp"

using namespace mosh2::terminal;

namespace {

std::string text_of(const history_line& l) {
  std::string s;
  for (std::size_t i = 0; i < l.cells.size(); ++i) {
    s += l.cells[i].blank() ? std::string(" ") : std::string(l.cells[i].text());
    if (l.cells[i].wide()) ++i;
  }
  return s;
}

std::string row_text(const framebuffer& fb, int r) {
  std::string s;
  for (int c = 0; c < fb.width(); ++c) {
    const cell& x = fb.cell_at(r, c);
    s += x.blank() ? std::string(" ") : std::string(x.text());
    if (x.wide()) ++c;
  }
  s.erase(s.find_last_not_of(' ') + 1);
  return s;
}

// A fixed-seed generator (xorshift64), so that "random" tests see the same inputs every run.
struct xorshift {
  std::uint64_t x;
  std::uint64_t operator()() {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
  }
};

std::vector<std::string> texts(const history& h) {
  std::vector<std::string> out;
  for (std::uint64_t n = h.first(); n < h.end(); ++n) out.push_back(text_of(h.line(n)));
  return out;
}


/// The logical lines of history and screen together, joined by their wrap flags (the
/// screen's trailing blank rows left out): what a reflow must keep, whatever the width.
std::vector<std::string> logical_lines(const emulator& e) {
  std::vector<std::string> out;
  bool joining = false;
  auto add = [&](const std::string& t, bool wrap) {
    if (joining) out.back() += t;
    else out.push_back(t);
    joining = wrap;
  };
  if (const auto* h = e.history())
    for (std::uint64_t n = h->first(); n < h->end(); ++n) add(text_of(h->line(n)), h->line(n).wrap);
  for (int r = 0; r < e.fb().height(); ++r) add(row_text(e.fb(), r), e.fb().row_at(r).wrap);
  while (!out.empty() && out.back().empty()) out.pop_back();
  return out;
}

/// The character under the cursor.
std::string under_cursor(const emulator& e) {
  return std::string(e.fb().cell_at(e.fb().ds().cursor_row, e.fb().ds().cursor_col).text());
}
}  // namespace

TEST_SUITE("terminal") {

TEST_CASE("lines scrolled off the top of the main screen enter the history, numbered from 0") {
  emulator e(10, 3, emulator_options::server(100));
  REQUIRE(e.history() != nullptr);
  e.write("one\r\ntwo\r\nthree\r\nfour\r\nfive");
  const history& h = *e.history();
  CHECK(h.end() == 2);
  CHECK(h.first() == 0);
  CHECK(texts(h) == std::vector<std::string>{"one", "two"});
  CHECK(row_text(e.fb(), 0) == "three");
}

TEST_CASE("the history keeps attributes, colours, wide and combining characters and the wrap flag") {
  emulator e(6, 2, emulator_options::server(100));
  e.write("\x1b[1;31;48;2;1;2;3mab\x1b[4:3;58:5:9mc\x1b[0m\xE4\xB8\xAD" "e\xCC\x81" "fg\r\n\n\n");
  const history& h = *e.history();
  REQUIRE(h.size() == 3);
  const history_line first = h.line(0);
  CHECK(first.wrap);
  CHECK(text_of(first) == "abc\xE4\xB8\xAD" "e\xCC\x81");
  CHECK(first.cells[0].rend().has(renditions::bold));
  CHECK(first.cells[0].rend().fg == color::indexed(1));
  CHECK(first.cells[0].rend().bg == color::rgb(1, 2, 3));
  CHECK(first.cells[2].rend().ul_style == underline_style::curly);
  CHECK(first.cells[2].rend().ul == color::indexed(9));
  CHECK(first.cells[3].wide());
  const history_line second = h.line(1);
  CHECK(!second.wrap);
  CHECK(text_of(second) == "fg");
}

TEST_CASE("the alternate screen and a region below the top add nothing to the history") {
  emulator e(10, 4, emulator_options::server(100));
  e.write("\x1b[?1049h");
  for (int i = 0; i < 10; ++i) e.write("alt\r\n");
  CHECK(e.history()->end() == 0);
  e.write("\x1b[?1049l\x1b[2;4r\x1b[4;1H");
  for (int i = 0; i < 10; ++i) e.write("region\r\n");
  CHECK(e.history()->end() == 0);
  // A region that includes the top line does scroll into the history.
  e.write("\x1b[1;3r\x1b[3;1H\r\n");
  CHECK(e.history()->end() == 1);
}

TEST_CASE("the history is bounded and says how many lines a consumer missed") {
  emulator e(10, 2, emulator_options::server(5));
  for (int i = 0; i < 20; ++i) e.write(std::to_string(i) + "\r\n");
  const history& h = *e.history();
  CHECK(h.end() == 19);  // the first line feed moves down, the 19 others scroll
  CHECK(h.size() == 5);
  CHECK(h.first() == 14);
  CHECK(texts(h) == std::vector<std::string>{"14", "15", "16", "17", "18"});
  const auto s = h.from(3);
  CHECK(s.first == 14);
  CHECK(s.skipped == 11);
  CHECK(s.end == 19);
  CHECK(h.from(16).skipped == 0);
  CHECK(h.from(16).first == 16);
  CHECK(h.from(100).first == 19);  // nothing yet
}

TEST_CASE("drop_newest takes back unsettled lines of a wrapped-around ring; their numbers are reused") {
  history h(4);
  row r(8, renditions{});
  auto push = [&](char c) {
    r.cells[0].set_ascii(c, renditions{});
    h.push(r);
  };
  for (char c : std::string("abcdef")) push(c);  // the ring wrapped: c d e f
  REQUIRE(texts(h) == std::vector<std::string>{"c", "d", "e", "f"});
  h.settle(3);  // a..c went to a consumer
  CHECK(h.withdrawable_from() == 3);
  h.drop_newest(10);  // only d..f may go
  CHECK(texts(h) == std::vector<std::string>{"c"});
  CHECK(h.end() == 3);
  for (char c : std::string("xyzw")) push(c);
  CHECK(texts(h) == std::vector<std::string>{"x", "y", "z", "w"});
  CHECK(h.first() == 3);
  CHECK(h.end() == 7);
  h.drop_newest(1);
  CHECK(texts(h) == std::vector<std::string>{"x", "y", "z"});
  h.settle(2);  // the mark never goes back
  CHECK(h.withdrawable_from() == 3);
  h.drop_newest(0);
  CHECK(h.end() == 6);
}

TEST_CASE("a full ring reuses its storage and set_limit keeps the newest lines in order") {
  history h(3);
  row r(8, renditions{});
  for (int i = 0; i < 7; ++i) {
    r.cells[0].set_ascii(static_cast<char>('a' + i), renditions{});
    h.push(r);
  }
  CHECK(texts(h) == std::vector<std::string>{"e", "f", "g"});
  h.set_limit(2);
  CHECK(texts(h) == std::vector<std::string>{"f", "g"});
  h.set_limit(4);
  r.cells[0].set_ascii('h', renditions{});
  h.push(r);
  CHECK(texts(h) == std::vector<std::string>{"f", "g", "h"});
  CHECK(h.end() == 8);
  history off(0);
  off.push(r);
  CHECK(off.end() == 1);
  CHECK(off.size() == 0);
}

TEST_CASE("history memory stays within the bound: short lines take no heap block of their own") {
  emulator e(80, 24, emulator_options::server(1000));
  for (int i = 0; i < 5000; ++i) e.write(std::to_string(i) + "\r\n");
  CHECK(e.history()->size() == 1000);
  CHECK(e.history()->bytes() <= 2048 * sizeof(std::string));
}

// What the plain encoder (encode_history_line, the one a run of decoded lines goes
// through) writes for a row as the history keeps it.
std::string plain_encoding(const row& r) {
  std::string out;
  encode_history_line(r.cells, r.wrap, out);
  return out;
}

// Pushes each row into a ring of `limit` lines and checks, after every push, that every
// line kept is stored exactly as the plain encoder writes it and decodes back to the
// row's cells. The ring's own encoders (the one-pass one and the fast path for plain
// lines) must not differ from it, whatever slot and storage a line lands in.
void check_ring_encoding(const std::vector<row>& rows, std::size_t limit) {
  history h(limit);
  std::vector<std::string> want;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    h.push(rows[i]);
    want.push_back(plain_encoding(rows[i]));
    for (std::uint64_t n = h.first(); n < h.end(); ++n) {
      INFO("row " << i << ", line " << n);
      REQUIRE(h.encoded(n) == want[static_cast<std::size_t>(n)]);
    }
    std::string run(1, static_cast<char>(history_encoding_version));
    run += '\x00';  // first line number
    run += '\x01';
    run += want.back();
    auto back = decode_history(run);
    if (back) {  // rows with text that is not printable UTF-8 are refused on both sides alike
      REQUIRE(back->lines.size() == 1);
      std::vector<cell> cells = rows[i].cells;
      while (!cells.empty() && cells.back().blank() && !cells.back().wide() && !cells.back().fallback() &&
             cells.back().rend() == renditions{})
        cells.pop_back();
      CHECK(back->lines[0].cells == cells);
      CHECK(back->lines[0].wrap == rows[i].wrap);
    }
  }
}

row ascii_row(int width, std::string_view text, renditions r = {}) {
  row out(width, renditions{});
  for (std::size_t i = 0; i < text.size(); ++i) out.cells[i].set_ascii(text[i], r);
  out.blank_from = text.size();
  return out;
}

TEST_CASE("the ring stores every kind of line exactly as the plain encoder writes it") {
  renditions bold_red;
  bold_red.set(renditions::bold, true);
  bold_red.fg = color::indexed(1);
  renditions high;  // an indexed colour of 200 takes two varint bytes
  high.fg = color::indexed(200);
  renditions rgb;
  rgb.bg = color::rgb(1, 2, 3);
  renditions curly;
  curly.set_underline(underline_style::curly);
  curly.ul = color::indexed(9);
  renditions blue_bg;
  blue_bg.bg = color::indexed(4);
  std::vector<row> rows;
  rows.push_back(ascii_row(80, ""));
  rows.push_back(ascii_row(80, "12345"));
  rows.push_back(ascii_row(80, "12345", bold_red));
  rows.push_back(ascii_row(80, "12345", high));
  rows.push_back(ascii_row(80, "12345", rgb));
  rows.push_back(ascii_row(80, "12345", curly));
  rows.push_back(ascii_row(80, "12345", bold_red));  // the same renditions as two lines ago
  rows.push_back(ascii_row(80, std::string(22, 'a')));
  rows.push_back(ascii_row(80, std::string(23, 'b')));  // the longest plain line a slot holds
  rows.push_back(ascii_row(80, std::string(24, 'c')));
  rows.push_back(ascii_row(80, std::string(80, 'd')));
  rows.push_back(ascii_row(80, std::string(23, 'e'), high));
  {  // wrapped
    row r = ascii_row(10, "0123456789");
    r.wrap = true;
    rows.push_back(r);
    row e = ascii_row(10, "");
    e.wrap = true;
    rows.push_back(e);
  }
  {  // one cell of another rendition, first, middle or last
    for (std::size_t at : {0, 3, 6}) {
      row r = ascii_row(80, "abcdefg");
      r.cells[at].set_ascii(r.cells[at].text()[0], bold_red);
      rows.push_back(r);
    }
  }
  {  // wide, combining and base-less (fallback) cells, and a space written as text
    row r = ascii_row(20, "ab ");
    r.cells[3].set_char("\xE4\xB8\xAD", renditions{}, true);
    r.cells[5].set_char("e", renditions{}, false);
    r.cells[5].append_text("\xCC\x81");
    r.cells[6].set_text("\xCC\x81");
    r.cells[6].set_fallback(true);
    r.cells[7].set_ascii('z', renditions{});
    r.blank_from = 8;
    rows.push_back(r);
    row w = ascii_row(20, "");
    w.cells[0].set_char("\xE4\xB8\xAD", curly, true);
    w.cells[1].reset(curly);
    w.blank_from = 2;
    rows.push_back(w);
  }
  {  // a blank in the middle (the cursor moved on) and a text cell holding a control byte
    row r = ascii_row(80, "ab");
    r.cells[3].set_ascii('c', renditions{});
    r.blank_from = 4;
    rows.push_back(r);
    row c = ascii_row(80, "ab");
    c.cells[1].set_text("\x01");
    rows.push_back(c);
  }
  {  // trailing blanks: coloured ones are kept, default ones left out, known or not
    row r = ascii_row(30, "text");
    for (std::size_t i = 4; i < 30; ++i) r.cells[i].reset(blue_bg);
    r.blank_from = 4;
    r.blank_rend = blue_bg;
    rows.push_back(r);
    row u = ascii_row(30, "text");
    u.blank_from = row::unknown_blanks;
    rows.push_back(u);
    row v = ascii_row(30, "text");
    v.cells[10].reset(blue_bg);
    v.blank_from = row::unknown_blanks;
    rows.push_back(v);
    row all = row(30, blue_bg);
    all.blank_from = 0;
    all.blank_rend = blue_bg;
    rows.push_back(all);
  }
  {  // runs of 127, 128 and 300 cells: a run's length of two varint bytes
    for (std::size_t n : {127, 128, 300}) {
      row r = ascii_row(400, std::string(n, 'x'), rgb);
      r.cells[n].set_char("\xE4\xB8\xAD", rgb, true);
      r.cells[n + 1].reset(rgb);
      r.blank_from = n + 2;
      rows.push_back(r);
    }
  }
  {  // every cell its own rendition, and the widest row
    row r(200, renditions{});
    for (std::size_t i = 0; i < r.cells.size(); ++i) {
      renditions x;
      x.fg = color::rgb(static_cast<std::uint8_t>(i), 7, 9);
      x.attrs = static_cast<std::uint8_t>(i % 64);
      r.cells[i].set_char("\xC3\xA9", x, false);
    }
    rows.push_back(r);
    rows.push_back(ascii_row(max_screen_side, std::string(max_screen_side, 'w'), bold_red));
  }
  // In a ring of 3 lines, every line also lands in slots that held others before it:
  // short after long, long after short, longer than the slot's block.
  check_ring_encoding(rows, 3);
  check_ring_encoding(rows, 100);
  std::reverse(rows.begin(), rows.end());
  check_ring_encoding(rows, 2);
}

TEST_CASE("rows the emulator marks plain are stored exactly as the plain encoder writes them") {
  // row::plain: the history writes these from the cells' first bytes alone, so each
  // length and kind of header the general encoder could write is here.
  renditions high;
  high.fg = color::indexed(200);
  renditions rgb;
  rgb.fg = color::rgb(250, 128, 1);
  rgb.set(renditions::bold, true);
  renditions curly;
  curly.set_underline(underline_style::curly);
  curly.ul = color::rgb(1, 2, 3);
  renditions blue_bg;
  blue_bg.bg = color::indexed(4);
  std::vector<row> rows;
  for (const renditions& r : {renditions{}, high, rgb, curly, blue_bg}) {
    for (std::size_t n : {0, 1, 6, 23, 24, 30, 80, 127, 128, 300}) {
      row x = ascii_row(400, std::string(n, static_cast<char>('!' + n % 90)), r);
      x.plain = true;
      x.wrap = n % 2 == 1;
      rows.push_back(x);
    }
    row full = ascii_row(max_screen_side, std::string(max_screen_side, 'w'), r);
    full.plain = true;
    rows.push_back(full);
  }
  {  // plain text before coloured blanks: those are kept, by the general encoder
    row x = ascii_row(30, "text");
    for (std::size_t i = 4; i < 30; ++i) x.cells[i].reset(blue_bg);
    x.blank_rend = blue_bg;
    x.plain = true;
    rows.push_back(x);
    row all = row(30, blue_bg);
    all.blank_from = 0;
    all.blank_rend = blue_bg;
    all.plain = true;
    rows.push_back(all);
  }
  check_ring_encoding(rows, 3);
  check_ring_encoding(rows, 100);
  std::reverse(rows.begin(), rows.end());
  check_ring_encoding(rows, 2);
}

// row::plain's promise (framebuffer.hpp): every cell before blank_from is plain ASCII in
// the first cell's renditions, and the cells from blank_from on are its known blanks.
bool plain_promise_kept(const row& r) {
  if (!r.plain) return true;
  if (r.blank_from == row::unknown_blanks || r.blank_from > r.cells.size()) return false;
  for (std::size_t i = 0; i < r.blank_from; ++i)
    if (!r.cells[i].plain_ascii() || !(r.cells[i].rend() == r.cells[0].rend())) return false;
  for (std::size_t i = r.blank_from; i < r.cells.size(); ++i)
    if (!(r.cells[i] == cell(r.blank_rend))) return false;
  return true;
}

// Every row of the screen keeps the promise, and a history stores each as the plain
// encoder writes it (as it would if the row scrolled off now).
bool screen_keeps_plain_promise(const emulator& e) {
  for (int r = 0; r < e.fb().height(); ++r) {
    const row& x = e.fb().row_at(r);
    history h(1);
    h.push(x);
    if (!plain_promise_kept(x) || h.encoded(0) != plain_encoding(x)) return false;
  }
  return true;
}

TEST_CASE("a plain row changed by any other write is stored exactly as the plain encoder writes it") {
  struct change {
    const char* what;
    std::string bytes;  // written after "hello world" on the bottom row
    bool plain;         // whether the row is still marked plain, with text, afterwards
  };
  const std::vector<change> changes = {
      {"nothing", "", true},
      {"more text", " and more", true},
      {"the same renditions over the start", "\rHE", true},
      {"the same text in a 4 KiB write of its own", "!", true},
      {"erase to the end of the line", "\x1b[5D\x1b[K", false},
      {"erase the line", "\x1b[2K", false},
      {"erase to the start of the line", "\x1b[1K", false},
      {"erase characters", "\r\x1b[2C\x1b[3X", false},
      {"insert characters", "\r\x1b[2C\x1b[2@", false},
      {"delete characters", "\r\x1b[2P", false},
      {"insert mode", "\r\x1b[4hXY\x1b[4l", false},
      {"a wide character", "\xE4\xB8\xAD", false},
      {"a combining mark", "e\xCC\x81", false},
      {"a mark with no base", "\x1b[3C\xCC\x81", false},
      {"an SGR change", "\x1b[31mred\x1b[m", false},
      {"an SGR change over the start", "\r\x1b[1mH\x1b[m", false},
      {"a gap before more text", "\x1b[3Cx", false},
      {"DEC graphics", "\x1b(0qq\x1b(B", false},
      {"repeat (REP)", "\x1b[3b", false},
      {"a narrow character over a wide one's right half", "\r\xE4\xB8\xADx\x1b[3Dy", false},
      {"autowrap off at the edge", "\x1b[?7l0123456789abcdef\x1b[?7h", false},
      {"screen alignment (DECALN)", "\x1b#8\x1b[4;1H", false},
      {"a tab and text", "\tz", false},
  };
  for (const change& c : changes) {
    INFO(std::string(c.what));
    emulator e(20, 4, emulator_options::server(100));
    e.write("\x1b[4;1Hhello world");
    e.write(c.bytes);
    REQUIRE(screen_keeps_plain_promise(e));
    const row shown = e.fb().row_at(3);
    CHECK((shown.plain && shown.blank_from > 0) == c.plain);
    e.write("\r\n\r\n\r\n\r\n");
    const history& h = *e.history();
    REQUIRE(h.end() >= 1);
    CHECK(h.encoded(h.end() - 1) == plain_encoding(shown));
  }
}

TEST_CASE("the emulator keeps row::plain's promise through random output, scrolling and reflow") {
  const std::vector<std::string> pieces = {
      "abc", "0123456789abcdefghij", "\r\n", "\r", "\n", "\x1b[?1049l\x1b[r", "\x1b[31m", "\x1b[m", "\x1b[K", "\x1b[1K", "\x1b[2K",
      "\x1b[2X", "\x1b[2@", "\x1b[2P", "\x1b[4h", "\x1b[4l", "\xE4\xB8\xAD", "e\xCC\x81", "\xCC\x81", "\x1b[3C",
      "\x1b[2D", "\x1b[H", "\x1b[2;3r", "\x1b[r", "\x1bM", "\x1b[L", "\x1b[M", "\x1b[S", "\x1b[T", "\x1b(0q\x1b(B",
      "\x1b[3b", "\x1b[?7l", "\x1b[?7h", "\x1b[44m\x1b[2J", "\t", "\x1b[?1049h", "\x1b[?1049l", "\x1b#8", "\b",
  };
  xorshift next{0x2545F4914F6CDD1Dull};
  emulator e(16, 5, emulator_options::server(50));
  int plain_rows = 0;  // rows seen plain with text: the fast path was taken
  for (int step = 0; step < 4000; ++step) {
    if (step % 500 == 499) {
      e.resize(8 + static_cast<int>(next() % 20), 3 + static_cast<int>(next() % 5));
      REQUIRE(screen_keeps_plain_promise(e));
      continue;
    }
    // Half the time text or a new line (the first three pieces), so lines do scroll off.
    const std::string& p = pieces[next() % 2 ? next() % 3 : next() % pieces.size()];
    INFO("step " << step << ": " << p);
    e.write(p);
    REQUIRE(screen_keeps_plain_promise(e));
    for (int r = 0; r < e.fb().height(); ++r)
      plain_rows += e.fb().row_at(r).plain && e.fb().row_at(r).blank_from > 0;
  }
  CHECK(plain_rows > 1000);
  CHECK(e.history()->end() > 100);
}

TEST_CASE("the ring stores random lines exactly as the plain encoder writes them") {
  xorshift next{0x9E3779B97F4A7C15ull};
  renditions palette[5];
  palette[1].fg = color::indexed(3);
  palette[2].bg = color::indexed(130);
  palette[3].set(renditions::inverse, true);
  palette[3].fg = color::rgb(200, 100, 0);
  palette[4].set_underline(underline_style::dotted);
  std::vector<row> rows;
  for (int i = 0; i < 400; ++i) {
    const int width = 1 + static_cast<int>(next() % 160);
    row r(width, renditions{});
    // Mostly one rendition and ASCII, as real output is, with now and then anything else.
    const renditions& base = palette[next() % 5];
    const std::size_t text = next() % (static_cast<std::size_t>(width) + 1);
    for (std::size_t c = 0; c < text; ++c) {
      const std::uint64_t k = next() % 40;
      const renditions& rend = k == 0 ? palette[next() % 5] : base;
      if (k == 1) {
        r.cells[c].reset(rend);
      } else if (k == 2 && c + 1 < text) {
        r.cells[c].set_char("\xE6\x96\x87", rend, true);
        r.cells[++c].reset(rend);
      } else if (k == 3) {
        r.cells[c].set_char("a", rend, false);
        r.cells[c].append_text("\xCC\x80\xCC\xA3");
      } else {
        r.cells[c].set_ascii(static_cast<char>(0x20 + next() % 95), rend);
      }
    }
    const std::uint64_t tail = next() % 4;
    if (tail == 0) {
      r.blank_from = text;
    } else if (tail == 1) {
      for (std::size_t c = text; c < r.cells.size(); ++c) r.cells[c].reset(palette[2]);
      r.blank_from = text;
      r.blank_rend = palette[2];
    }  // else unknown blanks
    r.wrap = next() % 3 == 0;
    rows.push_back(r);
  }
  check_ring_encoding(rows, 5);
}

TEST_CASE("once the ring is full its memory stops growing, within the lines' own size") {
  // 100,000 lines of seven shapes into a bound of 1,000 (seven is prime to 1,000, so
  // every slot sees every shape): a seq line, a coloured listing of several runs, a long
  // plain line on a wide screen, an empty line, CJK, the longest line that fits a slot.
  renditions blue, green;
  blue.fg = color::indexed(4);
  blue.set(renditions::bold, true);
  green.fg = color::rgb(0, 200, 0);
  auto shape = [&](int i) {
    const std::string num = std::to_string(i);
    switch (i % 7) {
      case 0: return ascii_row(80, num);
      case 1: {
        row r = ascii_row(120, "");
        std::size_t c = 0;
        for (int k = 0; k < 4; ++k) {
          const std::string name = "file_" + num + ".txt  ";
          for (char ch : name) r.cells[c++].set_ascii(ch, k % 2 ? green : blue);
        }
        r.blank_from = c;
        return r;
      }
      case 2: return ascii_row(200, std::string(150 - num.size(), '=') + num);
      case 3: return ascii_row(80, "");
      case 4: {
        row r = ascii_row(80, num);
        for (std::size_t c = num.size(); c + 1 < 40; c += 2) {
          r.cells[c].set_char("\xE4\xB8\xAD", renditions{}, true);
          r.cells[c + 1].reset(renditions{});
        }
        r.blank_from = 40;
        return r;
      }
      case 5: return ascii_row(80, std::string(23 - num.size(), 'x') + num);
      default: return ascii_row(80, num + " " + num, green);
    }
  };
  history h(1000);
  std::size_t longest = 0;  // the longest encoded line
  std::size_t at_20000 = 0;
  for (int i = 0; i < 100000; ++i) {
    const row r = shape(i);
    longest = std::max(longest, plain_encoding(r).size());
    h.push(r);
    if (i == 20000 - 1) at_20000 = h.bytes();
  }
  CHECK(h.size() == 1000);
  CHECK(h.first() == 99000);
  // Past the first wrap-arounds (and the numbers' last change of length, at 10,000)
  // nothing grows any more: the last 80,000 lines reused what was there.
  CHECK(h.bytes() == at_20000);
  // And what is held is about the lines themselves: per line at most a slot's fixed
  // part and the longest line (rounded up), not a worst-case reservation for its width.
  MESSAGE("history of 1,000 lines holds " << h.bytes() << " bytes; the longest line is " << longest);
  CHECK(h.bytes() <= 1000 * (64 + longest + 16) + 16 * 1024);
  // The lines are the last 1,000, whole.
  for (std::uint64_t n = h.first(); n < h.end(); ++n) {
    INFO("line " << n);
    REQUIRE(h.encoded(n) == plain_encoding(shape(static_cast<int>(n))));
  }
}

TEST_CASE("a history of 0 lines is off") {
  emulator e(10, 2, emulator_options::server(0));
  CHECK(e.history() == nullptr);
  emulator d(10, 2);
  CHECK(d.history() == nullptr);
}

TEST_CASE("runs of history lines round-trip through the encoding") {
  emulator e(8, 2, emulator_options::server(100));
  e.write("\x1b[1;38:2::9:8:7mabcdefgh\x1b[0mij\r\n\x1b[44m   \x1b[0m\r\n\xE4\xB8\xAD\xCC\x81x\r\n\r\n\x1b[4:5mz\r\n\r\n");
  const history& h = *e.history();
  const std::string run = h.encode_from(0, 100, 1 << 20);
  auto decoded = decode_history(run);
  REQUIRE(decoded);
  CHECK(decoded->first == 0);
  REQUIRE(decoded->lines.size() == h.size());
  for (std::uint64_t n = 0; n < h.end(); ++n) CHECK(decoded->lines[n] == h.line(n));
  CHECK(decoded->lines[0].wrap);
  CHECK(text_of(decoded->lines[2]) == "   ");  // coloured blanks are kept
  CHECK(decoded->lines[4].cells.empty());       // an empty line
  CHECK(encode_history(decoded->first, decoded->lines) == run);
  // A run cut by bytes still holds whole lines, and at least one.
  auto small = decode_history(h.encode_from(1, 100, 1));
  REQUIRE(small);
  CHECK(small->first == 1);
  CHECK(small->lines.size() == 1);
  auto two = decode_history(h.encode_from(0, 2, 1 << 20));
  REQUIRE(two);
  CHECK(two->lines.size() == 2);
}

TEST_CASE("hostile history bytes are refused with an error, never a partial run") {
  history_line l;
  cell c;
  c.set_ascii('A', renditions{});
  l.cells.push_back(c);
  const std::string good = encode_history(7, std::vector<history_line>{l, l});
  REQUIRE(decode_history(good));
  // Every truncation is an error.
  for (std::size_t n = 0; n < good.size(); ++n) CHECK(!decode_history(good.substr(0, n)));
  CHECK(decode_history(good + "x").error() == history_error::trailing_bytes);
  std::string v = good;
  v[0] = 2;
  CHECK(decode_history(v).error() == history_error::bad_version);
  // A huge count with nothing behind it costs nothing.
  CHECK(decode_history(std::string("\x01\x00\xff\xff\xff\xff\x0f", 7)).error() ==
        history_error::too_many_lines);
  CHECK(decode_history(std::string("\x01\x00\x90\x4e", 4)).error() == history_error::truncated);
  // A cell count beyond the screen's widest row.
  CHECK(decode_history(std::string("\x01\x00\x01\x00\x81\x40", 6)).error() == history_error::bad_line);
  // Control characters and broken UTF-8 in a cell's text: they would reach the user's terminal.
  auto with_text = [](std::string_view t) {
    std::string s("\x01\x00\x01\x00\x01\x01\x00\x00\x00\x00\x00\x01\x00", 13);
    s += static_cast<char>(t.size());
    s += t;
    return s;
  };
  CHECK(decode_history(with_text("\xC3\xA9")));
  CHECK(decode_history(with_text("\x1b[2J")).error() == history_error::bad_text);
  CHECK(decode_history(with_text("\xC2\x9B" "2J")).error() == history_error::bad_text);  // C1 CSI
  CHECK(decode_history(with_text("\xC3")).error() == history_error::bad_text);
  CHECK(decode_history(std::string("\x01\x00\x01\x00\x01\x01\x00\x00\x00\x00\x00\x05", 12)).error() ==
        history_error::bad_line);  // an unknown cell tag
  CHECK(decode_history(std::string("\x01\x00\x01\x02\x00", 5)).error() == history_error::bad_line);
  // Invalid renditions: an unknown attribute bit, a style without the underline, a bad colour.
  CHECK(decode_history(std::string("\x01\x00\x01\x00\x01\x01\x80\x00\x00\x00\x00" "A", 12)).error() ==
        history_error::bad_line);
  CHECK(decode_history(std::string("\x01\x00\x01\x00\x01\x01\x00\x02\x00\x00\x00" "A", 12)).error() ==
        history_error::bad_line);
  CHECK(decode_history(std::string("\x01\x00\x01\x00\x01\x01\x00\x00\x82\x04\x00\x00" "A", 13)).error() ==
        history_error::bad_line);
  // A trailing default blank is not what the encoder writes.
  CHECK(decode_history(std::string("\x01\x00\x01\x00\x01\x01\x00\x00\x00\x00\x00\x00", 12)).error() ==
        history_error::bad_line);
  CHECK(!describe(history_error::bad_text).empty());
}

TEST_CASE("random bytes never crash the history decoder") {
  xorshift next{88172645463325252ull};
  int ok = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string s(static_cast<std::size_t>(next() % 40), '\0');
    for (char& ch : s) ch = static_cast<char>(next() % 8 < 5 ? next() % 4 : next());
    if (!s.empty()) s[0] = 1;
    if (auto r = decode_history(s)) {
      ++ok;
      auto again = decode_history(encode_history(r->first, r->lines));
      REQUIRE(again);
      CHECK(*again == *r);
    }
  }
  MESSAGE(ok << " of 20000 random runs decoded");
}

TEST_CASE("history lines render with their SGR, CR LF unless wrapped, ending reset") {
  emulator e(4, 2, emulator_options::server(100));
  e.write("\x1b[1;31mabcd\x1b[0mef\r\n\x1b[4:3mu\x1b[0m\r\n\xE4\xB8\xAD!\r\n\r\n");
  const history& h = *e.history();
  std::vector<history_line> lines;
  for (std::uint64_t n = h.first(); n < h.end(); ++n) lines.push_back(h.line(n));
  REQUIRE(lines.size() == 4);
  const std::string plain = render_history(lines, terminal_profile::from_term("xterm-256color"));
  CHECK(plain == "\x1b[0;1;31mabcd\x1b[0mef\r\n\x1b[0;4mu\x1b[0m\r\n\xE4\xB8\xAD!\r\n");
  const std::string styled = render_history(std::vector<history_line>{lines[2]},
                                            terminal_profile::from_term("xterm-kitty"));
  CHECK(styled == "\x1b[0;4:3mu\x1b[0m\r\n");
  CHECK(render_skipped(812344) == "\x1b[0m[mosh2: 812,344 lines skipped]\r\n");
  CHECK(render_skipped(1) == "\x1b[0m[mosh2: 1 line skipped]\r\n");
}

TEST_CASE("reflow: narrowing re-wraps wrapped lines and keeps the cursor on its character") {
  emulator e(10, 4, emulator_options::server(100));
  e.write("0123456789abcde\r\nxy\x1b[2;3H");  // cursor on 'c' of the wrapped line
  REQUIRE(e.fb().row_at(0).wrap);
  e.resize(5, 4);
  CHECK(row_text(e.fb(), 0) == "01234");
  CHECK(row_text(e.fb(), 1) == "56789");
  CHECK(row_text(e.fb(), 2) == "abcde");
  CHECK(row_text(e.fb(), 3) == "xy");
  CHECK(e.fb().row_at(0).wrap);
  CHECK(e.fb().row_at(1).wrap);
  CHECK(!e.fb().row_at(2).wrap);
  CHECK(e.fb().ds().cursor_row == 2);
  CHECK(e.fb().ds().cursor_col == 2);
  CHECK(e.fb().cell_at(2, 2).text() == "c");
  CHECK(e.fb().invariant_violation() == nullptr);
  // Widening joins them again.
  e.resize(20, 4);
  CHECK(row_text(e.fb(), 0) == "0123456789abcde");
  CHECK(!e.fb().row_at(0).wrap);
  CHECK(row_text(e.fb(), 1) == "xy");
  CHECK(e.fb().cell_at(e.fb().ds().cursor_row, e.fb().ds().cursor_col).text() == "c");
}

TEST_CASE("reflow: rows pushed off the top go to the history; the alternate screen is cut") {
  emulator e(10, 3, emulator_options::server(100));
  e.write("0123456789ABCDEFGHIJ\r\nxyz");
  e.resize(5, 3);  // 5 rows of text for 3 rows of screen, the cursor on the last
  CHECK(e.history()->end() == 2);
  CHECK(texts(*e.history()) == std::vector<std::string>{"01234", "56789"});
  CHECK(row_text(e.fb(), 2) == "xyz");
  CHECK(e.fb().ds().cursor_row == 2);
  CHECK(e.fb().ds().cursor_col == 3);

  emulator alt(10, 3, emulator_options::server(100));
  alt.write("\x1b[?1049h0123456789ABC");
  alt.resize(5, 3);
  CHECK(row_text(alt.fb(), 0) == "01234");
  CHECK(row_text(alt.fb(), 1) == "ABC");
  CHECK(alt.history()->end() == 0);
}

TEST_CASE("reflow: a wide character never straddles the new edge") {
  emulator e(6, 4, emulator_options::server(0));
  e.write("ab\xE4\xB8\xAD\xE6\x96\x87x");  // ab中文 | x
  e.resize(3, 4);
  CHECK(row_text(e.fb(), 0) == "ab");
  CHECK(row_text(e.fb(), 1) == "\xE4\xB8\xAD");
  CHECK(row_text(e.fb(), 2) == "\xE6\x96\x87x");
  CHECK(e.fb().row_at(0).wrap);
  CHECK(e.fb().row_at(1).wrap);
  // The cursor was on the blank after the x: it still is, on the next row.
  CHECK(e.fb().ds().cursor_row == 3);
  CHECK(e.fb().ds().cursor_col == 0);
  CHECK(e.fb().invariant_violation() == nullptr);
}

TEST_CASE("reflow: the blank a wide character left at a row's edge is not text") {
  emulator e(5, 4, emulator_options::server(0));
  e.write("abcd\xE4\xB8\xAD" "ef");  // abcd + 中 does not fit: abcd_ | 中ef
  REQUIRE(e.fb().row_at(0).wrap == false);  // print() leaves that row unwrapped...
  e.resize(3, 4);                            // ...so these are two lines
  CHECK(row_text(e.fb(), 0) == "abc");
  CHECK(row_text(e.fb(), 1) == "d");
  CHECK(row_text(e.fb(), 2) == "\xE4\xB8\xAD" "e");
  CHECK(row_text(e.fb(), 3) == "f");
  // Narrowing made "ab中" | "文..." with a padding blank; widening again joins them
  // without it.
  emulator w(6, 4, emulator_options::server(0));
  w.write("ab\xE4\xB8\xAD\xE6\x96\x87x");
  w.resize(3, 4);
  w.resize(6, 4);
  CHECK(row_text(w.fb(), 0) == "ab\xE4\xB8\xAD\xE6\x96\x87");
  CHECK(row_text(w.fb(), 1) == "x");
}

TEST_CASE("a stock client's emulator is cut on resize, as Mosh 1.4's is") {
  emulator e(10, 3);
  e.write("0123456789abc");
  e.resize(5, 3);
  CHECK(row_text(e.fb(), 0) == "01234");
  CHECK(row_text(e.fb(), 1) == "abc");
}

TEST_CASE("reflow: a wrapped line in the history comes back whole when the screen widens") {
  emulator e(10, 3, emulator_options::server(100));
  e.write("0123456789abcdefghijKLMNO\r\n> x\b");  // 4 rows on 3: the first row scrolled off
  REQUIRE(texts(*e.history()) == std::vector<std::string>{"0123456789"});
  REQUIRE(e.history()->line(0).wrap);
  REQUIRE(under_cursor(e) == "x");
  e.resize(30, 3);
  // Not handed to anyone yet, the history's row was taken back and joined.
  CHECK(e.history()->end() == 0);
  CHECK(row_text(e.fb(), 0) == "0123456789abcdefghijKLMNO");
  CHECK(!e.fb().row_at(0).wrap);
  CHECK(row_text(e.fb(), 1) == "> x");
  CHECK(under_cursor(e) == "x");
  CHECK(e.fb().ds().cursor_row == 1);
  CHECK(e.fb().invariant_violation() == nullptr);
  // Narrowed again, it goes back to the history at the new width.
  e.resize(8, 3);
  CHECK(texts(*e.history()) == std::vector<std::string>{"01234567", "89abcdef"});
  CHECK(row_text(e.fb(), 0) == "ghijKLMN");
  CHECK(under_cursor(e) == "x");
  CHECK(logical_lines(e) == std::vector<std::string>{"0123456789abcdefghijKLMNO", "> x"});
}

TEST_CASE("reflow: history lines handed out (settled) stay as they are; the rest re-wrap") {
  emulator e(10, 3, emulator_options::server(100));
  e.write("0123456789abcdefghijKLMNO\r\n> x\b");
  e.history()->settle(e.history()->end());  // the history stream sent it
  e.resize(30, 3);
  CHECK(texts(*e.history()) == std::vector<std::string>{"0123456789"});
  CHECK(e.history()->line(0).wrap);
  CHECK(row_text(e.fb(), 0) == "abcdefghijKLMNO");
  CHECK(row_text(e.fb(), 1) == "> x");
  CHECK(under_cursor(e) == "x");
  CHECK(logical_lines(e) == std::vector<std::string>{"0123456789abcdefghijKLMNO", "> x"});
  // A settled line can never be dropped.
  e.history()->drop_newest(1);
  CHECK(e.history()->end() == 1);
}

TEST_CASE("reflow: widening pulls unsent lines back onto the screen, nothing duplicated or lost") {
  // 12 lines on a screen of 4 rows, half of the lines long enough to wrap at 10.
  std::vector<std::string> want;
  std::string bytes;
  for (int i = 0; i < 12; ++i) {
    std::string l = "L";
    l.append(std::to_string(i)).append(":").append(static_cast<std::size_t>(i % 2 ? 14 : 3), char('a' + i));
    want.push_back(l);
    bytes += l + "\r\n";
  }
  want.push_back("$");
  emulator e(10, 4, emulator_options::server(100));
  e.write(bytes + "$");
  REQUIRE(logical_lines(e) == want);
  e.resize(40, 4);
  // The screen is full again with the newest lines, now one row each, cursor on the prompt.
  CHECK(row_text(e.fb(), 0) == want[9]);
  CHECK(row_text(e.fb(), 1) == want[10]);
  CHECK(row_text(e.fb(), 2) == want[11]);
  CHECK(row_text(e.fb(), 3) == "$");
  CHECK(e.fb().ds().cursor_row == 3);
  CHECK(e.fb().ds().cursor_col == 1);
  CHECK(logical_lines(e) == want);
  // What came back and left again is whole; the deeper rows keep their width.
  const history& h = *e.history();
  CHECK(text_of(h.line(h.end() - 1)) == want[8]);
  CHECK(text_of(h.line(h.end() - 2)) == want[7]);
  CHECK(!h.line(h.end() - 2).wrap);
  CHECK(h.line(h.end() - 5).wrap);  // want[5], still in its two rows of 10
  // Any sequence of widths keeps every line once, in order, with some settled midway.
  for (int w : {7, 13, 5, 40, 9, 26, 3, 80}) {
    CAPTURE(w);
    e.resize(w, 4);
    CHECK(logical_lines(e) == want);
    CHECK(under_cursor(e).empty());  // on the blank after the prompt
    CHECK(e.fb().cell_at(e.fb().ds().cursor_row, e.fb().ds().cursor_col - 1).text() == "$");
    CHECK(e.fb().invariant_violation() == nullptr);
    if (w == 5) e.history()->settle(e.history()->end() - 3);
  }
}

TEST_CASE("reflow: only what can come back onto the screen is taken back, from a line's start") {
  emulator e(10, 3, emulator_options::server(5000));
  std::string bytes;
  for (int i = 0; i < 1500; ++i) bytes += "line " + std::to_string(i + 10000) + "-----\r\n";  // 2 rows
  e.write(bytes + "$");
  const history& h = *e.history();
  REQUIRE(h.end() == 2998);  // lines 10000..11498, two rows each; 11499 and "$" on screen
  const auto before = logical_lines(e);
  e.resize(20, 3);
  CHECK(logical_lines(e) == before);
  // Three lines (six rows) make the three rows the screen can hold: 11496 and 11497 went
  // back, whole, 11498 is on the screen again; the older lines keep their two rows.
  CHECK(h.end() == 2992 + 2);
  CHECK(text_of(h.line(h.end() - 1)) == "line 11497-----");
  CHECK(text_of(h.line(h.end() - 2)) == "line 11496-----");
  CHECK(h.line(2991).wrap == false);
  CHECK(text_of(h.line(2990)) == "line 11495");
  CHECK(h.line(2990).wrap);
  CHECK(row_text(e.fb(), 0) == "line 11498-----");
  CHECK(row_text(e.fb(), 1) == "line 11499-----");
  CHECK(row_text(e.fb(), 2) == "$");
}

TEST_CASE("reflow: a line longer than reflow_history_cells is taken back only in part") {
  emulator e(100, 3, emulator_options::server(5000));
  std::string text;
  for (int i = 0; i < 2500; ++i) text += std::string(99, static_cast<char>('a' + i % 26)) + "|";
  e.write(text + "\r\n$");
  const history& h = *e.history();
  REQUIRE(h.end() == 2498);  // one logical line of 2,500 rows, its last two on screen, and "$"
  const auto before = logical_lines(e);
  e.resize(200, 3);
  CHECK(logical_lines(e) == before);
  // 1,600 rows of 100 cells came back (160,000 cells) and, with the screen's two, made
  // 801 rows of 200, of which 799 left again; the older 898 rows stay as they were.
  CHECK(h.end() == 898 + 799);
  CHECK(text_of(h.line(0)).size() == 100);
  CHECK(text_of(h.line(897)).size() == 100);
  CHECK(h.line(897).wrap);
  CHECK(text_of(h.line(898)).size() == 200);
}

}  // TEST_SUITE

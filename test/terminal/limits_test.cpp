// Hostile host output (issue 10): the screen limits, and the work each sequence may
// cost, counted by framebuffer::work() (cells written or copied, rows moved) rather
// than timed, so the checks hold on a loaded machine and under ASan alike.

#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <string>

#include "mosh2/terminal/display.hpp"
#include "mosh2/terminal/emulator.hpp"
#include "mosh2/terminal/limits.hpp"

using namespace mosh2::terminal;

namespace {

// The widest allowed screen: 4096 columns and as many rows as the cell cap leaves.
constexpr screen_size widest = clamp_screen_size(max_screen_side, max_screen_side);

// Fills every row with distinct text, so that no row is shared.
void fill_distinct(emulator& e) {
  for (int r = 0; r < e.fb().height(); ++r)
    e.write("\x1b[" + std::to_string(r + 1) + "H" + std::to_string(r) + "x");
}

std::uint64_t work_of(emulator& e, std::string_view bytes) {
  const auto before = e.work();
  e.write(bytes);
  return e.work() - before;
}

bool same_terminal(const emulator& a, const emulator& b) {
  const auto &x = a.fb().ds(), &y = b.fb().ds();
  return a.fb() == b.fb() && x.next_print_wraps == y.next_print_wraps &&
         x.cursor_row == y.cursor_row && x.cursor_col == y.cursor_col;
}

}  // namespace

TEST_SUITE("terminal") {

TEST_CASE("screen sizes are clamped per side and by cell count, in 64 bits") {
  CHECK(clamp_screen_size(80, 24) == screen_size{80, 24});
  CHECK(clamp_screen_size(0, -5) == screen_size{1, 1});
  CHECK(clamp_screen_size(100000, 3) == screen_size{max_screen_side, 3});
  CHECK(widest.width == max_screen_side);
  CHECK(std::int64_t{widest.width} * widest.height <= max_screen_cells);
  // 65535 x 65535 overflows a 32-bit product; the clamp must not.
  const auto big = clamp_screen_size(65535, 65535);
  CHECK(std::int64_t{big.width} * big.height <= max_screen_cells);
  const auto huge = clamp_screen_size(std::numeric_limits<int>::max(), std::numeric_limits<int>::max());
  CHECK(screen_size_allowed(huge.width, huge.height));
  CHECK_FALSE(screen_size_allowed(4096, 4096));
  CHECK_FALSE(screen_size_allowed(std::numeric_limits<int>::max(), 2));
  CHECK(screen_size_allowed(214, 214));
}

TEST_CASE("the emulator clamps its size at construction and on resize") {
  emulator e(100000, 100000);
  CHECK(std::int64_t{e.fb().width()} * e.fb().height() <= max_screen_cells);
  e.resize(65535, 65535);
  CHECK(std::int64_t{e.fb().width()} * e.fb().height() <= max_screen_cells);
  CHECK(e.fb().invariant_violation() == nullptr);
}

TEST_CASE("shrinking a large screen drops the rows that leave before copying any") {
  emulator e(widest.width, widest.height);
  fill_distinct(e);
  e.write("\x1b[?1049h");  // the hidden screen must follow as cheaply
  fill_distinct(e);
  const auto before = e.work();
  e.resize(widest.width - 1, 1);
  // Two kept rows (one per screen) copied at the new width, plus bookkeeping per side;
  // copying every row first would cost both screens' cells.
  CHECK(e.work() - before <= 4 * std::uint64_t(widest.width) + 64);
  CHECK(e.fb().invariant_violation() == nullptr);
}

TEST_CASE("REP of a huge count costs at most a screen and two rows of prints") {
  emulator e(80, 24);
  const auto w = work_of(e, "x\x1b[65535b");
  // Prints, a copy of each blank row scrolled in, and 24 row moves per line feed.
  CHECK(w <= 2 * (24 + 3) * 80 + (24 + 3) * 24 + 200);
  CHECK(e.fb().cell_at(0, 0).text() == "x");
  CHECK(e.fb().invariant_violation() == nullptr);
}

TEST_CASE("REP with the count cut leaves exactly the screen of printing the character n times") {
  // Narrow and wide characters, with and without autowrap, insert mode and a scrolling
  // region, from several cursor positions, on small screens where the cut applies early.
  const char* const glyphs[] = {"a", "\xE4\xBD\xA0"};
  const char* const setups[] = {"", "\x1b[?7l", "\x1b[4h", "\x1b[2;3r", "\x1b[2;3r\x1b[5;1H",
                                "\x1b[?7l\x1b[4h", "\x1b[1;2r\x1b[4;3H"};
  int compared = 0;
  for (int width = 1; width <= 6; ++width) {
    for (int height = 1; height <= 5; ++height) {
      for (const char* setup : setups) {
        for (const char* g : glyphs) {
          for (int start_col : {1, width}) {
            for (int n = 1; n <= 90; n += (n < 40 ? 1 : 7)) {
              emulator rep(width, height), plain(width, height);
              const std::string pre = std::string(setup) + "\x1b[" + std::to_string(height) + ";" +
                                      std::to_string(start_col) + "H";
              rep.write(pre);
              plain.write(pre);
              rep.write(std::string(g) + "\x1b[" + std::to_string(n) + "b");
              std::string many;
              for (int i = 0; i <= n; ++i) many += g;
              plain.write(many);
              REQUIRE_MESSAGE(same_terminal(rep, plain),
                              width << "x" << height << " setup " << compared << " n " << n);
              ++compared;
            }
          }
        }
      }
    }
  }
  CHECK(compared > 20000);
}

TEST_CASE("huge repeat counts cost at most a row or a screen of work and stay on screen") {
  emulator e(80, 24);
  fill_distinct(e);
  // Each sequence is cut to the screen: one row of cells (ICH, DCH, ECH, CHT, CBT), the
  // region's rows (IL, DL, SU, SD) or O(1) (cursor moves).
  const char* const one_row[] = {"\x1b[65535@", "\x1b[65535P", "\x1b[65535X", "\x1b[65535I",
                                 "\x1b[65535Z", "\x1b[65535C", "\x1b[65535D", "\x1b[3g\x1b[65535I"};
  for (const char* s : one_row) CHECK_MESSAGE(work_of(e, s) <= 2 * 80 + 8, s);
  const char* const rows[] = {"\x1b[65535L", "\x1b[65535M", "\x1b[65535S", "\x1b[65535T",
                              "\x1b[2J", "\x1b#8"};
  for (const char* s : rows) CHECK_MESSAGE(work_of(e, s) <= 24 + 2 * 80 + 8, s);
  e.write("x\x1b[65535b\x1b[65535@\x1b[65535L\x1b[65535S\x1b[65535X\x1b[65535;65535H");
  CHECK(e.fb().invariant_violation() == nullptr);
  CHECK(e.fb().ds().cursor_row == 23);
  CHECK(e.fb().ds().cursor_col == 79);
}

TEST_CASE("DECALN on the largest screen costs a row and a pointer per row") {
  emulator e(widest.width, widest.height);
  CHECK(work_of(e, "\x1b#8") <= std::uint64_t(widest.width) + std::uint64_t(widest.height) + 8);
  CHECK(e.fb().cell_at(widest.height - 1, widest.width - 1).text() == "E");
  e.write("\x1b[Hz");  // the first write to a row copies it alone
  CHECK(e.fb().cell_at(0, 0).text() == "z");
  CHECK(e.fb().cell_at(1, 0).text() == "E");
}

TEST_CASE("write stops at the work limit and says so") {
  emulator e(80, 24);
  const auto start = e.work();
  e.set_work_limit(start + 1000);
  std::string flood;
  for (int i = 0; i < 1000; ++i) flood += "x\x1b[65535b";
  e.write(flood);
  CHECK(e.work_limit_reached());
  // The limit is checked at least once per printed cell of a REP.
  CHECK(e.work() - start <= 1000 + 2 * 80 + 24);
  e.clear_work_limit();
  CHECK_FALSE(e.work_limit_reached());
}

TEST_CASE("OSC 52 keeps only a base64 set request, never a query") {
  emulator e(80, 24);
  e.write("\x1b]52;c;aGVsbG8=\a");
  CHECK(e.fb().clipboard() == "aGVsbG8=");
  e.write("\x1b]52;c;?\a");  // a query: would type the user's clipboard into the session
  CHECK(e.fb().clipboard() == "aGVsbG8=");
  e.write("\x1b]52;c;not base64!\a");
  CHECK(e.fb().clipboard() == "aGVsbG8=");
  e.write("\x1b]52;c;abc\a");  // wrong length
  CHECK(e.fb().clipboard() == "aGVsbG8=");
  e.write("\x1b]52;c;d29ybGQ\x1b\\");  // unpadded: not accepted
  CHECK(e.fb().clipboard() == "aGVsbG8=");
  e.write("\x1b]52;c;d29ybGQ=\x1b\\");
  CHECK(e.fb().clipboard() == "d29ybGQ=");
  CHECK(is_base64(""));
  CHECK(is_base64("YQ=="));
  CHECK_FALSE(is_base64("Y==="));
  CHECK_FALSE(is_base64("Y=Q="));
  CHECK_FALSE(is_base64("?"));
}

TEST_CASE("the display never forwards an OSC 52 query to the user's terminal") {
  // Even if a framebuffer got a non-base64 clipboard by another way than the emulator.
  framebuffer last(80, 24), target(80, 24);
  target.set_clipboard("?");
  const auto xterm = terminal_profile::from_term("xterm-256color");
  CHECK(new_frame(last, target, xterm, true).find("\x1b]52") == std::string::npos);
  target.set_clipboard("YQ==");
  CHECK(new_frame(last, target, xterm, true).find("\x1b]52;c;YQ==\a") != std::string::npos);
}

}  // TEST_SUITE

// Fuzz-style tests in the normal suite: random and structured-random host output never
// crashes or hangs the emulator and always leaves a well-formed screen.

#include <doctest/doctest.h>

#include <cstdint>
#include <random>
#include <string>

#include "mosh2/terminal/emulator.hpp"

using namespace mosh2::terminal;

namespace {

// Deterministic: the engine's output sequence is fixed by the standard.
class rng {
public:
  explicit rng(std::uint64_t seed) : e_(seed) {}
  std::uint32_t below(std::uint32_t n) { return static_cast<std::uint32_t>(e_() % n); }
  bool chance(std::uint32_t one_in) { return below(one_in) == 0; }

private:
  std::mt19937_64 e_;
};

const char* const finals = "ABCDEFGHIJKLMPSTXZ@`bcdfghlmnrsu";
const int dec_modes[] = {1, 3, 4, 5, 6, 7, 9, 25, 47, 1000, 1001, 1002, 1003, 1004,
                         1005, 1006, 1007, 1015, 1047, 1048, 1049, 2004};
const char* const utf8_samples[] = {
    "\xE4\xBD\xA0", "\xF0\x9F\x98\x80", "\xCC\x81", "\xE2\x83\x9D", "\xC3\xA9",
    "\xE2\x94\x80", "\xEF\xBC\xA1", "\xE2\x80\x8B", "\xC2\xAD", "\xCD\xB8",
    "\xE2\x82", "\xED\xA0\x80", "\xF4\x90\x80\x80", "\xC0\xAF", "\xFF", "\x80",
    "\xC2\x9B", "\xC2\x9D", "\xC2\x9C", "\xC2\x90", "\xC2\x85", "\xC2\x8D", "\xC2\x98",
};

std::string number(rng& r) {
  switch (r.below(6)) {
    case 0: return "";
    case 1: return "0";
    case 2: return std::to_string(r.below(10));
    case 3: return std::to_string(r.below(100));
    case 4: return std::to_string(r.below(70000));
    default: return std::to_string(r.below(300));
  }
}

// One chunk of plausible-to-hostile host output.
std::string chunk(rng& r) {
  std::string s;
  switch (r.below(14)) {
    case 0:  // raw random bytes
      for (std::uint32_t i = 0, n = 1 + r.below(16); i < n; ++i) s += static_cast<char>(r.below(256));
      break;
    case 1:
    case 2:  // printable ASCII run
      for (std::uint32_t i = 0, n = 1 + r.below(40); i < n; ++i) s += static_cast<char>(0x20 + r.below(95));
      break;
    case 3:  // UTF-8, valid and not
      for (std::uint32_t i = 0, n = 1 + r.below(6); i < n; ++i)
        s += utf8_samples[r.below(std::size(utf8_samples))];
      break;
    case 4: {  // C0 controls
      const char c0[] = {'\r', '\n', '\t', '\b', '\a', '\v', '\f', 0x0E, 0x0F, 0x18, 0x1A, 0x00, 0x1B};
      for (std::uint32_t i = 0, n = 1 + r.below(4); i < n; ++i) s += c0[r.below(sizeof c0)];
      break;
    }
    case 5:
    case 6: {  // CSI with random parameters and final
      s = "\x1b[";
      if (r.chance(5)) s += "?>=!"[r.below(4)];
      for (std::uint32_t i = 0, n = r.below(6); i < n; ++i) s += number(r) + (r.chance(8) ? ":" : ";");
      s += number(r);
      if (r.chance(10)) s += static_cast<char>(0x20 + r.below(16));
      s += finals[r.below(32)];
      break;
    }
    case 7: {  // DEC private modes
      s = "\x1b[?" + std::to_string(dec_modes[r.below(std::size(dec_modes))]);
      if (r.chance(3)) s += ";" + std::to_string(dec_modes[r.below(std::size(dec_modes))]);
      s += r.chance(2) ? "h" : "l";
      break;
    }
    case 8: {  // SGR including extended colours
      s = "\x1b[";
      const char* const forms[] = {"38;5;", "48;5;", "38;2;", "48;2;", "1;", "0;", "7;", "9", "10"};
      for (std::uint32_t i = 0, n = 1 + r.below(3); i < n; ++i) s += forms[r.below(9)] + number(r) + ";";
      s += "m";
      break;
    }
    case 9: {  // ESC sequences
      const char* const esc[] = {"\x1b" "7", "\x1b" "8", "\x1b#8", "\x1b(0", "\x1b(B", "\x1b)0",
                                 "\x1b" "D", "\x1b" "E", "\x1b" "H", "\x1bM", "\x1b=", "\x1b\\",
                                 "\x1b" "c"};
      s = esc[r.below(r.chance(20) ? 13 : 12)];  // full resets are rarer
      break;
    }
    case 10: {  // OSC, sometimes unterminated or long
      s = "\x1b]";
      const char* const kinds[] = {"0;", "1;", "2;", ";", "52;c;", "8;;", "7;"};
      s += kinds[r.below(7)];
      const std::uint32_t n = r.chance(50) ? 20000 : r.below(30);
      for (std::uint32_t i = 0; i < n; ++i) s += static_cast<char>(0x20 + r.below(95));
      if (!r.chance(5)) s += r.chance(2) ? "\a" : "\x1b\\";
      break;
    }
    case 11:  // DCS / APC / PM / SOS
      s = std::string("\x1b") + "P_^X"[r.below(4)] + "1$qm";
      if (!r.chance(4)) s += "\x1b\\";
      break;
    case 12:  // fragments of sequences
      s = std::string("\x1b[?;0123456789:<=>").substr(r.below(18), 1 + r.below(3));
      break;
    default:  // wide and combining text that lands near the right margin
      s = "\x1b[" + std::to_string(1 + r.below(3)) + ";" + std::to_string(r.below(40)) + "H";
      s += utf8_samples[r.below(4)];
      break;
  }
  return s;
}

void check_screen(const emulator& e) {
  const char* why = e.fb().invariant_violation();
  if (why != nullptr) FAIL(why);
}

bool same_terminal(const emulator& a, const emulator& b) {
  const auto &x = a.fb().ds(), &y = b.fb().ds();
  return a.fb() == b.fb() && x.next_print_wraps == y.next_print_wraps &&
         x.scroll_top == y.scroll_top && x.scroll_bottom == y.scroll_bottom &&
         x.insert_mode == y.insert_mode && x.auto_wrap == y.auto_wrap && x.tabs == y.tabs &&
         a.fb().icon_name() == b.fb().icon_name() && a.alternate_screen() == b.alternate_screen();
}

}  // namespace

TEST_SUITE("terminal") {

TEST_CASE("random and structured-random host output always leaves a well-formed screen") {
  rng r(0x6d6f736832ULL);
  long chunks = 0;
  for (int session = 0; session < 200; ++session) {
    emulator e(1 + static_cast<int>(r.below(r.chance(10) ? 3 : 40)),
               1 + static_cast<int>(r.below(r.chance(10) ? 2 : 14)));
    for (int i = 0; i < 1500; ++i, ++chunks) {
      e.write(chunk(r));
      if (r.chance(300)) e.resize(1 + static_cast<int>(r.below(40)), 1 + static_cast<int>(r.below(14)));
      check_screen(e);
      if (r.chance(64)) e.take_replies();
    }
  }
  CHECK(chunks == 300000);
}

TEST_CASE("splitting host output anywhere gives the same screen as writing it whole") {
  rng r(42);
  for (int stream = 0; stream < 300; ++stream) {
    const int w = 1 + static_cast<int>(r.below(30)), h = 1 + static_cast<int>(r.below(10));
    std::string s;
    for (int i = 0; i < 60; ++i) s += chunk(r);
    emulator whole(w, h), pieces(w, h);
    whole.write(s);
    for (std::size_t pos = 0; pos < s.size();) {
      const std::size_t n = 1 + r.below(7);
      pieces.write(std::string_view(s).substr(pos, n));
      pos += n;
    }
    CHECK(same_terminal(whole, pieces));
    CHECK(whole.take_replies() == pieces.take_replies());
  }
}

// Mosh 1.4 does not repair a wide character whose right half is overwritten (a print
// after cursor motion, LF or SU/SD can land there), and both peers must agree on the
// cells, so the invariant holds only for streams that reach columns by printing.
TEST_CASE("printing text with autowrap keeps every wide cell's right neighbour blank") {
  rng r(7);
  const char* const text[] = {"a", "xyz", "\xE4\xBD\xA0", "\xF0\x9F\x98\x80", "\xCC\x81",
                              "\r", "\r\n", "\x1b[31m", "\x1b[0m", "\x1b[L", "\x1b[M",
                              "\x1b[2K", "\x1b[2J", "\x1b[1;3r"};
  for (int session = 0; session < 100; ++session) {
    emulator e(1 + static_cast<int>(r.below(12)), 1 + static_cast<int>(r.below(6)));
    for (int i = 0; i < 400; ++i) {
      e.write(text[r.below(std::size(text))]);
      const auto& fb = e.fb();
      for (int row = 0; row < fb.height(); ++row)
        for (int col = 0; col + 1 < fb.width(); ++col)
          if (fb.cell_at(row, col).wide()) REQUIRE(fb.cell_at(row, col + 1).blank());
    }
  }
}

// "huge repeat counts" moved to limits_test.cpp, where their work is counted.

}  // TEST_SUITE

// Unit tests of the VT500-style state machine and the UTF-8 decoder (protocol §9.1).

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "mosh2/terminal/parser.hpp"
#include "mosh2/terminal/utf8_decoder.hpp"

using mosh2::terminal::parser;
using mosh2::terminal::utf8_decoder;
using act = parser::action;

namespace {

std::u32string decode(std::string_view bytes) {
  utf8_decoder d;
  std::u32string out;
  for (char b : bytes) d.feed(static_cast<std::uint8_t>(b), [&](char32_t c) { out.push_back(c); });
  return out;
}

// Feeds a string of code points and returns the actions that were not `none`.
std::vector<act> run(parser& p, std::u32string_view s) {
  std::vector<act> out;
  for (char32_t c : s)
    if (auto a = p.feed(c); a != act::none) out.push_back(a);
  return out;
}

}  // namespace

TEST_SUITE("terminal") {

TEST_CASE("well-formed UTF-8 decodes to its code points") {
  CHECK(decode("a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80") == U"a\u00E9\u20AC\U0001F600");
}

TEST_CASE("each maximal ill-formed UTF-8 subsequence becomes one U+FFFD") {
  CHECK(decode("\x80") == U"\uFFFD");
  CHECK(decode("\xE2\x82" "A") == U"\uFFFDA");        // truncated 3-byte sequence
  CHECK(decode("\xC0\xAF") == U"\uFFFD\uFFFD");        // C0 can never start a sequence
  CHECK(decode("\xE0\x80\x80") == U"\uFFFD\uFFFD\uFFFD");  // overlong
  CHECK(decode("\xF4\x90\x80\x80") == U"\uFFFD\uFFFD\uFFFD\uFFFD");  // above U+10FFFF
  CHECK(decode("\xF0\x9F\x98" "\xC3\xA9") == U"\uFFFD\u00E9");
  CHECK(decode("\xFF" "a") == U"\uFFFDa");
}

TEST_CASE("UTF-8 surrogates decode to U+FFFD, never to a surrogate") {
  const auto s = decode("\xED\xA0\x80");
  CHECK_FALSE(s.empty());
  for (char32_t c : s) CHECK(c == 0xFFFD);
}

TEST_CASE("the UTF-8 decoder keeps a split sequence across calls") {
  utf8_decoder d;
  std::u32string out;
  auto emit = [&](char32_t c) { out.push_back(c); };
  d.feed(0xE2, emit);
  CHECK_FALSE(d.idle());
  d.feed(0x82, emit);
  d.feed(0xAC, emit);
  CHECK(d.idle());
  CHECK(out == U"\u20AC");
}

TEST_CASE("printable characters print and C0 controls execute in ground") {
  parser p;
  CHECK(p.feed('a') == act::print);
  CHECK(p.ch() == U'a');
  CHECK(p.feed(0x00E9) == act::print);
  CHECK(p.feed('\n') == act::execute);
  CHECK(p.ch() == U'\n');
  CHECK(p.feed(0x7F) == act::none);
}

TEST_CASE("a CSI sequence dispatches with its parameters and final character") {
  parser p;
  CHECK(run(p, U"\x1b[12;34H") == std::vector<act>{act::csi_dispatch});
  CHECK(p.ch() == U'H');
  CHECK(p.param_count() == 2);
  CHECK(p.param(0, 1) == 12);
  CHECK(p.param(1, 1) == 34);
  CHECK(p.param(2, 7) == 7);
  CHECK(p.intermediates().empty());
}

TEST_CASE("a zero, empty or too large parameter counts as missing") {
  parser p;
  run(p, U"\x1b[0;;65536;65535;007m");
  CHECK(p.param_count() == 5);
  CHECK(p.param(0, 9) == 9);
  CHECK(p.param(1, 9) == 9);
  CHECK(p.param(2, 9) == 9);
  CHECK(p.param(3, 9) == 65535);
  CHECK(p.param(4, 9) == 7);
}

TEST_CASE("parameter characters beyond 100 are dropped") {
  parser p;
  std::u32string s = U"\x1b[";
  for (int i = 0; i < 60; ++i) s += U"1;";
  s += U"m";
  CHECK(run(p, s) == std::vector<act>{act::csi_dispatch});
  CHECK(p.param_count() == 51);  // 100 characters: 50 "1;" pairs and one empty field
  CHECK(p.param(49, 0) == 1);
  CHECK(p.param(50, 0) == 0);
}

TEST_CASE("colons separate sub-parameters, which are marked") {
  parser p;
  CHECK(run(p, U"\x1b[1;38:2::1:2:3;4m") == std::vector<act>{act::csi_dispatch});
  CHECK(p.has_sub_params());
  REQUIRE(p.param_count() == 8);
  CHECK(p.param(1, 0) == 38);
  CHECK(!p.param_is_sub(1));
  CHECK(p.param_is_sub(2));
  CHECK(p.param(2, 0) == 2);
  CHECK(p.param_is_sub(3));  // the empty colour space
  CHECK(p.param(3, -1) == -1);
  CHECK(p.param_is_sub(6));
  CHECK(p.param(6, 0) == 3);
  CHECK(!p.param_is_sub(7));
  CHECK(p.param(7, 0) == 4);
  run(p, U"\x1b[1;2m");
  CHECK(!p.has_sub_params());
  CHECK(!p.param_is_sub(1));
}

TEST_CASE("private markers are collected as intermediates") {
  parser p;
  CHECK(run(p, U"\x1b[?1049h") == std::vector<act>{act::csi_dispatch});
  CHECK(p.intermediates() == "?");
  CHECK(p.param(0, 0) == 1049);
  run(p, U"\x1b[>c");
  CHECK(p.intermediates() == ">");
  CHECK(run(p, U"\x1b[1?h") == std::vector<act>{});  // a marker after parameters: ignored
}

TEST_CASE("C0 controls inside a CSI sequence execute without ending it") {
  parser p;
  CHECK(run(p, U"\x1b[1\n2H") == std::vector<act>{act::execute, act::csi_dispatch});
  CHECK(p.param(0, 0) == 12);
}

TEST_CASE("ESC followed by 0x40-0x5F acts as the matching C1 control") {
  parser p;
  CHECK(run(p, U"\x1b" "D") == std::vector<act>{act::execute});
  CHECK(p.ch() == 0x84);
  CHECK(run(p, U"\x1bM") == std::vector<act>{act::execute});
  CHECK(p.ch() == 0x8D);
  CHECK(run(p, U"\u009b5n") == std::vector<act>{act::csi_dispatch});  // C1 CSI
  CHECK(p.param(0, 0) == 5);
}

TEST_CASE("ESC sequences with intermediates dispatch as ESC sequences") {
  parser p;
  CHECK(run(p, U"\x1b#8") == std::vector<act>{act::esc_dispatch});
  CHECK(p.intermediates() == "#");
  CHECK(p.ch() == U'8');
  CHECK(run(p, U"\x1b(0") == std::vector<act>{act::esc_dispatch});
  CHECK(p.intermediates() == "(");
}

TEST_CASE("OSC strings end at BEL, C1 ST or ESC backslash") {
  parser p;
  CHECK(run(p, U"\x1b]0;hi\a") == std::vector<act>{act::osc_dispatch});
  CHECK(p.osc() == U"0;hi");
  CHECK(run(p, U"\x1b]2;there\u009c") == std::vector<act>{act::osc_dispatch});
  CHECK(p.osc() == U"2;there");
  CHECK(run(p, U"\u009d1;x\x1b\\") == std::vector<act>{act::osc_dispatch});
  CHECK(p.osc() == U"1;x");
  CHECK(p.in_ground());
}

TEST_CASE("CAN aborts an OSC string without dispatching it") {
  parser p;
  CHECK(run(p, U"\x1b]0;abc\x18" "d") == std::vector<act>{act::execute, act::print});
}

TEST_CASE("OSC strings are capped at 16384 code points") {
  parser p;
  std::u32string s = U"\x1b]0;";
  s.append(20000, U'x');
  s += U"\a";
  CHECK(run(p, s) == std::vector<act>{act::osc_dispatch});
  CHECK(p.osc().size() == parser::max_osc_chars);
}

TEST_CASE("DCS, SOS, PM and APC contents are consumed and ignored") {
  parser p;
  CHECK(run(p, U"\x1bP1$qm\x1b\\A") == std::vector<act>{act::print});
  CHECK(run(p, U"\x1b_hello\u009cB") == std::vector<act>{act::print});
  CHECK(run(p, U"\x1b^pm\x1b\\\x1bXsos\x1b\\C") == std::vector<act>{act::print});
  CHECK(p.ch() == U'C');
}

TEST_CASE("ESC inside a sequence starts a new sequence") {
  parser p;
  CHECK(run(p, U"\x1b[12\x1b[3A") == std::vector<act>{act::csi_dispatch});
  CHECK(p.param(0, 0) == 3);
}

}  // TEST_SUITE

// The prediction engine (protocol §10.1-§10.6): keystrokes in, server frames from a real
// emulator, a fake clock, and the frame the client would draw out.

#include <doctest/doctest.h>

#include <random>
#include <string>

#include "mosh2/overlay/prediction.hpp"
#include "mosh2/terminal/emulator.hpp"

using namespace mosh2;
using overlay::prediction_engine;
using overlay::prediction_mode;
using terminal::framebuffer;

namespace {

// One client and its server: every keyboard read becomes the next client state, and
// the server's frames acknowledge (echo_ack) every state sent so far unless told not to.
struct session {
  prediction_engine engine;
  terminal::emulator server;
  time_point now{};
  std::uint64_t sent = 0;

  explicit session(prediction_mode mode, int width = 80, int height = 24, bool overwrite = false)
      : engine(mode, overwrite), server(width, height) {}

  /// What the client draws: the server frame with the predictions over it.
  framebuffer shown() const {
    auto f = server.fb();
    engine.apply(f);
    return f;
  }
  /// One read from the keyboard, predicted against what is on the screen.
  void type(std::string_view keys) {
    const auto local = shown();
    engine.set_local_frame_sent(sent);
    engine.new_user_input(keys, local, now);
    ++sent;
  }
  /// Host output reaches the client in a new frame.
  void host(std::string_view output, bool acked = true) {
    server.write(output);
    if (acked) engine.set_echo_ack(sent);
    engine.cull(server.fb(), now);
  }
  /// A prompt, a first keystroke and its echo: the epoch is confirmed, so what is typed
  /// next can be shown at once.
  void confirmed_prompt() {
    host("$ ");
    type("a");
    host("a");
    REQUIRE(engine.confirmed_epoch() == 1);
  }
};

std::string text(const framebuffer& fb, int row) {
  std::string s;
  for (int c = 0; c < fb.width(); ++c) {
    const auto& cell = fb.cell_at(row, c);
    s += cell.blank() ? std::string(" ") : std::string(cell.text());
  }
  return s.erase(s.find_last_not_of(' ') + 1);
}

bool underlined(const framebuffer& fb, int row, int col) {
  return fb.cell_at(row, col).rend().has(terminal::renditions::underlined);
}

}  // namespace

TEST_SUITE("overlay") {
TEST_CASE("mode names are MOSH_PREDICTION_DISPLAY's") {
  CHECK(overlay::parse_prediction_mode("adaptive") == prediction_mode::adaptive);
  CHECK(overlay::parse_prediction_mode("always") == prediction_mode::always);
  CHECK(overlay::parse_prediction_mode("never") == prediction_mode::never);
  CHECK(overlay::parse_prediction_mode("experimental") == prediction_mode::experimental);
  CHECK_FALSE(overlay::parse_prediction_mode("sometimes").has_value());
}

TEST_CASE("the send interval follows SRTT as SSP computes it") {
  prediction_engine e(prediction_mode::adaptive);
  e.set_srtt(30);  // 15 -> clamped to 20: a fast link
  e.cull(framebuffer(80, 24), time_point{});
  CHECK_FALSE(e.srtt_trigger());
  e.set_srtt(61);  // 31 ms > 30
  e.cull(framebuffer(80, 24), time_point{});
  CHECK(e.srtt_trigger());
}

TEST_CASE("experimental mode shows typed characters at once") {
  session l(prediction_mode::experimental);
  l.host("$ ");
  l.type("abc");
  const auto f = l.shown();
  CHECK(text(f, 0) == "$ abc");
  CHECK(f.ds().cursor_col == 5);
  CHECK(text(l.server.fb(), 0) == "$");
}

TEST_CASE("always mode holds back the first keystroke until an echo confirms it, then shows the rest at once") {
  session l(prediction_mode::always);
  l.engine.set_send_interval(20ms);  // a fast link makes no difference to 'always'
  l.host("$ ");
  l.type("a");
  CHECK(text(l.shown(), 0) == "$");
  l.host("a");
  l.type("bc");
  const auto f = l.shown();
  CHECK(text(f, 0) == "$ abc");
  CHECK(f.ds().cursor_col == 5);
  CHECK_FALSE(underlined(f, 0, 3));
}

TEST_CASE("confirmed predictions disappear into the real frame") {
  session l(prediction_mode::always);
  l.confirmed_prompt();
  const auto before = l.engine.stats();
  l.type("bc");
  l.host("b", false);  // echo_ack not there yet: nothing is judged
  CHECK(text(l.shown(), 0) == "$ abc");
  CHECK(l.engine.active());
  l.host("c");
  CHECK_FALSE(l.engine.active());
  CHECK(l.shown() == l.server.fb());
  // The status file's counts: cells predicted (a typed character also predicts the
  // cells it shifts right) and confirmed, nothing wrong.
  CHECK(l.engine.stats().made - before.made >= 2);
  CHECK(l.engine.stats().confirmed - before.confirmed >= 2);
  CHECK(l.engine.stats().wrong == before.wrong);
}

TEST_CASE("a wrong prediction that was shown resets everything and hides new ones") {
  session l(prediction_mode::always);
  l.confirmed_prompt();
  l.type("b");
  CHECK(text(l.shown(), 0) == "$ ab");
  l.host("");  // the keystroke was delivered but nothing was echoed
  CHECK_FALSE(l.engine.active());
  CHECK(l.engine.stats().wrong == 1);
  CHECK(l.shown() == l.server.fb());
  CHECK(l.engine.prediction_epoch() > l.engine.confirmed_epoch());
  l.type("c");
  CHECK(l.shown() == l.server.fb());
}

TEST_CASE("a password prompt kills the epoch and stops predicting until the next confirmation") {
  session l(prediction_mode::always);
  l.confirmed_prompt();
  l.type("\r");                 // Enter: a new, hidden epoch
  l.host("\r\nPassword: ");     // the predicted cursor (1,0) is wrong: reset
  CHECK_FALSE(l.engine.active());
  l.type("sec");
  CHECK(l.shown() == l.server.fb());
  l.host("");                   // no echo: the hidden epoch dies
  CHECK_FALSE(l.engine.active());
  l.type("ret");
  CHECK(l.shown() == l.server.fb());
  l.host("");
  l.type("\r");
  l.host("\r\n$ ");
  l.type("l");                  // still hidden: nothing confirmed since the prompt
  CHECK(l.shown() == l.server.fb());
  l.host("l");                  // echoed: confirmed
  l.type("s");
  CHECK(text(l.shown(), 2) == "$ ls");
}

TEST_CASE("control characters and escape sequences start a hidden epoch") {
  for (std::string_view key : {"\t", "\x1b[A", "\x1bOB", "\x1b" "b", "\x03"}) {
    CAPTURE(key);
    session l(prediction_mode::always);
    l.confirmed_prompt();
    const auto epoch = l.engine.prediction_epoch();
    l.type(key);
    CHECK(l.engine.prediction_epoch() == epoch + 1);
    l.type("x");
    CHECK(l.shown() == l.server.fb());
  }
}

TEST_CASE("left and right arrows move the cursor; backspace pulls the rest of the row left") {
  session l(prediction_mode::always);
  l.confirmed_prompt();
  l.host("bcd");  // "$ abcd", cursor on column 6
  l.type("\x1b[D");
  CHECK(l.shown().ds().cursor_col == 5);
  l.type("\x7f");
  auto f = l.shown();
  CHECK(text(f, 0) == "$ abd");
  CHECK(f.ds().cursor_col == 4);
  l.type("\x1bOC");  // the application-mode right arrow means the same
  CHECK(l.shown().ds().cursor_col == 5);
  // What bash sends back: left, then back, redraw "d", erase, back; then right.
  l.host("\b\bd\x1b[K\b\x1b[C");
  CHECK_FALSE(l.engine.active());
  CHECK(l.engine.prediction_epoch() == l.engine.confirmed_epoch());
  CHECK(l.shown() == l.server.fb());
}

TEST_CASE("backspace at the left margin predicts nothing") {
  session l(prediction_mode::always);
  l.host("");
  l.type("\x7f");
  CHECK_FALSE(l.engine.active());
}

TEST_CASE("in overwrite mode backspace blanks one cell and typing shifts nothing") {
  session l(prediction_mode::always, 80, 24, true);
  l.confirmed_prompt();
  l.host("bcd\x1b[2D");  // "$ abcd", cursor on 'c'
  l.type("\x7f");
  auto f = l.shown();
  CHECK(text(f, 0) == "$ a cd");
  CHECK(f.ds().cursor_col == 3);
  l.type("X");
  CHECK(text(l.shown(), 0) == "$ aXcd");
}

TEST_CASE("in insert mode typing shifts the rest of the row right") {
  session l(prediction_mode::always);
  l.confirmed_prompt();
  l.host("bcd\x1b[2D");  // "$ abcd", cursor on 'c'
  l.type("X");
  const auto f = l.shown();
  CHECK(text(f, 0) == "$ abXcd");
  CHECK(f.ds().cursor_col == 5);
}

TEST_CASE("typing past the right margin wraps the predicted cursor") {
  session l(prediction_mode::experimental, 10, 3);
  l.host("$ ");
  l.type("abcdefghij");
  auto f = l.shown();
  CHECK(text(f, 0) == "$ abcdefgh");
  CHECK(text(f, 1) == "ij");
  CHECK(f.ds().cursor_row == 1);
  CHECK(f.ds().cursor_col == 2);
  l.host("abcdefghij");
  CHECK_FALSE(l.engine.active());
  CHECK(l.shown() == l.server.fb());
}

TEST_CASE("on the last row the wrap predicts a blank row, not a scroll") {
  session l(prediction_mode::experimental, 10, 2);
  l.host("\r\n$ ");
  l.type("abcdefghX");
  const auto f = l.shown();
  CHECK(text(f, 1) == "X");
  CHECK(f.ds().cursor_row == 1);
  CHECK(f.ds().cursor_col == 1);
}

TEST_CASE("outside experimental mode the last column and the wrap stay hidden") {
  session l(prediction_mode::always, 10, 3);
  l.engine.set_send_interval(20ms);
  l.confirmed_prompt();
  l.type("bcdefgh");  // 'h' lands in the last column
  const auto f = l.shown();
  CHECK(text(f, 0) == "$ abcdefg");
  CHECK(f.ds().cursor_row == 0);
  CHECK(f.ds().cursor_col == 9);
  l.type("i");
  l.host("bcdefghi");  // the real wrap: everything checks out
  CHECK_FALSE(l.engine.active());
  CHECK(l.engine.confirmed_epoch() == l.engine.prediction_epoch());
}

TEST_CASE("adaptive mode shows nothing on a fast link and predictions on a slow one") {
  SUBCASE("fast: SRTT 40 ms") {
    session l(prediction_mode::adaptive);
    l.engine.set_send_interval(20ms);
    l.confirmed_prompt();
    l.type("bc");
    CHECK_FALSE(l.engine.displaying());
    CHECK(l.shown() == l.server.fb());
  }
  SUBCASE("medium: SRTT 80 ms, shown but not underlined") {
    session l(prediction_mode::adaptive);
    l.engine.set_send_interval(40ms);
    l.confirmed_prompt();
    l.type("bc");
    const auto f = l.shown();
    CHECK(text(f, 0) == "$ abc");
    CHECK_FALSE(underlined(f, 0, 3));
  }
  SUBCASE("slow: SRTT 200 ms, shown and underlined") {
    session l(prediction_mode::adaptive);
    l.engine.set_send_interval(100ms);
    l.confirmed_prompt();
    l.type("bc");
    const auto f = l.shown();
    CHECK(text(f, 0) == "$ abc");
    CHECK(underlined(f, 0, 3));
    CHECK(underlined(f, 0, 4));
    CHECK_FALSE(underlined(f, 0, 5));  // blank over blank is never marked
  }
}

TEST_CASE("the underline goes when the echo arrives, before the echo_ack that judges it") {
  session l(prediction_mode::adaptive);
  l.engine.set_send_interval(100ms);
  l.confirmed_prompt();
  l.type("bc");
  REQUIRE(underlined(l.shown(), 0, 3));
  l.host("b", false);  // the echo of 'b' only: its state is not acknowledged yet
  REQUIRE(l.engine.active());
  const auto f = l.shown();
  CHECK(text(f, 0) == "$ abc");
  CHECK_FALSE(underlined(f, 0, 3));  // the server shows 'b' itself: nothing drawn over it
  CHECK(underlined(f, 0, 4));        // 'c' is still only predicted
}

TEST_CASE("the SRTT trigger waits for the active predictions before switching off") {
  session l(prediction_mode::adaptive);
  l.engine.set_send_interval(100ms);
  l.confirmed_prompt();
  l.type("b");
  l.engine.set_send_interval(20ms);
  l.host("", false);
  CHECK(l.engine.srtt_trigger());
  CHECK(text(l.shown(), 0) == "$ ab");
  l.host("b");
  l.host("", false);
  CHECK_FALSE(l.engine.srtt_trigger());
}

TEST_CASE("a glitch shows predictions after 250 ms and underlines them after 5 s, and quick echoes repair it") {
  session l(prediction_mode::adaptive);
  l.engine.set_send_interval(20ms);
  l.confirmed_prompt();
  l.type("b");
  CHECK(l.shown() == l.server.fb());
  CHECK(l.engine.next_deadline(l.now) == l.now + overlay::prediction_recheck);

  l.now += 300ms;
  l.host("", false);
  CHECK(l.engine.glitch_trigger() == 10);
  auto f = l.shown();
  CHECK(text(f, 0) == "$ ab");
  CHECK_FALSE(underlined(f, 0, 3));

  l.now += 5000ms;
  l.host("", false);
  CHECK(l.engine.glitch_trigger() == 20);
  l.now += 50ms;
  l.host("", false);  // flagging follows the glitch level at the next frame
  CHECK(l.engine.flagging());
  CHECK(underlined(l.shown(), 0, 3));
  CHECK(l.engine.next_deadline(l.now) == never);

  l.host("b");  // a late echo repairs nothing
  CHECK(l.engine.glitch_trigger() == 20);
  for (int i = 0; i < 10; ++i) {
    l.now += 200ms;
    l.type("x");
    l.host("x");
  }
  CHECK(l.engine.glitch_trigger() == 10);
  l.host("", false);
  CHECK_FALSE(l.engine.flagging());
  CHECK(l.engine.displaying());

  // Quick echoes count only once per 150 ms.
  l.now += 200ms;
  l.type("y");
  l.host("y");
  l.now += 100ms;
  l.type("z");
  l.host("z");
  CHECK(l.engine.glitch_trigger() == 9);
  for (int i = 0; i < 9; ++i) {
    l.now += 200ms;
    l.type("x");
    l.host("x");
  }
  CHECK(l.engine.glitch_trigger() == 0);
  CHECK_FALSE(l.engine.displaying());
}

TEST_CASE("never mode never changes the frame") {
  session l(prediction_mode::never);
  l.host("$ ");
  for (std::string_view keys : {"abc", "\x7f", "\x1b[D", "\r", "x"}) {
    l.type(keys);
    CHECK(l.shown() == l.server.fb());
    l.now += 6s;
    l.host("", false);
    CHECK(l.shown() == l.server.fb());
  }
  CHECK_FALSE(l.engine.active());
  CHECK(l.engine.next_deadline(l.now) == never);
}

TEST_CASE("a screen size change and a paste reset the predictions") {
  session l(prediction_mode::always);
  l.confirmed_prompt();
  l.type("b");
  l.server.resize(60, 20);
  l.host("", false);
  CHECK_FALSE(l.engine.active());

  session p(prediction_mode::experimental);
  p.host("$ ");
  p.type("b");
  CHECK(p.engine.active());
  p.type(std::string(101, 'x'));
  CHECK_FALSE(p.engine.active());
  CHECK(p.shown() == p.server.fb());
}

TEST_CASE("random keystrokes and random server frames never crash or put the cursor off screen") {
  std::mt19937 rng(20240611);
  const std::string_view pieces[] = {"a", "b", " ", "~", "\x7f", "\r", "\n", "\t", "\b", "\x1b", "[", "O",
                                     "A", "C", "D", "1;5", "\xc3\xa9", "\xe6\x97\xa5", "\xcc\x81", "\xff",
                                     "\x1b[K", "\x1b[2J", "\x1b[H", "\x1b[?1049h", "\x9b"};
  auto random_bytes = [&](int max_pieces) {
    std::string s;
    for (int n = static_cast<int>(rng() % static_cast<unsigned>(max_pieces)) + 1; n > 0; --n)
      s += pieces[rng() % std::size(pieces)];
    return s;
  };
  for (int run = 0; run < 150; ++run) {
    const auto mode = static_cast<prediction_mode>(rng() % 4);
    session l(mode, static_cast<int>(rng() % 12) + 1, static_cast<int>(rng() % 6) + 1, rng() % 2 == 0);
    for (int step = 0; step < 150; ++step) {
      switch (rng() % 6) {
        case 0:
        case 1: l.type(random_bytes(8)); break;
        case 2: l.host(random_bytes(6), rng() % 2 == 0); break;
        case 3: l.now += milliseconds(rng() % 6000); break;
        case 4: l.engine.set_send_interval(milliseconds(20 + rng() % 231)); break;
        default:
          if (rng() % 8 == 0) l.server.resize(static_cast<int>(rng() % 12) + 1, static_cast<int>(rng() % 6) + 1);
          l.host("", rng() % 2 == 0);
      }
      const auto f = l.shown();
      const char* broken = f.invariant_violation();
      if (broken) FAIL("run ", run, " step ", step, ": ", broken);
      REQUIRE(l.engine.next_deadline(l.now) >= l.now);
      if (mode == prediction_mode::never) REQUIRE(f == l.server.fb());
    }
  }
}
}

TEST_SUITE("overlay") {
TEST_CASE("cells whose content keeps changing while the echo stalls remember a bounded set of originals") {
  // The program rewrites the row under the predictions with new text every time, and
  // never echoes: each keystroke re-predicts the rest of the row (insert mode), and
  // every cell meets a content it has not seen. The keys are typed against the
  // program's frame, as when no prediction is displayed (a tentative epoch, a fast link).
  session s(prediction_mode::adaptive);
  s.confirmed_prompt();
  for (int i = 0; i < 1000; ++i) {
    // A letter and a combining mark: 26 x 112 different cell contents.
    std::string mark = "\xCC\x80";
    mark[1] = static_cast<char>(0x80 + (i / 26) % 64);
    mark[0] = static_cast<char>(0xCC + (i / 26 / 64) % 2);
    std::string cell(1, static_cast<char>('a' + i % 26));
    cell += mark;
    std::string row = "\x1b[1;5H";
    for (int c = 4; c < 80; ++c) row += cell;
    s.host(row + "\x1b[1;4H", false);
    s.engine.set_local_frame_sent(s.sent++);
    s.engine.new_user_input(i % 2 == 0 ? "b" : "\x7f", s.server.fb(), s.now);
  }
  const auto held = s.engine.originals_held();
  MESSAGE(held << " originals held for one row of 80 cells");
  CHECK(held <= 80 * overlay::max_cell_originals);
  CHECK(s.engine.active());
}
}

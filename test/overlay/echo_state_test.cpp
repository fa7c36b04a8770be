// The prediction engine with the program's terminal mode known (docs/protocol.md,
// "terminal_mode"): a fake clock, server frames from a real emulator, and a scripted
// sequence of reported modes; every check is on the frame the client would draw.

#include <doctest/doctest.h>

#include <string>

#include "mosh2/overlay/prediction.hpp"
#include "mosh2/terminal/emulator.hpp"

using namespace mosh2;
using overlay::echo_state;
using overlay::prediction_engine;
using overlay::prediction_mode;
using terminal::framebuffer;

namespace {

constexpr std::uint64_t readline_mode = 0x0104031c1a;  // any key: only equality matters
constexpr std::uint64_t other_raw_mode = 0x0100031c1a;

// One client and its server: every keyboard read becomes the next client state; a
// frame acknowledges (echo_ack) every state sent so far unless told not to.
struct session {
  prediction_engine engine;
  terminal::emulator server{80, 24};
  time_point now{};
  std::uint64_t sent = 0;

  explicit session(prediction_mode mode = prediction_mode::always) : engine(mode) {
    engine.set_srtt(100);  // send interval 50 ms: a key 150 ms after a frame finds the screen still
  }

  framebuffer shown() const {
    auto f = server.fb();
    engine.apply(f);
    return f;
  }
  void type(std::string_view keys) {
    now += 150ms;
    const auto local = shown();
    engine.set_local_frame_sent(sent);
    engine.new_user_input(keys, local, now);
    ++sent;
  }
  void host(std::string_view output, bool acked = true) {
    now += 10ms;
    server.write(output);
    engine.screen_changed(now);
    if (acked) engine.set_echo_ack(sent);
    engine.cull(server.fb(), now);
  }
  /// A prompt and a command typed and echoed: the epoch is confirmed.
  void confirmed_line(std::string_view cmd) {
    host("$ ");
    for (char c : cmd) {
      type(std::string(1, c));
      host(std::string(1, c));
    }
    if (engine.mode() != prediction_mode::experimental) REQUIRE(engine.confirmed_epoch() >= 1);
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

}  // namespace

TEST_SUITE("overlay") {

TEST_CASE("with the mode unknown, the first key of a line waits for its echo (Mosh's rule)") {
  session s;
  s.confirmed_line("ls");
  s.type("\r");
  s.host("\r\n$ ");
  s.type("p");
  CHECK(text(s.shown(), 1) == "$");  // hidden until the server confirms it
  s.host("p");
  s.type("w");
  CHECK(text(s.shown(), 1) == "$ pw");
}

TEST_CASE("with the kernel echoing, the first key of the next line shows at once") {
  session s;
  s.engine.set_echo_state(echo_state::kernel, 1);
  s.confirmed_line("ls");
  s.type("\r");
  CHECK(s.shown().ds().cursor_row == 0);  // no guess where the prompt puts the cursor
  s.host("\r\n$ ");
  s.type("p");
  CHECK(text(s.shown(), 1) == "$ p");
  CHECK(s.shown().ds().cursor_col == 3);
  s.host("p");  // the echo confirms it
  CHECK(s.engine.stats().wrong == 0);
}

TEST_CASE("a key typed before the screen after the return arrived is not shown early") {
  session s;
  s.engine.set_echo_state(echo_state::kernel, 1);
  s.confirmed_line("ls");
  s.type("\r");
  s.type("p");  // typed ahead: aimed at the old screen
  CHECK(text(s.shown(), 0) == "$ ls");
  s.host("\r\n$ ");
  CHECK(text(s.shown(), 1) == "$");
  CHECK(text(s.shown(), 0) == "$ ls");
}

TEST_CASE("a key typed while the screen is still changing is not shown early") {
  session s;
  s.engine.set_echo_state(echo_state::kernel, 1);
  s.confirmed_line("sudo true");
  s.type("\r");
  s.host("\r\nPassword: ");
  s.now += 10ms;
  s.engine.screen_changed(s.now);  // the prompt just arrived; its mode may be behind it
  s.engine.set_local_frame_sent(s.sent);
  s.engine.new_user_input("h", s.shown(), s.now + 20ms);
  ++s.sent;
  CHECK(text(s.shown(), 1) == "Password:");
}

TEST_CASE("a line editor must be seen echoing in its mode before its next line is trusted") {
  session s;
  s.engine.set_echo_state(echo_state::program, readline_mode);
  CHECK_FALSE(s.engine.echo_expected());
  s.confirmed_line("ls");  // its echo, confirmed in this mode
  CHECK(s.engine.echo_expected());
  // The shell runs the command in cooked mode and takes the terminal back: still trusted.
  s.engine.set_echo_state(echo_state::kernel, 7);
  s.engine.set_echo_state(echo_state::program, readline_mode);
  CHECK(s.engine.echo_expected());
  s.type("\r");
  s.host("\r\n$ ");
  s.type("c");
  CHECK(text(s.shown(), 1) == "$ c");

  // Another raw mode (say, a full-screen program) is not trusted on the shell's credit.
  s.host("c");
  s.engine.set_echo_state(echo_state::program, other_raw_mode);
  CHECK_FALSE(s.engine.echo_expected());
  s.type("\r");
  s.host("\r\n$ ");
  s.type("d");
  CHECK(text(s.shown(), 2) == "$");
}

TEST_CASE("echo turned off mid-line: what was drawn goes, and nothing typed is drawn") {
  for (auto mode : {prediction_mode::always, prediction_mode::adaptive, prediction_mode::experimental}) {
    CAPTURE(mode);
    session s(mode);
    s.engine.set_srtt(200);
    s.engine.set_echo_state(echo_state::kernel, 1);
    s.confirmed_line("ab");
    s.type("c");
    CHECK(text(s.shown(), 0) == "$ abc");
    s.engine.set_echo_state(echo_state::off, 2);
    CHECK(text(s.shown(), 0) == "$ ab");
    for (char k : std::string("secret")) {
      s.type(std::string(1, k));
      CHECK(text(s.shown(), 0) == "$ ab");
      s.host("", false);
    }
    s.host("");
    CHECK(text(s.shown(), 0) == "$ ab");
    // Echo back on: the keys typed meanwhile stay hidden.
    s.engine.set_echo_state(echo_state::kernel, 1);
    CHECK(text(s.shown(), 0) == "$ ab");
  }
}

TEST_CASE("a password prompt after a trusted return shows no typed character on any frame") {
  for (auto mode : {prediction_mode::always, prediction_mode::adaptive}) {
    CAPTURE(mode);
    session s(mode);
    s.engine.set_srtt(200);
    s.engine.set_echo_state(echo_state::program, readline_mode);
    s.confirmed_line("sudo true");
    s.type("\r");
    // The program turns echo off, then the prompt arrives.
    s.engine.set_echo_state(echo_state::off, 3);
    s.host("\r\nPassword: ");
    for (char k : std::string("hunter2")) {
      s.type(std::string(1, k));
      const auto f = s.shown();
      CHECK(text(f, 1) == "Password:");
      s.host("", true);
      CHECK(text(s.shown(), 1) == "Password:");
    }
    s.type("\r");
    s.host("\r\n$ ");
    CHECK(text(s.shown(), 2) == "$");
  }
}

TEST_CASE("a first key shown at once that the program does not echo is gone within a round trip") {
  session s;
  s.engine.set_echo_state(echo_state::kernel, 1);
  s.confirmed_line("ls");
  s.type("\r");
  s.host("\r\n$ ");
  s.type("q");
  CHECK(text(s.shown(), 1) == "$ q");
  s.host("");  // the server's frame for that key: no echo
  CHECK(text(s.shown(), 1) == "$");
  CHECK(s.engine.stats().wrong == 1);
  s.type("r");  // and the next key waits for a confirmation again
  CHECK(text(s.shown(), 1) == "$");
}

TEST_CASE("a mode that becomes unknown again restores Mosh's rule") {
  session s;
  s.engine.set_echo_state(echo_state::kernel, 1);
  s.confirmed_line("ls");
  s.type("\r");
  s.engine.set_echo_state(echo_state::unknown, 0);
  s.host("\r\n$ ");
  s.type("p");
  CHECK(text(s.shown(), 1) == "$");
}

}  // TEST_SUITE

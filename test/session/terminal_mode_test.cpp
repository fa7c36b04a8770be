// The terminal_mode extension between two cores over the simulated link: the item
// encoding against hostile bytes, the mode reaching a client that agreed (and its
// changes, in order), nothing toward a stock-like client, Mosh's behaviour with a
// stock-like server, and the client's urgent window following the server's VINTR.

#include <doctest/doctest.h>

#include <signal.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "mosh2/session/terminal_mode.hpp"
#include "session_sim.hpp"

using namespace mosh2;
using namespace mosh2::session;
using namespace mosh2::session::test;

namespace {

extension_config with_mode() { return extension_config{}; }  // the programs' default announces it
extension_config stock_like() { return extension_config{{}, {}}; }

program_tty tty(bool canonical, bool echo, char intr = '\x03') {
  program_tty t;
  t.chars.isig = true;
  t.chars.intr = intr;
  t.canonical = canonical;
  t.echo = echo;
  return t;
}

/// Every terminal_mode item in the server's datagrams, as the client would decode them.
std::size_t mode_frames_sent(const std::vector<bytes>& sent) {
  datagram::connection_core dc(datagram::role::client, test_key(), time_point{});
  transport::fragment_assembler assembler;
  std::size_t n = 0;
  for (const auto& w : sent) {
    auto d = dc.open(w, time_point{});
    if (!d) continue;
    auto a = assembler.add(d->payload);
    if (!a || !*a) continue;
    for (const auto& f : (**a).ext.streams)
      if (f.stream == extension::terminal_mode) ++n;
  }
  return n;
}

}  // namespace

TEST_SUITE("session") {

TEST_CASE("a terminal_mode item reads back, and hostile bytes give a mode or nothing") {
  terminal_mode m{false, false, true, '\x07', '\x1c', '\0', true};
  const auto item = encode_terminal_mode(m);
  CHECK(item.size() == terminal_mode_item_size);
  CHECK(decode_terminal_mode(item) == m);
  CHECK(decode_terminal_mode(item + "later additions") == m);  // longer: still version 1
  CHECK_FALSE(decode_terminal_mode(item.substr(0, 4)));
  CHECK_FALSE(decode_terminal_mode(""));
  auto v2 = item;
  v2[0] = 2;
  CHECK_FALSE(decode_terminal_mode(v2));
  std::mt19937 gen(5);
  for (int i = 0; i < 20000; ++i) {
    bytes b(static_cast<std::size_t>(gen() % 12), '\0');
    for (auto& c : b) c = static_cast<char>(gen());
    if (auto d = decode_terminal_mode(b)) CHECK(encode_terminal_mode(*d).size() == terminal_mode_item_size);
  }
  CHECK(echo_of(terminal_mode{true, true}) == overlay::echo_state::kernel);
  CHECK(echo_of(terminal_mode{true, false}) == overlay::echo_state::off);
  CHECK(echo_of(terminal_mode{false, false}) == overlay::echo_state::program);
  CHECK(echo_of(terminal_mode{false, true}) == overlay::echo_state::kernel);
}

TEST_CASE("both ends agreeing: the program's mode reaches the client, and each change after it") {
  session_sim sim({0.05, 20, 20}, {0, 20, 20}, 11, {with_mode(), with_mode()});
  sim.run_for(100ms);
  sim.type("x");
  sim.run_for(1s);
  REQUIRE(sim.server().wants_program_mode());
  CHECK_FALSE(sim.client().program_mode().has_value());  // nothing read yet: unknown
  CHECK(sim.client().predictor().echo() == overlay::echo_state::unknown);

  (void)sim.server().handle(tty(false, false), sim.now());  // a line editor
  sim.run_for(1s);
  REQUIRE(sim.client().program_mode().has_value());
  CHECK_FALSE(sim.client().program_mode()->canonical);
  CHECK_FALSE(sim.client().program_mode()->echo);
  CHECK(sim.client().predictor().echo() == overlay::echo_state::program);

  (void)sim.server().handle(tty(true, false), sim.now());  // a password prompt
  // Two stream-only instructions in a row share a fragment id under the simulator's fixed
  // chaff, so the second may wait for a main instruction (a heartbeat) to carry it.
  sim.run_for(4s);
  CHECK(sim.client().predictor().echo() == overlay::echo_state::off);

  (void)sim.server().handle(program_output{"\x1b[?1049h"}, sim.now());
  sim.run_for(4s);
  REQUIRE(sim.client().program_mode().has_value());
  CHECK(sim.client().program_mode()->alternate_screen);

  // The same mode again is not news: nothing more on the stream.
  const auto before = mode_frames_sent(sim.down().history);
  (void)sim.server().handle(tty(true, false), sim.now());
  sim.type("y");
  sim.run_for(2s);
  CHECK(mode_frames_sent(sim.down().history) == before);
}

TEST_CASE("a mode change waiting on the stream goes out with the next main instruction") {
  session_sim sim({}, {}, 17, {with_mode(), with_mode()});
  sim.run_for(100ms);
  sim.type("x");
  sim.run_for(1s);
  (void)sim.server().handle(tty(false, false), sim.now());
  sim.run_for(2s);
  const std::size_t from = sim.down().history.size();
  // The prompt first, the mode 3 ms later: by its own timer the stream would go 3 ms
  // after the screen.
  (void)sim.server().handle(program_output{"Password: "}, sim.now());
  sim.run_for(3ms);
  (void)sim.server().handle(tty(true, false), sim.now());
  sim.run_for(500ms);

  datagram::connection_core dc(datagram::role::client, test_key(), time_point{});
  transport::fragment_assembler assembler;
  bool mode_seen = false, screen_seen = false;
  for (std::size_t i = 0; i < sim.down().history.size(); ++i) {
    auto d = dc.open(sim.down().history[i], time_point{});
    if (!d) continue;
    auto a = assembler.add(d->payload);
    if (i < from || !a || !*a) continue;
    const auto& inst = **a;
    const bool has_mode = std::any_of(inst.ext.streams.begin(), inst.ext.streams.end(),
                                      [](const auto& f) { return f.stream == extension::terminal_mode; });
    if (!inst.ext.no_state && !inst.diff.empty() && !screen_seen) {
      screen_seen = true;
      CHECK((has_mode || mode_seen));  // the screen with the prompt never goes ahead of the mode
    }
    mode_seen = mode_seen || has_mode;
  }
  CHECK(screen_seen);
  CHECK(mode_seen);
}

TEST_CASE("toward a stock-like client the server sends no terminal_mode stream") {
  session_sim sim({}, {}, 13, {with_mode(), stock_like()});
  sim.run_for(100ms);
  (void)sim.server().handle(tty(false, false), sim.now());
  sim.type("hello");
  sim.run_for(2s);
  CHECK_FALSE(sim.server().wants_program_mode());
  CHECK(mode_frames_sent(sim.down().history) == 0);
}

TEST_CASE("with a stock-like server the mode stays unknown: Mosh's behaviour") {
  session_sim sim({}, {}, 14, {stock_like(), with_mode()});
  sim.run_for(100ms);
  (void)sim.server().handle(tty(false, false), sim.now());
  sim.type("hello");
  sim.run_for(2s);
  CHECK_FALSE(sim.client().program_mode().has_value());
  CHECK(sim.client().predictor().echo() == overlay::echo_state::unknown);
  CHECK(row_text(sim.client().server_screen(), 0) == "hello");
}

TEST_CASE("the client widens its input window for the server's own interrupt character") {
  session_sim sim({}, {}, 15, {with_mode(), with_mode()});
  sim.run_for(100ms);
  (void)sim.server().handle(tty(true, true, '\x07'), sim.now());  // stty intr ^G
  sim.type("x");
  sim.run_for(1s);
  REQUIRE(sim.client().program_mode().has_value());
  sim.program().reading = false;
  sim.program().echo = false;
  for (int i = 0; i < 400; ++i) {  // far more than the server's cap and the client's window
    sim.type(std::string(1000, 'a'));
    sim.run_for(10ms);
  }
  REQUIRE(sim.server().program_queue().full());
  REQUIRE(sim.client().waiting_input() > 0);
  sim.type("\x07");
  sim.run_for(std::chrono::seconds(3));
  REQUIRE(sim.signals.size() == 1);
  CHECK(sim.signals[0] == SIGINT);
}

TEST_CASE("after a rekey the new client is told the mode from the start") {
  session_sim sim({}, {}, 16, {with_mode(), with_mode()});
  sim.run_for(100ms);
  (void)sim.server().handle(tty(true, false), sim.now());
  sim.type("x");
  sim.run_for(1s);
  REQUIRE(sim.client().predictor().echo() == overlay::echo_state::off);
  crypto::session_key::raw_type raw{};
  for (std::size_t i = 0; i < raw.size(); ++i) raw[i] = static_cast<std::uint8_t>(90 + i);
  const crypto::session_key key(raw);
  (void)sim.server().handle(rekey_requested{key}, sim.now());
  sim.replace_client(key);
  sim.run_for(100ms);
  sim.type("y");
  sim.run_for(2s);
  CHECK(sim.client().predictor().echo() == overlay::echo_state::off);
}

}  // TEST_SUITE

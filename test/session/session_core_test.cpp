// The session cores (server_core, client_core) against each other over a simulated
// link: whole sessions, keystrokes to screen, with loss, delay, reordering, roaming,
// a program that stops reading, and shutdown. No sockets, a fake clock.

#include <doctest/doctest.h>

#include <signal.h>

#include <string>

#include "session_sim.hpp"

// The cores are synchronous and I/O-free (docs/architecture.md): nothing they include
// may bring in Asio (every Asio header includes asio/detail/config.hpp).
#ifdef ASIO_DETAIL_CONFIG_HPP
#error "the session cores (or session_sim.hpp) include Asio"
#endif

using namespace mosh2;
using namespace mosh2::session;
using namespace mosh2::session::test;

namespace {

std::string pattern(std::size_t n, std::size_t seed = 0) {
  std::string s(n, 'a');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 31 + seed) % 26);
  return s;
}

}  // namespace

TEST_SUITE("session") {
TEST_CASE("the link's fragment payload is the MTU less the datagram and fragment headers") {
  link_core ipv4(datagram::role::client, test_key(), time_point{});
  CHECK(ipv4.fragment_payload_budget() == 462);  // 500 before the family is known
  ipv4.datagram().set_address_family(datagram::address_family::ipv4);
  CHECK(ipv4.fragment_payload_budget() == 1214);
  ipv4.datagram().set_address_family(datagram::address_family::ipv6);
  CHECK(ipv4.fragment_payload_budget() == 1178);
}

TEST_CASE("typed keys reach the program and its echo reaches the client's screen") {
  session_sim sim;
  sim.run_for(100ms);
  sim.type("hello");
  sim.run_for(500ms);
  CHECK(sim.program().input == "hello");
  CHECK(row_text(sim.client().server_screen(), 0) == "hello");
  CHECK(sim.client().ever_heard());
  REQUIRE(sim.server().peer());
  CHECK(sim.server().peer()->port == 50000);
}

TEST_CASE("under loss, delay, reordering and duplication every keystroke arrives once and in order") {
  const link_model bad{0.3, 20, 120, 0.2};
  session_sim sim(bad, bad, 42);
  std::string typed;
  for (int i = 0; i < 200; ++i) {
    const auto piece = pattern(1 + i % 7, static_cast<std::size_t>(i));
    typed += piece;
    sim.type(piece);
    sim.run_for(37ms);
  }
  sim.run_for(std::chrono::seconds(20));
  CHECK(sim.program().input == typed);
  // The impairments really happened.
  CHECK(sim.up().lost() > 10);
  CHECK(sim.up().duplicated() > 10);
  CHECK(sim.up().reordered() > 10);
  CHECK(sim.down().lost() > 10);
}

TEST_CASE("the server follows an in-order datagram from a new source and ignores an out-of-order one") {
  session_sim sim;
  sim.type("a");
  sim.run_for(300ms);
  REQUIRE(sim.server().peer());
  CHECK(sim.server().peer()->port == 50000);
  const bytes old = sim.up().history.front();  // authentic, sequence 0

  sim.client_address = {"127.0.0.1", 50123, false};
  sim.type("b");
  sim.run_for(300ms);
  REQUIRE(sim.server().peer());
  CHECK(sim.server().peer()->port == 50123);

  // A replay of an old datagram from the old address: authentic but out of order.
  (void)sim.server().handle(incoming_datagram{old, {"127.0.0.1", 50000, false}}, sim.now());
  CHECK(sim.server().peer()->port == 50123);
  CHECK(sim.server().transport().link().datagram().counters().out_of_order >= 1);
  CHECK(sim.program().input == "ab");
}

TEST_CASE("a program that does not read holds back client states: nothing is lost, memory stays bounded") {
  session_sim sim;
  sim.run_for(100ms);
  sim.program().reading = false;
  sim.program().echo = false;
  std::string typed;
  std::size_t most_queued = 0;
  std::size_t most_waiting = 0;
  for (int i = 0; i < 500; ++i) {
    const auto piece = pattern(1000, static_cast<std::size_t>(i));
    typed += piece;
    sim.type(piece);
    sim.run_for(20ms);
    most_queued = std::max(most_queued, sim.server().program_queue().queued_bytes());
    most_waiting = std::max(most_waiting, sim.client().waiting_input());
  }
  sim.run_for(std::chrono::seconds(8));
  CHECK(sim.server().held_back() > 0);
  // The server's queue: the cap, plus at most one client window that was taken in.
  CHECK(most_queued <= session_sim::input_cap + client_input_window);
  CHECK(most_waiting > 0);  // the rest waited on the client
  // No instruction ever carried more than one window of keystrokes (about 54 datagrams).
  CHECK(sim.largest_client_burst <= client_input_window / 1000);

  sim.program().reading = true;
  sim.run_for(std::chrono::seconds(30));
  CHECK(sim.program().input.size() == typed.size());
  CHECK(sim.program().input == typed);
}

TEST_CASE("a resize never overtakes typing the program has not read") {
  session_sim sim;
  sim.run_for(100ms);
  sim.program().reading = false;
  sim.type("before");
  sim.run_for(200ms);
  (void)sim.client().handle(window_resized{100, 30}, sim.now());
  (void)sim.client().handle(window_resized{120, 40}, sim.now());
  sim.run_for(200ms);
  sim.program().reading = true;
  sim.type("after");
  sim.run_for(500ms);
  CHECK(sim.program().input == "beforeafter");
  // The first size is the client's initial one; the two later ones collapse into one.
  const auto& h = sim.program().history;
  REQUIRE(h.size() >= 3);
  CHECK(h[h.size() - 3] == "w:6");
  CHECK(h[h.size() - 2] == "r:120x40");
  CHECK(h.back() == "w:5");
  CHECK(sim.server().screen().width() == 120);
}

TEST_CASE("Ctrl-C behind input the program does not read is delivered at once as a signal, once") {
  session_sim sim;
  sim.run_for(100ms);
  tty_signal_chars isig;
  isig.isig = true;
  (void)sim.server().handle(program_tty{isig}, sim.now());
  sim.program().reading = false;
  sim.program().echo = false;
  for (int i = 0; i < 400; ++i) {  // 400 KB: well past the cap
    sim.type(pattern(1000, static_cast<std::size_t>(i)));
    sim.run_for(10ms);
  }
  REQUIRE(sim.server().program_queue().full());
  sim.type("\x03");
  sim.run_for(std::chrono::seconds(3));
  REQUIRE(sim.signals.size() == 1);
  CHECK(sim.signals[0] == SIGINT);

  sim.program().reading = true;
  sim.run_for(std::chrono::seconds(30));
  CHECK(sim.signals.size() == 1);
  CHECK(sim.program().input.size() == 400 * 1000);  // the Ctrl-C was not written again
  CHECK(sim.program().input.find('\x03') == std::string::npos);
}

TEST_CASE("without ISIG a Ctrl-C is an ordinary byte") {
  session_sim sim;
  sim.run_for(100ms);
  sim.type("x\x03y");
  sim.run_for(500ms);
  CHECK(sim.signals.empty());
  CHECK(sim.program().input == "x\x03y");
}

TEST_CASE("a big paste goes out in instructions no larger than the input window") {
  session_sim sim;
  sim.run_for(100ms);
  const auto paste = pattern(1'000'000, 3);
  sim.type(paste);
  sim.run_for(std::chrono::seconds(60));
  CHECK(sim.program().input == paste);
  CHECK(sim.largest_client_burst <= client_input_window / 1000);
}

TEST_CASE("the escape key's quit ends both sides cleanly") {
  session_sim sim;
  sim.type("ls\r");
  sim.run_for(300ms);
  sim.type("\x1e.");
  sim.run_for(std::chrono::seconds(2));
  CHECK(sim.client_exit == 0);
  CHECK(sim.server_exit == 0);
}

TEST_CASE("the program's exit ends both sides cleanly") {
  session_sim sim;
  sim.type("exit\r");
  sim.run_for(300ms);
  (void)sim.server().handle(program_ended{}, sim.now());
  sim.run_for(std::chrono::seconds(2));
  CHECK(sim.server_exit == 0);
  CHECK(sim.client_exit == 0);
}

TEST_CASE("an idle session sends no more than its heartbeats") {
  session_sim sim;
  sim.type("x");
  sim.run_for(std::chrono::seconds(2));
  const auto up = sim.up().sent(), down = sim.down().sent();
  sim.run_for(std::chrono::seconds(60));
  // One heartbeat every 3 s each way (stock Mosh's rate), give or take one.
  CHECK(sim.up().sent() - up <= 21);
  CHECK(sim.down().sent() - down <= 21);
  CHECK(sim.up().sent() - up >= 19);
}

TEST_CASE("a blackout of 8 s loses nothing typed during it") {
  session_sim sim;
  sim.type("a");
  sim.run_for(300ms);
  sim.up().set_blackout(true);
  sim.down().set_blackout(true);
  sim.type("bcd");
  sim.run_for(std::chrono::seconds(8));
  CHECK(sim.program().input == "a");
  sim.up().set_blackout(false);
  sim.down().set_blackout(false);
  sim.run_for(std::chrono::seconds(5));
  CHECK(sim.program().input == "abcd");
}

TEST_CASE("the server reports a never-connected, connected and detached session") {
  session_sim sim;
  CHECK(sim.server().status(sim.now()).session_state == "never-connected");
  sim.type("a");
  sim.run_for(300ms);
  CHECK(sim.server().status(sim.now()).session_state == "connected");
  sim.up().set_blackout(true);
  sim.run_for(status::detached_after + std::chrono::seconds(4));
  CHECK(sim.server().status(sim.now()).session_state == "detached");
}
}

TEST_SUITE("session") {
TEST_CASE("a client connecting is no keystroke: only typed bytes set the server's last keystroke") {
  session_sim sim;
  sim.run_for(2s);
  REQUIRE(sim.server().peer());  // the client connected and sent its window size
  CHECK_FALSE(sim.server().last_keystroke().has_value());
  (void)sim.client().handle(window_resized{100, 30}, sim.now());
  sim.run_for(1s);
  CHECK_FALSE(sim.server().last_keystroke().has_value());
  sim.type("x");
  sim.run_for(1s);
  CHECK(sim.server().last_keystroke().has_value());
}
}

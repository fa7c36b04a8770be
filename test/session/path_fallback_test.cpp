// The client's paths with both cores over the simulator: UDP that breaks mid-session
// and comes back (the session moves to the byte stream and back, nothing typed is lost),
// a stream that cannot start while UDP had worked (the session stays), and SSP's timing
// on the stream (reliable_path): nothing sent twice into it, and what UDP lost just
// before the move still arrives. Every datagram counted is the real sealed bytes.

#include <doctest/doctest.h>

#include <map>
#include <string>
#include <utility>

#include "session_sim.hpp"

using namespace mosh2;
using namespace mosh2::session;
using namespace mosh2::session::test;
using namespace std::chrono_literals;

namespace {

/// Types one key every `gap` for `span`, from a sequence that never repeats within a
/// run, so that a lost or doubled key shows; returns what was typed.
std::string type_for(session_sim& sim, milliseconds span, std::size_t& next, milliseconds gap = 300ms) {
  std::string typed;
  for (auto t = 0ms; t < span; t += gap) {
    const char c = static_cast<char>('a' + (next++ % 26));
    sim.type(std::string(1, c));
    typed += c;
    sim.run_for(gap);
  }
  return typed;
}

/// States (the main object's and each further stream's, by number) that went out more
/// than once with a diff, in one direction's datagrams.
std::size_t states_sent_twice(const std::vector<bytes>& sent, datagram::role receiver) {
  std::map<std::pair<std::uint32_t, std::uint64_t>, int> seen;
  std::size_t twice = 0;
  for (const auto& i : open_all(sent, receiver, test_key()).instructions) {
    if (!i.ext.no_state && !i.diff.empty() && ++seen[{0, i.new_num}] == 2) ++twice;
    for (const auto& f : i.ext.streams)
      if (!f.diff.empty() && ++seen[{f.stream, f.new_num}] == 2) ++twice;
  }
  return twice;
}

/// A session on the stream from the start (--transport=tcp, UDP blocked) that typed `keys`.
void on_stream_typing(session_sim& sim, std::string_view keys) {
  sim.use_stream(transport_mode::tcp);
  sim.block_udp(true);
  sim.run_for(1s);
  sim.type(keys);
  sim.run_for(3s);
}

/// A screenful that compresses badly.
std::string noise(std::uint32_t seed, std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) {
    seed = seed * 1103515245 + 12345;
    out.push_back(i % 79 == 78 ? '\n' : static_cast<char>('!' + (seed >> 16) % 90));
  }
  return out;
}

}  // namespace

TEST_SUITE("session") {

TEST_CASE("UDP that breaks mid-session: the session moves to the stream and back, and no keystroke is lost") {
  session_sim sim;
  sim.use_stream(transport_mode::automatic);
  std::size_t next = 0;
  std::string typed = type_for(sim, 3s, next);
  REQUIRE(sim.program().input == typed);
  CHECK_FALSE(sim.client().paths().on_stream());

  // UDP blocked both ways: a short stretch later the client is still on UDP...
  sim.block_udp(true);
  typed += type_for(sim, 15s, next);
  CHECK_FALSE(sim.client().paths().on_stream());
  // ...and after udp_lost_after of silence it runs over the stream, both ways.
  typed += type_for(sim, 15s, next);
  REQUIRE(sim.client().paths().on_stream());
  CHECK(sim.stream_running());
  CHECK(sim.client().paths().switches().at(0).why == "udp-lost");
  CHECK(sim.program().input == typed);
  CHECK(sim.client().server_screen() == sim.server().screen());
  CHECK(sim.client().ever_heard());
  // The server was told, and sends nothing twice into the stream.
  CHECK(sim.server().transport().reliable_now());
  CHECK(sim.client().transport().reliable_now());

  // UDP unblocked: back on UDP within the probes' longest gap, the stream stopped.
  sim.block_udp(false);
  typed += type_for(sim, 40s, next);
  CHECK_FALSE(sim.client().paths().on_stream());
  CHECK_FALSE(sim.stream_running());
  CHECK_FALSE(sim.server().transport().reliable_now());
  CHECK_FALSE(sim.client().transport().reliable_now());
  typed += type_for(sim, 2s, next);
  sim.run_for(2s);
  CHECK(sim.program().input == typed);  // byte by byte: nothing lost, nothing twice
  CHECK(sim.client().server_screen() == sim.server().screen());
  CHECK_FALSE(sim.client_exit);

  // The status shows the three phases.
  const auto status = sim.client().status(sim.now());
  REQUIRE(status.transport_path);
  CHECK(status.transport_path->in_use == "udp");
  REQUIRE(status.transport_path->switches.size() == 2);
  CHECK(status.transport_path->switches[0].to == "stream");
  CHECK(status.transport_path->switches[0].why == "udp-lost");
  CHECK(status.transport_path->switches[1].to == "udp");
  CHECK(status.transport_path->switches[1].why == "udp-answered");
  const auto server_status = sim.server().status(sim.now());
  CHECK(server_status.reliable_path.entered >= 1);
  CHECK(server_status.reliable_path.retransmissions == 0);
  CHECK(status.reliable_path.entered == 1);
  CHECK(status.reliable_path.retransmissions == 0);
}

TEST_CASE("UDP blocked toward the server only: its heartbeats still come, and the session still moves") {
  session_sim sim;
  sim.use_stream(transport_mode::automatic);
  std::size_t next = 0;
  std::string typed = type_for(sim, 2s, next);
  sim.up().set_blackout(true);  // the server keeps sending to us for 40 s (§4.3)
  typed += type_for(sim, udp_lost_after - 1s, next);
  CHECK_FALSE(sim.client().paths().on_stream());
  // The last states sent before the block may be acknowledged by a heartbeat up to 3 s later.
  typed += type_for(sim, 5s, next);
  REQUIRE(sim.client().paths().on_stream());
  CHECK(sim.client().paths().switches().at(0).why == "udp-lost");
  // The server's datagrams still come over UDP until it follows the stream: they prove
  // nothing about the way to it, so the session stays on the stream.
  typed += type_for(sim, 30s, next);
  CHECK(sim.client().paths().on_stream());
  CHECK(sim.client().paths().switches().size() == 1);
  CHECK(sim.program().input == typed);
  // Open again: a probe's answer acknowledges a state sent since the move, and back it goes.
  sim.up().set_blackout(false);
  typed += type_for(sim, 40s, next);
  for (const auto& w : sim.client().paths().switches()) MESSAGE(w.to << " " << w.why << " " << (w.at - sim.now()).count() / 1000000);
  MESSAGE("probes " << sim.client().paths().probes() << " peer " << sim.server().transport().peer()->port << " heard " << sim.client().paths().stream_heard() << " up sent " << sim.up().sent() << " lost " << sim.up().lost());
  CHECK_FALSE(sim.client().paths().on_stream());
  CHECK(sim.program().input == typed);
}

TEST_CASE("a stream that cannot start while UDP had worked keeps the session on UDP, says so, and is retried") {
  session_sim sim;
  sim.use_stream(transport_mode::automatic);
  std::size_t next = 0;
  std::string typed = type_for(sim, 2s, next);
  sim.block_udp(true);
  sim.stream_refuses = "ssh exited with status 255";
  sim.client_output.clear();
  typed += type_for(sim, 120s, next, 1s);
  CHECK_FALSE(sim.client_exit);
  CHECK_FALSE(sim.client().transport().shutting_down());
  CHECK(sim.client().path_failure().empty());
  CHECK(sim.stream_starts >= 4);  // udp-lost, then retries 5, 10, 20, 40 s apart
  CHECK(sim.stream_starts <= 6);
  CHECK_FALSE(sim.client().paths().on_stream());
  CHECK(sim.client().paths().stream_retry_at() != never);
  CHECK(sim.client_output.find("next try in") != std::string::npos);
  for (const auto& w : sim.client().paths().switches()) CHECK(w.why != "udp-timeout");

  // ssh can connect again (the laptop's network is up): the next retry carries the session.
  sim.stream_refuses.reset();
  typed += type_for(sim, 70s, next, 1s);
  REQUIRE(sim.client().paths().on_stream());
  CHECK(sim.client().paths().switches().back().why == "stream-retry");
  sim.run_for(2s);
  CHECK(sim.program().input == typed);
  CHECK(sim.client().server_screen() == sim.server().screen());
}

TEST_CASE("on the stream a burst of output sends no state twice; with the lossy timing it does") {
  std::size_t twice[2] = {};
  std::uint64_t down_bytes[2] = {};
  for (int told = 0; told < 2; ++told) {
    // told = 0: the server lacks reliable_path, so it keeps UDP's timing on the stream.
    auto server_ext = told ? extension_config{} : without_extension(extension_config{}, extension::reliable_path);
    session_sim sim({}, {}, 1, {server_ext, extension_config{}});
    sim.use_stream(transport_mode::tcp);
    sim.stream_down() = sim_stream(100, 10);  // 10 kB/s: a burst queues for seconds
    sim.stream_up() = sim_stream(100, 10);
    sim.block_udp(true);
    sim.run_for(2s);
    sim.type("x");
    sim.run_for(2s);
    REQUIRE(sim.client().paths().on_stream());
    REQUIRE(sim.program().input == "x");
    const std::size_t from_down = sim.stream_down().history.size();
    for (int i = 0; i < 40; ++i) {
      (void)sim.server().handle(program_output{noise(static_cast<std::uint32_t>(i), 1500)}, sim.now());
      sim.run_for(50ms);
    }
    sim.run_for(30s);
    CHECK(sim.client().server_screen() == sim.server().screen());
    const std::vector<bytes> burst(sim.stream_down().history.begin() + static_cast<std::ptrdiff_t>(from_down),
                                   sim.stream_down().history.end());
    twice[told] = states_sent_twice(burst, datagram::role::client);
    down_bytes[told] = sim.stream_down().bytes_sent();
    CHECK(states_sent_twice(sim.stream_up().history, datagram::role::server) == 0);
    CHECK(sim.server().transport().reliable_now() == (told == 1));
    MESSAGE("told=" << told << " states sent twice=" << twice[told] << " bytes down=" << down_bytes[told]);
  }
  CHECK(twice[0] > 0);
  CHECK(twice[1] == 0);
  CHECK(down_bytes[1] < down_bytes[0]);
}

TEST_CASE("states lost on UDP just before the move to the stream still arrive over it") {
  session_sim sim;
  sim.use_stream(transport_mode::automatic);
  std::size_t next = 0;
  std::string typed = type_for(sim, 2s, next);
  // UDP breaks: what is typed and printed now goes only over UDP, and is lost there.
  sim.block_udp(true);
  sim.type("lost");
  typed += "lost";
  (void)sim.server().handle(program_output{"printed while UDP was down\r\n"}, sim.now());
  sim.run_for(udp_lost_after + 100ms);
  REQUIRE(sim.client().paths().on_stream());
  const std::size_t up_before = sim.stream_up().history.size();
  sim.run_for(5s);
  CHECK(sim.program().input == typed);
  CHECK(sim.client().server_screen() == sim.server().screen());
  // Once each: the move's first send from the acknowledged state, then nothing again.
  CHECK(states_sent_twice({sim.stream_up().history.begin() + static_cast<std::ptrdiff_t>(up_before),
                           sim.stream_up().history.end()},
                          datagram::role::server) == 0);
  CHECK(states_sent_twice(sim.stream_down().history, datagram::role::client) == 0);
  // The client's first send into the stream was from the acknowledged state. (The server's
  // goes before it is told: the relay's first datagram is a new address, a lossy path,
  // and what the client lacks has waited past the RTO.)
  CHECK(sim.client().transport().ssp().outgoing().stats().path_resyncs == 1);
  CHECK(sim.server().transport().ssp().outgoing().stats().reliable_retransmissions == 0);
}

TEST_CASE("a state the stream loses after all (the relay's buffer overflowed) arrives once the sender notices") {
  session_sim sim;
  on_stream_typing(sim, "abc");
  REQUIRE(sim.server().transport().reliable_now());
  sim.stream_down().drop_next(1);
  (void)sim.server().handle(program_output{"lost in the relay\r\n"}, sim.now());
  sim.run_for(5s);
  CHECK_FALSE(sim.client().server_screen() == sim.server().screen());  // nothing resends it yet...
  sim.run_for(15s);
  CHECK(sim.client().server_screen() == sim.server().screen());  // ...until the stall resync
  CHECK(sim.server().transport().ssp().outgoing().stats().stall_resyncs == 1);
  CHECK(sim.server().transport().ssp().outgoing().stats().reliable_retransmissions == 0);
}

TEST_CASE("a stream whose queue dropped a datagram gets the lossy timing until its next start") {
  session_sim sim;
  on_stream_typing(sim, "abc");
  REQUIRE(sim.client().transport().reliable_now());
  (void)sim.client().handle(stream_dropped{}, sim.now());
  sim.run_for(1s);
  CHECK_FALSE(sim.client().transport().reliable_now());
  CHECK(sim.client().stream_drops() == 1);
  sim.type("def");
  sim.run_for(3s);
  CHECK(sim.program().input == "abcdef");
  REQUIRE(sim.client().status(sim.now()).transport_path);
  CHECK(sim.client().status(sim.now()).transport_path->stream_drops == 1);
}

TEST_CASE("toward a server without reliable_path the client never says it, on the stream or off it") {
  session_sim sim({}, {}, 1, {extension_config{{}, {}}, extension_config{}});
  on_stream_typing(sim, "abc");
  REQUIRE(sim.client().paths().on_stream());
  REQUIRE(sim.program().input == "abc");
  std::size_t flagged = 0;
  for (const auto* h : {&sim.stream_up().history, &sim.up().history})
    for (const auto& i : open_all(*h, datagram::role::server, test_key()).instructions) flagged += i.ext.reliable_path;
  CHECK(flagged == 0);
  CHECK_FALSE(sim.server().transport().reliable_now());
  // The same client toward a mosh2 server does say it.
  session_sim told;
  on_stream_typing(told, "abc");
  flagged = 0;
  for (const auto& i : open_all(told.stream_up().history, datagram::role::server, test_key()).instructions)
    flagged += i.ext.reliable_path;
  CHECK(flagged > 0);
  CHECK(told.server().transport().reliable_now());
}
}

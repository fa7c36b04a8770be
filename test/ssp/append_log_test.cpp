// The append-only log that further streams synchronize: its diff, its bounds against
// hostile diffs, and delivery of every item once and in order through a lossy,
// reordering, duplicating simulated network.

#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "mosh2/ssp/append_log.hpp"
#include "mosh2/ssp/endpoint.hpp"
#include "mosh2/transport/protobuf.hpp"
#include "sim_network.hpp"
#include "ssp_test_support.hpp"

using namespace mosh2;
using namespace mosh2::ssp;
using namespace mosh2::ssp::test;

namespace {

append_log log_of(std::initializer_list<const char*> items) {
  append_log l;
  for (const char* i : items) l.append(i);
  return l;
}

}  // namespace

TEST_SUITE("ssp") {

TEST_CASE("a log's diff carries the items after the older head, with their skip counts") {
  append_log sent = log_of({"a", "b"});
  const append_log older = sent;
  sent.append("c");
  sent.append("d", 5);
  const bytes diff = sent.diff_from(older);
  REQUIRE_FALSE(diff.empty());
  CHECK(sent.diff_from(sent).empty());

  append_log received = older;  // a receiver's base with the same head
  REQUIRE(received.apply_diff(diff));
  CHECK(received.head() == 4);
  CHECK(received.first() == 2);
  REQUIRE(received.size() == 2);
  CHECK(received.at(0) == log_item{0, "c"});
  CHECK(received.at(1) == log_item{5, "d"});
}

TEST_CASE("a diff made from another head, or malformed, is refused and changes nothing") {
  append_log sent = log_of({"a", "b", "c"});
  const bytes diff = sent.diff_from(log_of({"a"}));
  append_log wrong_base = log_of({"a", "b"});
  CHECK_FALSE(wrong_base.apply_diff(diff));
  CHECK(wrong_base.head() == 2);
  CHECK(wrong_base.size() == 2);

  append_log base = log_of({"a"});
  CHECK_FALSE(base.apply_diff("\x08"));                  // varint cut short
  CHECK_FALSE(base.apply_diff(bytes("\x12\x02\x08", 3)));  // an item cut short
  bytes no_start;
  transport::pb::put_bytes_field(no_start, 2, "");
  CHECK_FALSE(base.apply_diff(no_start));
  CHECK(base.head() == 1);
  CHECK(base.apply_diff(diff));
}

TEST_CASE("subtracting an acknowledged prefix frees its items; copies share the rest") {
  append_log l = log_of({"aaaa", "bbbb", "cccc"});
  const append_log acked = log_of({"aaaa", "bbbb"});
  l.subtract(acked);
  CHECK(l.first() == 2);
  CHECK(l.size() == 1);
  CHECK(l.held_data_bytes() == 4);
  l.subtract(l);  // the sender trims its own acknowledged entry by itself
  CHECK(l.size() == 0);
  CHECK(l.head() == 3);
}

TEST_CASE("every item arrives once and in order through 30 % loss, reordering and duplication") {
  for (std::uint64_t seed : {21u, 22u, 23u}) {
    CAPTURE(seed);
    using ep = endpoint<append_log, append_log>;
    ep client(append_log{}, append_log{}, at(0), client_options());
    ep server(append_log{}, append_log{}, at(0), server_options());
    const link_model lossy{0.3, 20, 150, 0.05};
    sim_session sim(client, server, lossy, lossy, seed);

    std::vector<std::string> sent_down, sent_up, got_down, got_up;
    std::uint64_t delivered_down = 0, delivered_up = 0;
    sim.on_client_receive = [&](std::int64_t, receive_outcome) {
      for (auto& i : take_new_items(client.incoming(), delivered_down).items) got_down.push_back(i.data);
    };
    sim.on_server_receive = [&](std::int64_t, receive_outcome) {
      for (auto& i : take_new_items(server.incoming(), delivered_up).items) got_up.push_back(i.data);
    };
    std::int64_t t = 0;
    for (int n = 0; n < 600; ++n) {
      t += 37 + (n * 7919 % 400);
      sim.advance_to(t);
      sent_down.push_back("line " + std::to_string(n));
      server.outgoing().current_state().append(sent_down.back());
      if (n % 3 == 0) {
        sent_up.push_back("up " + std::to_string(n));
        client.outgoing().current_state().append(sent_up.back());
      }
    }
    sim.advance_to(t + 60'000);
    CHECK(got_down == sent_down);
    CHECK(got_up == sent_up);
    // Acknowledged items are gone from the sender: its memory is what is in flight.
    CHECK(server.outgoing().current_state().size() == 0);
    CHECK(sim.s2c().lost() > 0);
    CHECK(sim.s2c().reordered() > 0);
    CHECK(sim.s2c().duplicated() > 0);
  }
}

TEST_CASE("a stream sender without heartbeats sends nothing while it has nothing to say") {
  sender_options quiet = server_options();
  quiet.heartbeats = false;
  sender<append_log> s(append_log{}, at(0), quiet);
  s.set_peer_known(true);
  CHECK_FALSE(s.tick(at(0)).has_value());
  CHECK(s.next_deadline(at(10'000)) == never);
  s.current_state().append("x");
  CHECK(s.next_deadline(at(10'000)) < never);
  auto first = s.tick(at(10'100));
  REQUIRE(first.has_value());
  CHECK_FALSE(first->diff.empty());
  // Sent once; with no ack and no sign of the peer, no heartbeat follows.
  CHECK_FALSE(s.tick(at(20'000)).has_value());
}

TEST_CASE("on a reliable path the sender never retransmits what it sent") {
  sender<append_log> s(append_log{}, at(0), server_options());
  s.set_reliable_path(true);
  s.set_peer_known(true);
  s.remote_state_received(1, at(0), false);  // the peer is heard
  s.current_state().append("x");
  REQUIRE(s.tick(at(100)).has_value());
  int resends = 0;
  for (std::int64_t t = 200; t < 2'500; t += 50) {
    s.peer_heard(at(t));
    if (auto i = s.tick(at(t)); i && !i->diff.empty()) ++resends;
  }
  CHECK(resends == 0);
  // The same on an unreliable path resends after RTO + ack delay.
  sender<append_log> u(append_log{}, at(0), server_options());
  u.set_peer_known(true);
  u.remote_state_received(1, at(0), false);
  u.current_state().append("x");
  REQUIRE(u.tick(at(100)).has_value());
  int u_resends = 0;
  for (std::int64_t t = 200; t < 2'500; t += 50) {
    u.peer_heard(at(t));
    if (auto i = u.tick(at(t)); i && !i->diff.empty()) ++u_resends;
  }
  CHECK(u_resends > 0);
}

TEST_CASE("entering a reliable path, the sender first sends everything unacknowledged from the acknowledged state, once") {
  sender<append_log> s(append_log{}, at(0), server_options());
  s.set_peer_known(true);
  s.remote_state_received(1, at(0), false);
  auto send = [&](const char* item, std::int64_t from) {
    s.current_state().append(item);
    for (std::int64_t t = from; t < from + 1'000; t += 10)
      if (auto i = s.tick(at(t)); i && !i->diff.empty()) return i;
    return std::optional<transport::instruction>{};
  };
  auto a = send("a", 100);
  REQUIRE(a.has_value());
  auto b = send("b", 400);
  REQUIRE(b.has_value());
  // Neither was acknowledged: now the path becomes a stream.
  s.set_reliable_path(true);
  int sends = 0;
  std::optional<transport::instruction> first;
  for (std::int64_t t = 700; t < 5'000; t += 10) {
    s.peer_heard(at(t));
    if (auto i = s.tick(at(t)); i && !i->diff.empty()) {
      ++sends;
      if (!first) first = i;
    }
  }
  REQUIRE(first.has_value());
  CHECK(sends == 1);
  CHECK(first->old_num == 0);  // from the acknowledged state: carries "a" and "b"
  CHECK(s.stats().path_resyncs == 1);
  CHECK(s.stats().reliable_entered == 1);
  CHECK(s.stats().reliable_retransmissions == 0);
  // Leaving and entering again resyncs again; staying does not.
  s.set_reliable_path(true);
  CHECK(s.stats().reliable_entered == 1);
  s.set_reliable_path(false);
  s.set_reliable_path(true);
  CHECK(s.stats().reliable_entered == 2);
}

TEST_CASE("a reliable path that lost a state after all is resynced once 15 s pass without its acknowledgement") {
  sender<append_log> s(append_log{}, at(0), server_options());
  s.set_reliable_path(true);
  s.set_peer_known(true);
  s.remote_state_received(1, at(0), false);
  s.current_state().append("x");
  REQUIRE(s.tick(at(100)).has_value());  // "lost" on the way
  int sends = 0;
  std::uint64_t peer = 1;
  for (std::int64_t t = 200; t < 40'000; t += 100) {
    if (t % 3'000 == 0) s.remote_state_received(++peer, at(t), false);  // its heartbeats: alive, acking nothing new
    if (auto i = s.tick(at(t)); i && !i->diff.empty()) {
      ++sends;
      CHECK(i->old_num == 0);  // from the acknowledged state
      CHECK(t >= 15'100);
    }
  }
  CHECK(sends == 2);  // after 15 s, and 15 s later: at most that often
  CHECK(s.stats().stall_resyncs == 2);
  CHECK(s.stats().reliable_retransmissions == 0);
}
}

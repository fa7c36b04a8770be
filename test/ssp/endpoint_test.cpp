// Two SSP endpoints talking: the numbering of the opening exchange (protocol §2) and
// the shutdown handshake from both sides (§7.7).

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "mosh2/ssp/endpoint.hpp"
#include "sim_network.hpp"
#include "ssp_test_support.hpp"

using namespace mosh2;
using namespace mosh2::ssp;
using namespace mosh2::ssp::test;

namespace {

using client_endpoint = endpoint<string_log, last_value>;
using server_endpoint = endpoint<last_value, string_log>;

struct nums {
  std::uint64_t new_num, old_num, ack_num;
  bool operator==(const nums&) const = default;
};
nums nums_of(const transport::instruction& i) { return {i.new_num, i.old_num, i.ack_num}; }

}  // namespace

TEST_SUITE("ssp") {

TEST_CASE("the opening exchange is numbered as the stock peers number it") {
  // Protocol §2 rows 1-6, with a string log standing in for the keystroke log and a
  // value standing in for the terminal; one-way delay 10 ms.
  client_endpoint c(string_log{}, last_value{}, at(0), client_options());
  server_endpoint s(last_value{}, string_log{}, at(0), server_options());

  c.outgoing().current_state().text = "R";  // the client's first resize
  auto row1 = c.tick(at(0));
  REQUIRE(row1);
  CHECK(nums_of(*row1) == nums{1, 0, 0});
  CHECK(row1->diff == "+R");
  CHECK_FALSE(s.tick(at(0)));  // no client address yet

  CHECK(s.receive(*row1, at(10)) == receive_outcome::newest);
  s.outgoing().set_peer_known(true);
  auto row2 = s.tick(at(10));
  REQUIRE(row2);
  CHECK(nums_of(*row2) == nums{1, 0, 1});  // a pure ack still consumes state 1
  CHECK(row2->diff.empty());

  s.outgoing().current_state().value = "prompt";  // the shell's first output
  auto row3 = run(s, 11, 300);
  REQUIRE(row3.size() == 1);
  CHECK(row3[0].ms == 260);  // one send interval after row 2
  CHECK(nums_of(row3[0].inst) == nums{2, 0, 1});  // diffed from the acknowledged state 0
  CHECK(row3[0].inst.diff == "=prompt");

  CHECK(c.receive(*row2, at(20)) == receive_outcome::newest);
  CHECK(c.outgoing().acked_num() == 1);
  CHECK(c.last_roundtrip_success() == at(0));
  CHECK(run(c, 20, 270).empty());  // an empty diff is not acked early

  CHECK(c.receive(row3[0].inst, at(270)) == receive_outcome::newest);
  auto row4 = run(c, 270, 400);
  REQUIRE(row4.size() == 1);
  CHECK(row4[0].ms == 370);  // the delayed ack
  CHECK(nums_of(row4[0].inst) == nums{2, 1, 2});
  CHECK(row4[0].inst.diff.empty());

  CHECK(s.receive(row4[0].inst, at(380)) == receive_outcome::newest);
  CHECK(s.outgoing().acked_num() == 2);
  CHECK(run(s, 380, 400).empty());

  c.outgoing().current_state().text += "echo abc";
  auto row5 = run(c, 400, 700);
  REQUIRE(row5.size() == 1);
  CHECK(row5[0].ms == 620);  // one send interval after row 4
  CHECK(nums_of(row5[0].inst) == nums{3, 1, 2});
  CHECK(row5[0].inst.diff == "+echo abc");

  CHECK(s.receive(row5[0].inst, at(630)) == receive_outcome::newest);
  CHECK(s.incoming().newest_state().text == "Recho abc");
  CHECK(run(s, 630, 639).empty());
  s.outgoing().current_state().value = "prompt echo abc";  // the pty echo
  auto row6 = run(s, 639, 700);
  REQUIRE(row6.size() == 1);
  CHECK(row6[0].ms == 647);  // the server's 8 ms collection time
  CHECK(nums_of(row6[0].inst) == nums{3, 2, 3});
}

TEST_CASE("an idle session exchanges one heartbeat per side every 3 s, each a new state") {
  client_endpoint c(string_log{}, last_value{}, at(0), client_options());
  server_endpoint s(last_value{}, string_log{}, at(0), server_options());
  sim_session sim(c, s, link_model{}, link_model{}, 3);
  sim.advance_to(30'000);
  std::vector<logged> from_client, from_server;
  for (const auto& l : sim.log()) (l.from_client ? from_client : from_server).push_back(l);
  REQUIRE(from_client.size() == 11);  // 0, 3000, ..., 30000
  REQUIRE(from_server.size() == 10);  // 10, 3010, ..., 27010
  for (std::size_t i = 0; i < from_client.size(); ++i) {
    CHECK(from_client[i].ms == static_cast<std::int64_t>(3000 * i));
    CHECK(from_client[i].inst.new_num == i + 1);
    CHECK(from_client[i].inst.old_num == i);  // the previous heartbeat was acknowledged
    CHECK(from_client[i].inst.diff.empty());
  }
  for (std::size_t i = 0; i < from_server.size(); ++i) {
    CHECK(from_server[i].ms == static_cast<std::int64_t>(3000 * i + 10));
    CHECK(from_server[i].inst.new_num == i + 1);
    CHECK(from_server[i].inst.ack_num == i + 1);
  }
  CHECK(c.outgoing().sent_states().size() <= 2);
  CHECK(s.incoming().received_states().size() <= 2);
}

TEST_CASE("during an outage heartbeats consume numbers against the acknowledged state, then the session recovers") {
  client_endpoint c(string_log{}, last_value{}, at(0), client_options());
  server_endpoint s(last_value{}, string_log{}, at(0), server_options());
  sim_session sim(c, s, link_model{}, link_model{}, 4);
  sim.advance_to(10'000);
  const std::uint64_t acked_before = c.outgoing().acked_num();
  const link_model dead{1.0, 10, 10, 0.0};
  sim.c2s().set_model(dead);
  sim.s2c().set_model(dead);
  sim.advance_to(35'000);
  std::vector<logged> outage;
  for (const auto& l : sim.log())
    if (l.from_client && l.ms > 10'000) outage.push_back(l);
  REQUIRE(outage.size() == 8);  // 12000, 15000, ..., 33000
  for (std::size_t i = 0; i < outage.size(); ++i) {
    CHECK(outage[i].inst.old_num == acked_before);
    CHECK(outage[i].inst.new_num == acked_before + 1 + i);
    CHECK(outage[i].inst.diff.empty());
    if (i > 0) CHECK(outage[i].ms - outage[i - 1].ms == 3000);
  }
  c.outgoing().current_state().text += "back";
  sim.c2s().set_model(link_model{});
  sim.s2c().set_model(link_model{});
  sim.advance_to(40'000);
  CHECK(s.incoming().newest_state().text == "back");
  CHECK(c.outgoing().acked_num() > acked_before + outage.size());
  CHECK(c.outgoing().current_state().text.empty());  // acknowledged and trimmed
}

TEST_CASE("a shutdown is acknowledged by the peer, which exits after sending the ack") {
  client_endpoint c(string_log{}, last_value{}, at(0), client_options());
  server_endpoint s(last_value{}, string_log{}, at(0), server_options());
  sim_session sim(c, s, link_model{}, link_model{}, 1);
  sim.advance_to(5000);
  const std::uint64_t acked_before = c.outgoing().acked_num();
  REQUIRE(acked_before > 0);

  c.outgoing().start_shutdown(at(5000));
  std::int64_t acked_at = -1, responder_done_at = -1;
  for (std::int64_t t = 5000; t <= 6000 && acked_at < 0; ++t) {
    sim.advance_to(t);
    if (responder_done_at < 0 && s.outgoing().counterparty_shutdown_ack_sent()) responder_done_at = t;
    if (c.outgoing().shutdown_acknowledged()) acked_at = t;
  }
  CHECK(responder_done_at == 5010);
  CHECK(acked_at == 5020);
  CHECK(c.outgoing().shutdown_tries() == 1);
  CHECK_FALSE(c.outgoing().shutdown_ack_timed_out(at(5020)));

  std::vector<logged> shutdown_phase;
  for (const auto& l : sim.log())
    if (l.ms >= 5000) shutdown_phase.push_back(l);
  REQUIRE(shutdown_phase.size() == 2);
  CHECK(shutdown_phase[0].from_client);
  CHECK(shutdown_phase[0].inst.new_num == transport::shutdown_num);
  CHECK(shutdown_phase[0].inst.old_num == acked_before);
  CHECK_FALSE(shutdown_phase[1].from_client);
  CHECK(shutdown_phase[1].inst.ack_num == transport::shutdown_num);
  CHECK(shutdown_phase[1].inst.new_num != transport::shutdown_num);
}

TEST_CASE("a shutdown into a dead network gives up after 16 instructions") {
  client_endpoint c(string_log{}, last_value{}, at(0), client_options());
  server_endpoint s(last_value{}, string_log{}, at(0), server_options());
  sim_session sim(c, s, link_model{}, link_model{}, 2);
  sim.advance_to(5000);
  sim.c2s().set_model(link_model{1.0, 10, 10, 0.0});  // everything lost from now on
  c.outgoing().start_shutdown(at(5000));
  std::int64_t gave_up_at = -1;
  for (std::int64_t t = 5000; t <= 20000 && gave_up_at < 0; ++t) {
    sim.advance_to(t);
    if (c.outgoing().shutdown_ack_timed_out(at(t))) gave_up_at = t;
  }
  CHECK(gave_up_at == 5000 + 15 * 250);
  CHECK(c.outgoing().shutdown_tries() == 16);
  CHECK_FALSE(c.outgoing().shutdown_acknowledged());
  CHECK_FALSE(s.outgoing().counterparty_shutdown());
}

}  // TEST_SUITE

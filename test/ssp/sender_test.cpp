// The SSP sender on a fake clock: numbering, timers, retransmission, prospective
// resend, the list cap, chaff and the shutdown counters (protocol §7.2-§7.4, §7.7).

#include <doctest/doctest.h>

#include <set>
#include <string>
#include <vector>

#include "mosh2/ssp/sender.hpp"
#include "ssp_test_support.hpp"

using namespace mosh2;
using namespace mosh2::ssp;
using namespace mosh2::ssp::test;

namespace {

using client_endpoint = endpoint<string_log, last_value>;

std::vector<std::int64_t> times_of(const std::vector<sent_at>& sent) {
  std::vector<std::int64_t> out;
  for (const auto& s : sent) out.push_back(s.ms);
  return out;
}

std::set<std::uint64_t> nums_of(const sender<string_log>& s) {
  std::set<std::uint64_t> out;
  for (const auto& e : s.sent_states()) out.insert(e.num);
  return out;
}

}  // namespace

TEST_SUITE("ssp") {

TEST_CASE("the first change goes out at once as state 1 relative to state 0") {
  sender<string_log> s(string_log{}, at(0), client_options());
  // GCC 12 -O3: false -Wrestrict in std::string = "x" (GCC bug 105329).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wrestrict"
#endif
  s.current_state().text = "R";
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
  auto inst = s.tick(at(0));
  REQUIRE(inst);
  CHECK(inst->protocol_version == 2);
  CHECK(inst->old_num == 0);
  CHECK(inst->new_num == 1);
  CHECK(inst->ack_num == 0);
  CHECK(inst->throwaway_num == 0);
  CHECK(inst->diff == "+R");
  CHECK_FALSE(s.tick(at(1)));
  // Nothing acknowledged, nobody heard: the next thing due is the 3 s heartbeat.
  CHECK(s.next_deadline(at(1)) == at(3000));
}

TEST_CASE("a sender without a peer address sends nothing and never wakes up") {
  sender<last_value> s(last_value{}, at(0), server_options());
  s.current_state().value = "prompt";
  CHECK(run(s, 0, 5000).empty());
  CHECK(s.next_deadline(at(5000)) == never);
  s.set_peer_known(true);
  // The ack timer started at creation, so the first contact is answered at once.
  CHECK(s.next_deadline(at(5000)) <= at(5000));
  auto inst = s.tick(at(5000));
  REQUIRE(inst);
  CHECK(inst->new_num == 1);
  CHECK(inst->diff == "=prompt");
}

TEST_CASE("an idle sender sends an empty heartbeat every 3 s and each one consumes a state number") {
  sender<string_log> s(string_log{}, at(0), client_options());
  auto sent = run(s, 0, 10000);
  REQUIRE(times_of(sent) == std::vector<std::int64_t>{0, 3000, 6000, 9000});
  for (std::size_t i = 0; i < sent.size(); ++i) {
    CHECK(sent[i].inst.new_num == i + 1);
    CHECK(sent[i].inst.old_num == 0);  // nothing was acknowledged
    CHECK(sent[i].inst.diff.empty());
  }
  CHECK(s.stats().empty_acks == 4);
}

TEST_CASE("a non-empty diff from the peer is acknowledged 100 ms later") {
  client_endpoint c(string_log{}, last_value{}, at(0), client_options());
  // GCC 12 -O3: false -Wrestrict in std::string = "x" (GCC bug 105329).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wrestrict"
#endif
  c.outgoing().current_state().text = "R";
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
  REQUIRE(c.tick(at(0)));
  CHECK(c.receive(make_inst(0, 1, 1, "=x"), at(500)) == receive_outcome::newest);
  auto sent = run(c, 500, 1000);
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].ms == 600);
  CHECK(sent[0].inst.ack_num == 1);
  CHECK(sent[0].inst.old_num == 1);  // the peer acknowledged state 1 meanwhile
  CHECK(sent[0].inst.new_num == 2);
  CHECK(sent[0].inst.diff.empty());
}

TEST_CASE("an empty diff from the peer waits for the heartbeat to be acknowledged") {
  client_endpoint c(string_log{}, last_value{}, at(0), client_options());
  REQUIRE(c.tick(at(0)));
  CHECK(c.receive(make_inst(0, 1, 1), at(500)) == receive_outcome::newest);
  auto sent = run(c, 500, 3500);
  REQUIRE(times_of(sent) == std::vector<std::int64_t>{3000});
  CHECK(sent[0].inst.ack_num == 1);
}

TEST_CASE("changes wait for the mindelay and the send interval after the last send") {
  sender<last_value> s(last_value{}, at(0), server_options());
  s.set_peer_known(true);
  REQUIRE(s.tick(at(0)));  // state 1, the empty first ack
  // GCC 12 -O3: false -Wrestrict in std::string = "x" (GCC bug 105329).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wrestrict"
#endif
  s.current_state().value = "a";
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
  CHECK(run(s, 1000, 1008).empty());  // 8 ms server mindelay
  auto first = run(s, 1008, 1009);
  REQUIRE(first.size() == 1);
  CHECK(first[0].inst.new_num == 2);
  s.current_state().value = "ab";
  auto second = run(s, 1010, 2000);
  REQUIRE(times_of(second) == std::vector<std::int64_t>{1258});  // 250 ms after the last send
  s.set_rtt(40.0, milliseconds(100));  // send interval 20 ms
  s.current_state().value = "abc";
  CHECK(times_of(run(s, 2000, 2100)) == std::vector<std::int64_t>{2008});
}

TEST_CASE("the send interval is half the SRTT, rounded up and clamped to 20..250 ms") {
  sender<string_log> s(string_log{}, at(0), client_options());
  CHECK(s.send_interval() == milliseconds(250));  // SRTT 1000 before any sample
  s.set_rtt(100.0, milliseconds(300));
  CHECK(s.send_interval() == milliseconds(50));
  s.set_rtt(41.0, milliseconds(300));
  CHECK(s.send_interval() == milliseconds(21));
  s.set_rtt(10.0, milliseconds(50));
  CHECK(s.send_interval() == milliseconds(20));
  s.set_rtt(600.0, milliseconds(1000));
  CHECK(s.send_interval() == milliseconds(250));
}

TEST_CASE("without acks a state is resent each RTO + ACK_DELAY while the peer was heard, then with the heartbeat") {
  client_endpoint c(string_log{}, last_value{}, at(0), client_options());
  REQUIRE(c.receive(make_inst(0, 1, 0), at(0)) == receive_outcome::newest);  // heard at 0
  c.outgoing().current_state().text = "abc";
  auto sent = run(c, 0, 20000);
  // The resend refreshes the entry's send time, so the peer is again assumed to hold it
  // for RTO + ACK_DELAY (1000 + 100 ms); past 10 s of silence only the 3 s ack timer
  // resends, from the acknowledged state.
  const std::vector<std::int64_t> expected{0, 1100, 2200, 3300, 4400, 5500, 6600, 7700, 8800, 9900,
                                           12900, 15900, 18900};
  CHECK(times_of(sent) == expected);
  for (const auto& s : sent) {
    CHECK(s.inst.old_num == 0);
    CHECK(s.inst.new_num == 1);
    CHECK(s.inst.diff == "+abc");
  }
  CHECK(c.outgoing().stats().retransmissions == expected.size() - 1);

  SUBCASE("a measured RTO shortens the cycle") {
    client_endpoint d(string_log{}, last_value{}, at(0), client_options());
    REQUIRE(d.receive(make_inst(0, 1, 0), at(0)) == receive_outcome::newest);
    d.outgoing().set_rtt(100.0, milliseconds(200));
    d.outgoing().current_state().text = "abc";
    CHECK(times_of(run(d, 0, 1000)) == std::vector<std::int64_t>{0, 300, 600, 900});
  }

  SUBCASE("after a pause, an old acknowledged state does not make a new state go out again") {
    // The stock peer sends a frame after a pause once and waits RTO + ACK_DELAY for the
    // ack; counting the acknowledged state's age in the walk resent it every send
    // interval instead (bench/server_compare.py: 6 copies of each frame on loopback).
    // (An unacknowledged heartbeat between the two would end the walk early, and then
    // resending every send interval is what the stock peer does too.)
    client_endpoint e(string_log{}, last_value{}, at(0), client_options());
    REQUIRE(e.receive(make_inst(0, 1, 0), at(0)) == receive_outcome::newest);
    e.outgoing().set_rtt(100.0, milliseconds(200));
    e.outgoing().current_state().text = "a";
    auto first = run(e, 0, 1);
    REQUIRE(first.size() == 1);
    // The peer acknowledges state 1 at 40 ms, and our 3 s heartbeat (state 2) at 4 s;
    // "b" is typed at 5 s, when the acknowledged state is 2 s old.
    REQUIRE(e.receive(make_inst(1, 2, 1), at(40)) == receive_outcome::newest);
    const auto heartbeat = run(e, 41, 3999);
    REQUIRE(heartbeat.size() == 1);
    CHECK(heartbeat[0].inst.new_num == 2);
    REQUIRE(e.receive(make_inst(2, 3, 2), at(4000)) == receive_outcome::newest);
    REQUIRE(run(e, 4000, 4999).empty());
    e.outgoing().current_state().text = "ab";
    auto later = run(e, 5000, 5700);
    REQUIRE(later.size() >= 3);
    CHECK(later[0].inst.new_num == 3);
    CHECK(later[0].ms == 5001);  // SEND_MINDELAY
    CHECK(later[1].ms == 5301);  // RTO + ACK_DELAY later, not a send interval (50 ms)
    CHECK(later[2].ms == 5601);
  }
}

TEST_CASE("the prospective resend diffs from the acknowledged state when that costs little more") {
  client_endpoint c(string_log{}, last_value{}, at(0), client_options());
  REQUIRE(c.receive(make_inst(0, 1, 0), at(0)) == receive_outcome::newest);
  c.outgoing().current_state().text = "ab";
  REQUIRE(c.tick(at(0)));                                                      // state 1
  REQUIRE(c.receive(make_inst(1, 2, 1), at(50)) == receive_outcome::newest);  // acks 1
  c.outgoing().current_state().text += "c";
  auto two = run(c, 60, 300);
  REQUIRE(two.size() == 1);
  CHECK(two[0].inst.old_num == 1);
  CHECK(two[0].inst.new_num == 2);
  CHECK(two[0].inst.diff == "+c");
  c.outgoing().current_state().text += "d";
  auto three = run(c, 300, 600);
  REQUIRE(three.size() == 1);
  // State 2 is assumed received, but "+cd" is only one byte longer than "+d".
  CHECK(three[0].inst.old_num == 1);
  CHECK(three[0].inst.new_num == 3);
  CHECK(three[0].inst.diff == "+cd");
  CHECK(c.outgoing().stats().prospective_resends >= 1);
}

TEST_CASE("the prospective resend keeps the assumed state when the acknowledged diff is long") {
  client_endpoint c(string_log{}, last_value{}, at(0), client_options());
  REQUIRE(c.receive(make_inst(0, 1, 0), at(0)) == receive_outcome::newest);
  c.outgoing().current_state().text = "ab";
  REQUIRE(c.tick(at(0)));
  REQUIRE(c.receive(make_inst(1, 2, 1), at(50)) == receive_outcome::newest);
  c.outgoing().current_state().text += std::string(1500, 'x');
  REQUIRE(run(c, 60, 300).size() == 1);  // state 2
  c.outgoing().current_state().text += "d";
  auto three = run(c, 300, 600);
  REQUIRE(three.size() == 1);
  CHECK(three[0].inst.old_num == 2);
  CHECK(three[0].inst.diff == "+d");
}

TEST_CASE("an acknowledgement erases older states and trims the acknowledged prefix") {
  sender<string_log> s(string_log{}, at(0), client_options());
  s.current_state().text = "a";
  REQUIRE(s.tick(at(0)));  // state 1 = "a"
  s.current_state().text = "ab";
  REQUIRE(run(s, 1, 300).size() == 1);  // state 2 = "ab" at 250
  CHECK(nums_of(s) == std::set<std::uint64_t>{0, 1, 2});

  CHECK(s.process_ack(1) == at(0));  // the round trip completed for state 1, sent at 0
  CHECK(nums_of(s) == std::set<std::uint64_t>{1, 2});
  s.next_deadline(at(300));  // the timer calculation trims
  CHECK(s.sent_states()[0].state.text.empty());
  CHECK(s.sent_states()[1].state.text == "b");
  CHECK(s.current_state().text == "b");
  CHECK(s.acked_num() == 1);

  SUBCASE("an ack of a state no longer held is ignored") {
    CHECK(s.process_ack(7) == at(0));
    CHECK(nums_of(s) == std::set<std::uint64_t>{1, 2});
  }
  SUBCASE("throwaway_num names the acknowledged state") {
    s.current_state().text += "c";
    auto next = run(s, 300, 1000);
    REQUIRE(next.size() == 1);
    CHECK(next[0].inst.throwaway_num == 1);
    CHECK(next[0].inst.new_num == 3);
  }
}

TEST_CASE("the sent-state list is capped at 32 by culling the 16th entry from the newest") {
  sender<string_log> s(string_log{}, at(0), client_options());
  for (std::int64_t k = 1; k <= 40; ++k) {
    s.current_state().text += 'x';
    auto sent = run(s, k * 300, k * 300 + 300);
    REQUIRE(sent.size() == 1);
    CHECK(sent[0].inst.new_num == static_cast<std::uint64_t>(k));
    CHECK(s.sent_states().size() <= 32);
  }
  std::set<std::uint64_t> expected;
  for (std::uint64_t n = 0; n <= 16; ++n) expected.insert(n);
  for (std::uint64_t n = 26; n <= 40; ++n) expected.insert(n);
  CHECK(nums_of(s) == expected);
  CHECK(s.stats().culled == 9);  // nums 17..25
}

TEST_CASE("chaff is r mod 17 random bytes for a random byte r") {
  for (unsigned r : {0u, 5u, 16u, 17u, 200u, 255u}) {
    CAPTURE(r);
    sender_options o = client_options();
    o.random = [r](std::size_t n) { return bytes(n, static_cast<char>(r)); };
    sender<string_log> s(string_log{}, at(0), o);
    auto inst = s.tick(at(0));
    REQUIRE(inst);
    CHECK(inst->chaff == bytes(r % 17, static_cast<char>(r)));
  }
  sender<string_log> s(string_log{}, at(0), client_options(7));
  std::set<std::size_t> lengths;
  for (std::int64_t k = 0; k < 200; ++k) {
    auto inst = s.tick(at(k * 3000));
    REQUIRE(inst);
    CHECK(inst->chaff.size() <= 16);
    lengths.insert(inst->chaff.size());
  }
  CHECK(lengths.size() > 10);  // the length does vary
}

TEST_CASE("a shutting-down sender numbers every instruction 2^64-1 and gives up after 16") {
  sender<string_log> s(string_log{}, at(0), client_options());
  REQUIRE(s.tick(at(0)));
  s.start_shutdown(at(5000));
  CHECK(s.shutdown_in_progress());
  auto sent = run(s, 5000, 9000);
  REQUIRE(sent.size() >= 16);
  for (std::size_t i = 0; i < sent.size(); ++i) {
    CHECK(sent[i].inst.new_num == transport::shutdown_num);
    CHECK(sent[i].ms == 5000 + 250 * static_cast<std::int64_t>(i));  // paced at the send interval
    CHECK(s.sent_states().size() <= 32);
  }
  CHECK(s.shutdown_tries() == sent.size());
  CHECK(s.shutdown_ack_timed_out(at(9000)));
  CHECK_FALSE(s.shutdown_acknowledged());

  SUBCASE("15 tries are not yet enough to give up") {
    sender<string_log> t(string_log{}, at(0), client_options());
    t.start_shutdown(at(0));  // paced from state 0's time: tries at 250, 500, ...
    REQUIRE(run(t, 0, 15 * 250 + 1).size() == 15);
    CHECK_FALSE(t.shutdown_ack_timed_out(at(15 * 250 + 1)));
    REQUIRE(run(t, 15 * 250 + 1, 16 * 250 + 1).size() == 1);
    CHECK(t.shutdown_ack_timed_out(at(16 * 250 + 1)));
  }
  SUBCASE("the acknowledgement of 2^64-1 completes the shutdown") {
    s.process_ack(transport::shutdown_num);
    CHECK(s.shutdown_acknowledged());
    CHECK(s.acked_num() == transport::shutdown_num);
  }
}

TEST_CASE("a shutdown that cannot be sent gives up after 10 s") {
  sender<last_value> s(last_value{}, at(0), server_options());  // no peer address
  s.start_shutdown(at(100));
  s.start_shutdown(at(5000));  // a second trigger does not restart the clock
  CHECK(run(s, 100, 10100).empty());
  CHECK_FALSE(s.shutdown_ack_timed_out(at(10099)));
  CHECK(s.shutdown_ack_timed_out(at(10100)));
}

TEST_CASE("a peer's shutdown is acknowledged one send interval after our last send") {
  endpoint<last_value, string_log> srv(last_value{}, string_log{}, at(0), server_options());
  srv.outgoing().set_peer_known(true);
  REQUIRE(srv.tick(at(0)));  // our last send at 0
  CHECK(srv.receive(make_inst(0, transport::shutdown_num, 0), at(10)) == receive_outcome::newest);
  CHECK(srv.outgoing().counterparty_shutdown());
  CHECK_FALSE(srv.outgoing().counterparty_shutdown_ack_sent());
  auto sent = run(srv, 10, 1000);
  REQUIRE(!sent.empty());
  CHECK(sent[0].ms == 250);
  CHECK(sent[0].inst.ack_num == transport::shutdown_num);
  CHECK(sent[0].inst.new_num == 2);  // the responder's own numbering goes on
  CHECK(srv.outgoing().counterparty_shutdown_ack_sent());
}

}  // TEST_SUITE

// The connection core with a fake clock: sequence numbers, the in-order rule,
// timestamps and their echo, RTT, liveness, MTU and the hop/association timers.

#include <doctest/doctest.h>

#include <set>

#include "helpers.hpp"
#include "mosh2/datagram/connection_core.hpp"

using namespace mosh2;
using namespace mosh2::datagram;
using mosh2::datagram::test::at;
using mosh2::datagram::test::fixed_key;

namespace {

// Reads a datagram's clear fields as an eavesdropper with the key would.
decoded peek(const bytes& wire, role sender) {
  crypto::ocb_session c(fixed_key());
  auto d = decode(c, wire, sender);
  REQUIRE(d);
  return std::move(d).value();
}

// A datagram from `sender` with chosen fields, bypassing a core's bookkeeping.
bytes forge(role sender, std::uint64_t seq, std::uint16_t ts, std::uint16_t ts_reply,
            bytes_view payload = "frag") {
  crypto::ocb_session c(fixed_key());
  return encode(c, seq | direction_bit_of(sender), ts, ts_reply, payload);
}

}  // namespace

TEST_SUITE("datagram") {

TEST_CASE("client and server exchange payloads in both directions") {
  connection_core client(role::client, fixed_key(), at(0));
  connection_core server(role::server, fixed_key(), at(0));
  auto up = server.open(client.seal("to server", at(10)), at(20));
  REQUIRE(up);
  CHECK(up->payload == "to server");
  CHECK(up->seq == 0);
  CHECK(up->in_order);
  auto down = client.open(server.seal("to client", at(30)), at(40));
  REQUIRE(down);
  CHECK(down->payload == "to client");
  CHECK(down->seq == 0);
  CHECK(down->in_order);
  CHECK(client.counters().sealed == 1);
  CHECK(client.counters().accepted == 1);
  CHECK(server.counters().total_dropped() == 0);
  // 8 nonce + 16 tag + 4 timestamps around each payload (docs/status.md: bytes each way).
  CHECK(client.counters().bytes_sealed == 28 + 9);
  CHECK(server.counters().bytes_accepted == 28 + 9);
  CHECK(client.counters().bytes_accepted == 28 + 9);
  CHECK(server.open("garbage that is long enough to be tried", at(50)).has_value() == false);
  CHECK(server.counters().bytes_accepted == 28 + 9);  // drops are not counted as bytes
}

TEST_CASE("the direction bit is set only on datagrams to the client") {
  connection_core client(role::client, fixed_key(), at(0));
  connection_core server(role::server, fixed_key(), at(0));
  CHECK(to_hex(client.seal("", at(0)).substr(0, 8)) == "0000000000000000");
  CHECK(to_hex(server.seal("", at(0)).substr(0, 8)) == "8000000000000000");
  CHECK(to_hex(server.seal("", at(0)).substr(0, 8)) == "8000000000000001");
}

TEST_CASE("sequence numbers start at 0, count every datagram and never repeat") {
  connection_core client(role::client, fixed_key(), at(0));
  std::set<std::uint64_t> numbers;
  for (std::uint64_t i = 0; i < 100; ++i) {
    CHECK(client.next_seq() == i);
    const bytes wire = client.seal("same fragment", at(static_cast<std::int64_t>(i)));
    numbers.insert(get_be<8>(wire));
  }
  CHECK(numbers.size() == 100);
  CHECK(*numbers.begin() == 0);
  CHECK(*numbers.rbegin() == 99);
}

TEST_CASE("a datagram carrying our own direction is dropped as reflected") {
  connection_core client(role::client, fixed_key(), at(0));
  connection_core server(role::server, fixed_key(), at(0));
  auto own = client.open(client.seal("echo", at(0)), at(1));
  REQUIRE_FALSE(own);
  CHECK(own.error() == drop_reason::wrong_direction);
  auto own_server = server.open(server.seal("echo", at(0)), at(1));
  REQUIRE_FALSE(own_server);
  CHECK(own_server.error() == drop_reason::wrong_direction);
  CHECK(client.counters().drops(drop_reason::wrong_direction) == 1);
  CHECK(client.counters().total_dropped() == 1);
  CHECK_FALSE(client.last_heard());
}

TEST_CASE("each drop reason is counted separately") {
  connection_core server(role::server, fixed_key(), at(0));
  static_cast<void>(server.open(bytes(10, 'x'), at(0)));
  static_cast<void>(server.open(bytes(3000, 'x'), at(0)));
  static_cast<void>(server.open(bytes(40, '\0'), at(0)));  // direction ok, tag garbage
  bytes short_plain;
  put_be<8>(short_plain, 0);
  crypto::ocb_session c(fixed_key());
  short_plain += c.seal(0, "ab");
  static_cast<void>(server.open(short_plain, at(0)));
  const auto& s = server.counters();
  CHECK(s.drops(drop_reason::too_short) == 1);
  CHECK(s.drops(drop_reason::oversize) == 1);
  CHECK(s.drops(drop_reason::bad_tag) == 1);
  CHECK(s.drops(drop_reason::short_plaintext) == 1);
  CHECK(s.drops(drop_reason::wrong_direction) == 0);
  CHECK(s.total_dropped() == 4);
  CHECK(s.accepted == 0);
  CHECK(server.expected_seq() == 0);
}

TEST_CASE("older datagrams are still delivered but are not in order") {
  connection_core client(role::client, fixed_key(), at(0));
  connection_core server(role::server, fixed_key(), at(0));
  const bytes d0 = client.seal("zero", at(0));
  const bytes d1 = client.seal("one", at(0));
  const bytes d2 = client.seal("two", at(0));

  auto r2 = server.open(d2, at(100));
  REQUIRE(r2);
  CHECK(r2->in_order);
  CHECK(server.expected_seq() == 3);
  CHECK(server.last_heard() == at(100));

  auto r0 = server.open(d0, at(200));
  REQUIRE(r0);
  CHECK(r0->payload == "zero");
  CHECK(r0->seq == 0);
  CHECK_FALSE(r0->in_order);
  auto r1 = server.open(d1, at(300));
  REQUIRE(r1);
  CHECK_FALSE(r1->in_order);
  auto again = server.open(d2, at(400));  // a replay of the newest is old too
  REQUIRE(again);
  CHECK_FALSE(again->in_order);

  CHECK(server.expected_seq() == 3);
  CHECK(server.last_heard() == at(100));
  CHECK(server.counters().out_of_order == 3);
  CHECK(server.counters().accepted == 4);
}

TEST_CASE("a gap in sequence numbers is in order and skips expected ahead") {
  connection_core server(role::server, fixed_key(), at(0));
  auto r = server.open(forge(role::client, 1000, 1, no_timestamp), at(5));
  REQUIRE(r);
  CHECK(r->in_order);
  CHECK(server.expected_seq() == 1001);
  auto older = server.open(forge(role::client, 999, 1, no_timestamp), at(6));
  REQUIRE(older);
  CHECK_FALSE(older->in_order);
}

TEST_CASE("the timestamp is the clock in ms mod 65536, never 65535") {
  CHECK(timestamp16(at(0)) == 0);
  CHECK(timestamp16(at(1234)) == 1234);
  CHECK(timestamp16(at(65534)) == 65534);
  CHECK(timestamp16(at(65535)) == 0);
  CHECK(timestamp16(at(65536)) == 0);
  CHECK(timestamp16(at(70000)) == 70000 - 65536);
  CHECK(timestamp16(at(65536 * 7 + 65535)) == 0);

  connection_core client(role::client, fixed_key(), at(0));
  CHECK(peek(client.seal("", at(65535)), role::client).timestamp == 0);
  CHECK(peek(client.seal("", at(65534)), role::client).timestamp == 65534);
  CHECK(peek(client.seal("", at(131071)), role::client).timestamp == 0);
}

TEST_CASE("the echo carries the peer's timestamp plus the hold time, once") {
  connection_core server(role::server, fixed_key(), at(0));
  CHECK(peek(server.seal("", at(4000)), role::server).timestamp_reply == no_timestamp);
  REQUIRE(server.open(forge(role::client, 0, 1000, no_timestamp), at(5000)));
  const auto first = peek(server.seal("", at(5250)), role::server);
  CHECK(first.timestamp == 5250);
  CHECK(first.timestamp_reply == 1250);
  CHECK(peek(server.seal("", at(5260)), role::server).timestamp_reply == no_timestamp);
}

TEST_CASE("an echo held 999 ms is sent, one held 1000 ms has expired for good") {
  connection_core fresh(role::server, fixed_key(), at(0));
  REQUIRE(fresh.open(forge(role::client, 0, 300, no_timestamp), at(5000)));
  CHECK(peek(fresh.seal("", at(5999)), role::server).timestamp_reply == 1299);

  connection_core stale(role::server, fixed_key(), at(0));
  REQUIRE(stale.open(forge(role::client, 0, 300, no_timestamp), at(5000)));
  CHECK(peek(stale.seal("", at(6000)), role::server).timestamp_reply == no_timestamp);
  CHECK(peek(stale.seal("", at(6001)), role::server).timestamp_reply == no_timestamp);
}

TEST_CASE("the echo wraps around 65536 like the timestamps do") {
  connection_core server(role::server, fixed_key(), at(0));
  REQUIRE(server.open(forge(role::client, 0, 65500, no_timestamp), at(10)));
  CHECK(peek(server.seal("", at(110)), role::server).timestamp_reply == (65500 + 100) - 65536);
}

TEST_CASE("only the newest in-order timestamp is echoed") {
  connection_core server(role::server, fixed_key(), at(0));
  REQUIRE(server.open(forge(role::client, 1, 700, no_timestamp), at(100)));
  REQUIRE(server.open(forge(role::client, 2, 800, no_timestamp), at(200)));
  auto old = server.open(forge(role::client, 0, 5000, no_timestamp), at(250));
  REQUIRE(old);
  CHECK_FALSE(old->in_order);
  CHECK(peek(server.seal("", at(300)), role::server).timestamp_reply == 900);  // 800 + 100
}

TEST_CASE("a datagram without a timestamp leaves a pending echo alone") {
  connection_core server(role::server, fixed_key(), at(0));
  REQUIRE(server.open(forge(role::client, 0, 700, no_timestamp), at(100)));
  REQUIRE(server.open(forge(role::client, 1, no_timestamp, no_timestamp), at(150)));
  CHECK(peek(server.seal("", at(200)), role::server).timestamp_reply == 800);
}

TEST_CASE("a congestion mark lowers the stored timestamp by 500 ms") {
  connection_core server(role::server, fixed_key(), at(0));
  REQUIRE(server.open(forge(role::client, 0, 1000, no_timestamp), at(5000), true));
  CHECK(peek(server.seal("", at(5000)), role::server).timestamp_reply == 500);
  REQUIRE(server.open(forge(role::client, 1, 200, no_timestamp), at(6000), true));
  CHECK(peek(server.seal("", at(6010)), role::server).timestamp_reply == 65536 + 200 - 500 + 10);
  CHECK(server.counters().congestion_marks == 2);
}

TEST_CASE("an echoed timestamp gives an RTT sample that excludes the peer's hold time") {
  connection_core client(role::client, fixed_key(), at(0));
  connection_core server(role::server, fixed_key(), at(0));
  REQUIRE(server.open(client.seal("ping", at(1000)), at(1040)));
  const bytes reply = server.seal("pong", at(1050));  // held 10 ms → echo 1010
  CHECK(peek(reply, role::server).timestamp_reply == 1010);
  REQUIRE(client.open(reply, at(1090)));
  CHECK(client.rtt().has_sample());
  CHECK(client.srtt_ms() == 80.0);
  CHECK(client.rtt().rttvar_ms() == 40.0);
  CHECK(client.rto() == milliseconds(240));
}

TEST_CASE("RTT samples wrap modulo 65536 and samples of 5000 ms or more are ignored") {
  connection_core client(role::client, fixed_key(), at(0));
  REQUIRE(client.open(forge(role::server, 0, 1, 65500), at(65536 + 100)));
  CHECK(client.srtt_ms() == 136.0);

  connection_core slow(role::client, fixed_key(), at(0));
  REQUIRE(slow.open(forge(role::server, 0, 1, 1000), at(6000)));
  CHECK_FALSE(slow.rtt().has_sample());
  CHECK(slow.srtt_ms() == 1000.0);
  REQUIRE(slow.open(forge(role::server, 1, 1, 1001), at(6000)));
  CHECK(slow.srtt_ms() == 4999.0);
}

TEST_CASE("old datagrams give no RTT sample") {
  connection_core client(role::client, fixed_key(), at(0));
  REQUIRE(client.open(forge(role::server, 5, 1, no_timestamp), at(100)));
  auto old = client.open(forge(role::server, 4, 1, 50), at(100));
  REQUIRE(old);
  CHECK_FALSE(old->in_order);
  CHECK_FALSE(client.rtt().has_sample());
  CHECK(client.rto() == milliseconds(1000));
}

TEST_CASE("last heard is the arrival of the newest in-order datagram") {
  connection_core client(role::client, fixed_key(), at(0));
  CHECK_FALSE(client.last_heard());
  REQUIRE(client.open(forge(role::server, 0, 1, no_timestamp), at(300)));
  CHECK(client.last_heard() == at(300));
  REQUIRE(client.open(forge(role::server, 3, 1, no_timestamp), at(400)));
  CHECK(client.last_heard() == at(400));
  static_cast<void>(client.open(bytes(50, 'x'), at(500)));
  CHECK(client.last_heard() == at(400));
}

TEST_CASE("the server association expires after more than 40 s without in-order traffic") {
  connection_core server(role::server, fixed_key(), at(0));
  CHECK_FALSE(server.association_expired(at(1'000'000)));  // nobody to forget yet
  REQUIRE(server.open(forge(role::client, 0, 1, no_timestamp), at(1000)));
  CHECK_FALSE(server.association_expired(at(41'000)));
  CHECK(server.association_expired(at(41'001)));
  REQUIRE(server.open(forge(role::client, 0, 1, no_timestamp), at(41'500)));  // old: no help
  CHECK(server.association_expired(at(41'500)));
  REQUIRE(server.open(forge(role::client, 1, 1, no_timestamp), at(41'600)));
  CHECK_FALSE(server.association_expired(at(41'600)));
}

TEST_CASE("the client hops after 10 s without a new port or a round-trip success") {
  connection_core client(role::client, fixed_key(), at(0));
  CHECK_FALSE(client.last_roundtrip_success());
  CHECK_FALSE(client.should_hop(at(9'999)));
  CHECK(client.should_hop(at(10'000)));

  client.set_last_roundtrip_success(at(5'000));
  CHECK(client.last_roundtrip_success() == at(5'000));
  CHECK_FALSE(client.should_hop(at(14'999)));
  CHECK(client.should_hop(at(15'000)));

  client.hopped(at(15'000));
  CHECK_FALSE(client.should_hop(at(24'999)));
  CHECK(client.should_hop(at(25'000)));
  client.set_last_roundtrip_success(at(24'000));
  CHECK_FALSE(client.should_hop(at(33'999)));
  CHECK(client.should_hop(at(34'000)));
}

TEST_CASE("the MTU follows the address family and falls back to 500 for good") {
  connection_core c(role::client, fixed_key(), at(0));
  CHECK(c.mtu() == 500);
  CHECK(c.fragment_budget() == 472);
  c.set_address_family(address_family::ipv4);
  CHECK(c.mtu() == 1252);
  CHECK(c.fragment_budget() == 1224);
  c.set_address_family(address_family::ipv6);
  CHECK(c.mtu() == 1216);
  CHECK(c.fragment_budget() == 1188);
  c.mtu_exceeded();
  CHECK(c.mtu() == 500);
  c.set_address_family(address_family::ipv4);
  CHECK(c.mtu() == 500);
}

TEST_CASE("a fragment of the full budget makes a datagram of exactly the MTU") {
  for (auto family : {address_family::unknown, address_family::ipv4, address_family::ipv6}) {
    connection_core c(role::server, fixed_key(), at(0));
    c.set_address_family(family);
    const bytes fragment(c.fragment_budget(), 'f');
    CHECK(c.seal(fragment, at(0)).size() == c.mtu());
  }
}

}  // TEST_SUITE

// The keystroke log (protocol §8.1): coalescing, the stock encoding, apply, subtract,
// the server's consumer API, and the first client instruction of a session.

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "mosh2/ssp/endpoint.hpp"
#include "mosh2/ssp/user_stream.hpp"
#include "ssp_test_support.hpp"

using namespace mosh2;
using namespace mosh2::ssp;
using namespace mosh2::ssp::test;

namespace {

bytes hex(std::string_view h) {
  bytes out;
  REQUIRE(from_hex(h, out));
  return out;
}

std::vector<user_event> keys(std::string_view s) {
  std::vector<user_event> out;
  for (char c : s) out.emplace_back(user_byte{c});
  return out;
}

}  // namespace

static_assert(synchronizable_state<user_stream>);

TEST_SUITE("ssp") {

TEST_CASE("typed bytes coalesce into one keystroke and every resize starts a new instruction") {
  user_stream s;
  s.push_bytes("ls");
  s.push_resize(80, 24);
  s.push_resize(100, 30);
  s.push_byte('\r');
  s.push_byte('x');
  CHECK(s.size() == 6);
  transport::user_message expected{{transport::keystroke{"ls"}, transport::resize{80, 24},
                                    transport::resize{100, 30}, transport::keystroke{"\rx"}}};
  CHECK(s.message_since(user_stream{}) == expected);

  user_stream prefix;
  prefix.push_bytes("l");
  transport::user_message rest{{transport::keystroke{"s"}, transport::resize{80, 24},
                                transport::resize{100, 30}, transport::keystroke{"\rx"}}};
  CHECK(s.message_since(prefix) == rest);
}

TEST_CASE("diffs of a resize and of typed bytes have the stock encoding") {
  user_stream resize;
  resize.push_resize(80, 24);
  CHECK(to_hex(resize.diff_from(user_stream{})) == "0a061a0428503018");
  user_stream typed;
  typed.push_bytes("ls\r");
  CHECK(to_hex(typed.diff_from(user_stream{})) == "0a0712052203" "6c730d");
}

TEST_CASE("a log with no new events diffs to the empty string") {
  user_stream s;
  CHECK(s.diff_from(s).empty());
  s.push_bytes("abc");
  CHECK(s.diff_from(s).empty());
  user_stream longer = s;
  longer.push_byte('d');
  CHECK(s.diff_from(longer).empty());  // not an extension: nothing to say
}

TEST_CASE("applying a diff appends each keystroke byte as its own event") {
  user_stream base;
  base.push_bytes("ab");
  user_stream full = base;
  full.push_bytes("cd");
  full.push_resize(132, 43);
  full.push_bytes(std::string("\0e", 2));

  user_stream peer = base;
  REQUIRE(peer.apply_diff(full.diff_from(base)));
  CHECK(peer == full);
  CHECK(peer.size() == 7);
  CHECK(peer.apply_diff(""));  // the empty diff changes nothing
  CHECK(peer == full);
  // Golden bytes from the wire apply as well.
  user_stream fresh;
  REQUIRE(fresh.apply_diff(hex("0a 07 12 05 22 03 6c 73 0d")));
  CHECK(fresh.events() == std::deque<user_event>{user_byte{'l'}, user_byte{'s'}, user_byte{'\r'}});
}

TEST_CASE("a malformed diff is rejected and leaves the log unchanged") {
  user_stream s;
  s.push_bytes("ok");
  const user_stream before = s;
  for (const char* bad : {"0a", "0a 05 12", "0a ff", "0a 02 12 ff", "ff ff ff ff ff ff ff ff ff ff ff"}) {
    CAPTURE(bad);
    CHECK_FALSE(s.apply_diff(hex(bad)));
    CHECK(s == before);
  }
}

TEST_CASE("subtract drops the acknowledged prefix, including from the prefix itself") {
  user_stream acked;
  acked.push_bytes("ab");
  user_stream now = acked;
  now.push_resize(10, 5);
  now.push_byte('c');
  now.subtract(acked);
  CHECK(now.events() == std::deque<user_event>{transport::resize{10, 5}, user_byte{'c'}});
  acked.subtract(acked);
  CHECK(acked.empty());
  user_stream shorter;
  shorter.push_byte('z');
  user_stream tiny;
  tiny.subtract(shorter);  // a prefix longer than the log empties it, never more
  CHECK(tiny.empty());
}

TEST_CASE("the server takes each user event once, and the held logs shrink") {
  receiver<user_stream> r(user_stream{}, at(0));
  user_stream one;
  one.push_resize(80, 24);
  REQUIRE(r.receive(make_inst(0, 1, 0, one.diff_from(user_stream{})), at(1)) == receive_outcome::newest);
  CHECK(take_new_events(r) == std::vector<user_event>{transport::resize{80, 24}});
  CHECK(take_new_events(r).empty());

  user_stream two = one;
  two.push_bytes("hi");
  user_stream three = two;
  three.push_bytes("!");
  REQUIRE(r.receive(make_inst(1, 2, 0, two.diff_from(one), 1), at(2)) == receive_outcome::newest);
  REQUIRE(r.receive(make_inst(2, 3, 0, three.diff_from(two), 1), at(3)) == receive_outcome::newest);
  CHECK(take_new_events(r) == keys("hi!"));
  // State 0 was thrown away and the rest trimmed of state 1's content (the resize).
  CHECK(r.received_states().front().num == 1);
  CHECK(r.received_states().front().state.empty());
  CHECK(r.newest_state().size() == 3);
}

TEST_CASE("the first client instruction is state 1 carrying the window size") {
  endpoint<user_stream, last_value> client(user_stream{}, last_value{}, at(0), client_options());
  endpoint<last_value, user_stream> server(last_value{}, user_stream{}, at(0), server_options());
  client.outgoing().current_state().push_resize(80, 24);
  auto first = client.tick(at(0));
  REQUIRE(first);
  CHECK(first->old_num == 0);
  CHECK(first->new_num == 1);
  CHECK(first->ack_num == 0);
  CHECK(to_hex(first->diff) == "0a061a0428503018");

  CHECK(server.receive(*first, at(5)) == receive_outcome::newest);
  CHECK(take_new_events(server.incoming()) == std::vector<user_event>{transport::resize{80, 24}});
  server.outgoing().set_peer_known(true);
  auto ack = server.tick(at(5));
  REQUIRE(ack);
  CHECK(ack->new_num == 1);
  CHECK(ack->ack_num == 1);
  CHECK(ack->diff.empty());

  CHECK(client.receive(*ack, at(10)) == receive_outcome::newest);
  client.outgoing().next_deadline(at(10));  // trims the acknowledged resize
  CHECK(client.outgoing().current_state().empty());
  client.outgoing().current_state().push_bytes("ls\r");
  auto sent = run(client, 10, 400);
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].inst.old_num == 1);
  CHECK(sent[0].inst.new_num == 2);
  CHECK(to_hex(sent[0].inst.diff) == "0a0712052203" "6c730d");
  CHECK(server.receive(sent[0].inst, at(sent[0].ms + 5)) == receive_outcome::newest);
  CHECK(take_new_events(server.incoming()) == keys("ls\r"));
}

}  // TEST_SUITE

TEST_SUITE("ssp") {

TEST_CASE("a key holder's out-of-order keystroke states stay within the server receiver's byte budget") {
  // State 1000 first, then states 1..1023, each diffing a large paste from state 0 and
  // never throwing anything away: without a byte count all 1024 would be held as bases.
  constexpr std::size_t budget = 1024 * 1024;
  receiver<user_stream> r(user_stream{}, at(0));
  r.set_byte_budget(budget);
  user_stream paste;
  paste.push_bytes(bytes(4096, 'x'));
  const bytes diff = paste.diff_from(user_stream{});
  REQUIRE(r.receive(make_inst(0, 1000, 0, diff), at(1)) == receive_outcome::newest);
  for (std::uint64_t n = 1; n <= 1023; ++n) (void)r.receive(make_inst(0, n, 0, diff), at(1 + n));
  std::size_t slots = 0;  // what the held events occupy at the very least
  for (const auto& s : r.received_states()) slots += s.state.size() * sizeof(user_event);
  MESSAGE(r.received_states().size() << " states held, " << slots << " bytes of events, "
                                     << r.held_bytes() << " counted");
  CHECK(slots <= budget);
  CHECK(r.held_bytes() >= slots);
  CHECK(r.held_bytes() <= budget);
  CHECK(r.newest_num() == 1000);
}

}

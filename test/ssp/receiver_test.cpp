// The SSP receiver: ordering, drops by reason, throwaway, the 1024-state quench and
// the consumer API (protocol §7.5).

#include <doctest/doctest.h>

#include <algorithm>
#include <random>
#include <set>
#include <string>

#include "mosh2/ssp/endpoint.hpp"
#include "mosh2/ssp/receiver.hpp"
#include "ssp_test_support.hpp"

using namespace mosh2;
using namespace mosh2::ssp;
using namespace mosh2::ssp::test;

namespace {

template <class State> std::set<std::uint64_t> held(const receiver<State>& r) {
  std::set<std::uint64_t> out;
  for (const auto& e : r.received_states()) out.insert(e.num);
  return out;
}

// What a string log gained since the last call.
std::string take_new(receiver<string_log>& r) {
  return r.consume_new([](const string_log& newest, const string_log& consumed) {
    return newest.text.substr(std::min(consumed.text.size(), newest.text.size()));
  });
}

using client_endpoint = endpoint<string_log, last_value>;

// A whole-value state that reports a size, the shape of a big terminal screen.
struct sized_value {
  std::string value;
  std::size_t size = 1000;
  bytes diff_from(const sized_value& older) const {
    return value == older.value && size == older.size ? bytes{} : std::to_string(size) + "=" + value;
  }
  bool apply_diff(bytes_view d) {
    const auto eq = d.find('=');
    if (eq == bytes_view::npos) return false;
    size = std::stoul(std::string(d.substr(0, eq)));
    value = std::string(d.substr(eq + 1));
    return true;
  }
  void subtract(const sized_value&) {}
  std::size_t approx_bytes() const { return size; }
  bool operator==(const sized_value&) const = default;
};
static_assert(sized_state<sized_value>);

}  // namespace

TEST_SUITE("ssp") {

TEST_CASE("an in-order state becomes the newest") {
  receiver<last_value> r(last_value{}, at(0));
  CHECK(r.newest_num() == 0);
  CHECK(r.receive(make_inst(0, 1, 0, "=a"), at(5)) == receive_outcome::newest);
  CHECK(r.newest_num() == 1);
  CHECK(r.newest_state().value == "a");
  CHECK(r.newest_arrival() == at(5));
  CHECK(r.receive(make_inst(1, 2, 0), at(6)) == receive_outcome::newest);  // empty diff: a copy
  CHECK(r.newest_state().value == "a");
  CHECK(r.stats().newest == 2);
  CHECK(r.stats().dropped() == 0);
}

TEST_CASE("a state that arrives out of order is kept as a base but not acknowledged") {
  client_endpoint c(string_log{}, last_value{}, at(0), client_options());
  CHECK(c.receive(make_inst(0, 2, 0, "=b"), at(10)) == receive_outcome::newest);
  CHECK(c.receive(make_inst(0, 1, 0, "=a"), at(20)) == receive_outcome::out_of_order);
  CHECK(c.outgoing().ack_num() == 2);
  CHECK(c.outgoing().last_heard() == at(10));
  CHECK(c.incoming().newest_num() == 2);
  CHECK(c.incoming().newest_state().value == "b");
  CHECK(held(c.incoming()) == std::set<std::uint64_t>{0, 1, 2});
  // The late state is a valid base for a later diff.
  CHECK(c.receive(make_inst(1, 3, 0, "=c"), at(30)) == receive_outcome::newest);
  CHECK(c.outgoing().ack_num() == 3);
  CHECK(c.incoming().stats().out_of_order == 1);
}

TEST_CASE("a state already held is dropped as a duplicate") {
  receiver<last_value> r(last_value{}, at(0));
  REQUIRE(r.receive(make_inst(0, 1, 0, "=a"), at(1)) == receive_outcome::newest);
  CHECK(r.receive(make_inst(0, 1, 0, "=a"), at(2)) == receive_outcome::duplicate);
  CHECK(r.receive(make_inst(1, 0, 0, "=z"), at(3)) == receive_outcome::duplicate);
  CHECK(r.newest_arrival() == at(1));
  CHECK(r.stats().duplicate == 2);
  CHECK(r.received_states().size() == 2);
}

TEST_CASE("a diff from a state not held is dropped") {
  receiver<last_value> r(last_value{}, at(0));
  CHECK(r.receive(make_inst(5, 6, 0, "=a"), at(1)) == receive_outcome::unknown_base);
  CHECK(r.newest_num() == 0);
  CHECK(r.stats().unknown_base == 1);
}

TEST_CASE("a wrong protocol version is dropped and its ack ignored") {
  client_endpoint c(string_log{}, last_value{}, at(0), client_options());
  c.outgoing().current_state().text = "x";
  REQUIRE(c.tick(at(0)));  // our state 1
  auto inst = make_inst(0, 1, 1, "=a");
  inst.protocol_version = 3;
  CHECK(c.receive(inst, at(10)) == receive_outcome::bad_version);
  CHECK(c.outgoing().acked_num() == 0);
  CHECK(c.outgoing().ack_num() == 0);
  CHECK_FALSE(c.last_roundtrip_success());
  CHECK(c.incoming().stats().bad_version == 1);
  inst.protocol_version = 2;
  CHECK(c.receive(inst, at(20)) == receive_outcome::newest);
  CHECK(c.outgoing().acked_num() == 1);
  CHECK(c.last_roundtrip_success() == at(0));
}

TEST_CASE("a diff that does not apply is dropped and leaves no state") {
  client_endpoint c(string_log{}, last_value{}, at(0), client_options());
  CHECK(c.receive(make_inst(0, 1, 0, "garbage"), at(10)) == receive_outcome::bad_diff);
  CHECK(held(c.incoming()) == std::set<std::uint64_t>{0});
  CHECK(c.outgoing().ack_num() == 0);
  CHECK_FALSE(c.outgoing().last_heard());
  CHECK(c.incoming().stats().bad_diff == 1);
}

TEST_CASE("throwaway_num discards the held states below it") {
  receiver<last_value> r(last_value{}, at(0));
  REQUIRE(r.receive(make_inst(0, 1, 0, "=a"), at(1)) == receive_outcome::newest);
  REQUIRE(r.receive(make_inst(1, 2, 0, "=b"), at(2)) == receive_outcome::newest);
  REQUIRE(r.receive(make_inst(2, 3, 0, "=c"), at(3)) == receive_outcome::newest);
  REQUIRE(r.receive(make_inst(3, 4, 0, "=d", 3), at(4)) == receive_outcome::newest);
  CHECK(held(r) == std::set<std::uint64_t>{3, 4});
  CHECK(r.receive(make_inst(1, 5, 0, "=e"), at(5)) == receive_outcome::unknown_base);

  SUBCASE("a throwaway beyond every held state still builds on the named base") {
    CHECK(r.receive(make_inst(3, 5, 0, "=e", 100), at(6)) == receive_outcome::newest);
    CHECK(r.newest_state().value == "e");
    CHECK(held(r) == std::set<std::uint64_t>{4, 5});
  }
}

TEST_CASE("beyond 1024 held states the receiver accepts one state per 15 s") {
  receiver<last_value> r(last_value{}, at(0));
  for (std::uint64_t n = 1; n <= 1024; ++n)
    REQUIRE(r.receive(make_inst(0, n, 0, "=v"), at(1)) == receive_outcome::newest);
  CHECK(r.received_states().size() == 1025);
  CHECK(r.receive(make_inst(0, 1025, 0, "=w"), at(2000)) == receive_outcome::newest);  // starts the quench
  CHECK(r.receive(make_inst(0, 1026, 0, "=x"), at(2001)) == receive_outcome::quenched);
  CHECK(r.receive(make_inst(0, 1027, 0, "=x"), at(16999)) == receive_outcome::quenched);
  CHECK(r.receive(make_inst(0, 1028, 0, "=y"), at(17000)) == receive_outcome::newest);
  CHECK(r.receive(make_inst(0, 1029, 0, "=z"), at(17001)) == receive_outcome::quenched);
  CHECK(r.stats().quenched == 3);
  CHECK(r.received_states().size() == 1027);
  CHECK(r.newest_state().value == "y");
  // A throwaway empties the list again and lifts the limit.
  CHECK(r.receive(make_inst(1028, 1030, 0, "=t", 1028), at(17002)) == receive_outcome::newest);
  CHECK(held(r) == std::set<std::uint64_t>{1028, 1030});
}

TEST_CASE("the consumer takes each new part of an append-only state once and the held states shrink") {
  receiver<string_log> r(string_log{}, at(0));
  CHECK(take_new(r).empty());
  REQUIRE(r.receive(make_inst(0, 1, 0, "+ab"), at(1)) == receive_outcome::newest);
  CHECK(take_new(r) == "ab");
  REQUIRE(r.receive(make_inst(1, 2, 0, "+cd"), at(2)) == receive_outcome::newest);
  REQUIRE(r.receive(make_inst(2, 3, 0, "+e"), at(3)) == receive_outcome::newest);
  CHECK(take_new(r) == "cde");
  CHECK(take_new(r).empty());
  // A prospective resend from state 1 that also throws states 0 away.
  REQUIRE(r.receive(make_inst(1, 4, 0, "+cdef", 1), at(4)) == receive_outcome::newest);
  CHECK(take_new(r) == "f");
  // The held logs lost the prefix of the oldest held state (state 1 = "ab").
  CHECK(r.received_states().front().state.text.empty());
  CHECK(r.newest_state().text == "cdef");
  REQUIRE(r.receive(make_inst(3, 5, 0, "+fg", 3), at(5)) == receive_outcome::newest);
  CHECK(take_new(r) == "g");
  CHECK(r.newest_state().text == "fg");  // trimmed of state 3 = "cde"
}

TEST_CASE("random instructions never throw and never grow the receiver past its cap") {
  receiver<string_log> r(string_log{}, at(0));
  std::mt19937_64 gen(42);
  auto pick = [&](std::uint64_t hi) { return std::uniform_int_distribution<std::uint64_t>(0, hi)(gen); };
  for (int i = 0; i < 20'000; ++i) {
    transport::instruction inst = make_inst(pick(40), pick(3) == 0 ? ~std::uint64_t{0} - pick(2) : pick(5000),
                                            pick(40), pick(1) ? "+x" : (pick(1) ? "" : "bad"),
                                            pick(20) == 0 ? pick(3000) : 0);
    inst.protocol_version = pick(30) == 0 ? 3 : 2;
    CHECK_NOTHROW(r.receive(inst, at(i)));
    REQUIRE(r.received_states().size() <= 1026);
    REQUIRE_FALSE(r.received_states().empty());
  }
  const auto& st = r.stats();
  CHECK(st.newest + st.out_of_order + st.dropped() == 20'000);
  CHECK(st.bad_version > 0);
  CHECK(st.bad_diff > 0);
  CHECK(st.unknown_base > 0);
  CHECK(st.duplicate > 0);
  CHECK(std::is_sorted(r.received_states().begin(), r.received_states().end(),
                       [](const auto& a, const auto& b) { return a.num < b.num; }));
}

}  // TEST_SUITE

TEST_SUITE("ssp") {

TEST_CASE("held states stay within the byte budget, oldest dropped first, the newest kept") {
  receiver<sized_value> r(sized_value{"", 1000}, at(0));
  r.set_byte_budget(10'000);
  // Every state is 3000 bytes and nothing is thrown away: without the budget all 51 stay.
  for (std::uint64_t n = 1; n <= 50; ++n) {
    const bytes diff = "3000=v" + std::to_string(n);
    REQUIRE(r.receive(make_inst(n - 1, n, 0, diff), at(static_cast<std::int64_t>(n))) ==
            receive_outcome::newest);
    CHECK(r.held_bytes() <= 10'000);
  }
  CHECK(r.newest_num() == 50);
  CHECK(r.newest_state().value == "v50");
  CHECK(held(r) == std::set<std::uint64_t>{48, 49, 50});
  CHECK(r.stats().over_budget == 48);
  // A state larger than the whole budget is still kept as the newest.
  CHECK(r.receive(make_inst(50, 51, 0, "50000=big"), at(60)) == receive_outcome::newest);
  CHECK(held(r) == std::set<std::uint64_t>{51});
  CHECK(r.newest_state().value == "big");
}

TEST_CASE("a peer that diffs from a state dropped for the budget recovers once our ack arrives") {
  sender<sized_value> s(sized_value{"", 1000}, at(0), client_options());
  receiver<sized_value> r(sized_value{"", 1000}, at(0));
  r.set_byte_budget(10'000);
  // Ten big states go out; the receiver's acks are all lost, so the sender still
  // believes the peer holds only state 0, which the budget soon drops. Once the
  // sender's benefit of the doubt for its recent states runs out, it diffs from state
  // 0 and the receiver refuses that as unknown_base.
  std::int64_t t = 0;
  std::uint64_t unknown = 0;
  for (int i = 1; i <= 10; ++i) {
    s.current_state() = sized_value{std::string("v").append(std::to_string(i)), 3000};
    for (auto& sent : run(s, t, t + 300))
      if (r.receive(sent.inst, at(sent.ms)) == receive_outcome::unknown_base) ++unknown;
    t += 300;
    CHECK(r.held_bytes() <= 10'000);
  }
  CHECK(held(r).count(0) == 0);
  CHECK(unknown > 0);
  CHECK(r.newest_state().value != "v10");
  // Our ack (the newest state we hold, which the budget never drops) reaches the
  // sender: once its doubt about the refused states runs out (this sender hears
  // nothing from its peer, so that is the next 3 s heartbeat), it diffs from that
  // state, and the receiver catches up.
  s.process_ack(r.newest_num());
  for (auto& sent : run(s, t, t + 5000)) r.receive(sent.inst, at(sent.ms));
  CHECK(r.newest_state().value == "v10");
  CHECK(r.held_bytes() <= 10'000);
}

}  // TEST_SUITE

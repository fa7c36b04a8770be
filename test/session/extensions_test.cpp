// The session floor's extensions between two cores over the simulated link: negotiation
// in every combination (both mosh2, either side stock-like, the announcement lost and
// resent), a further stream through loss and reordering, rekeying, and paths. Every
// datagram the tests look at is the real sealed bytes, opened again with the key.

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "session_sim.hpp"

using namespace mosh2;
using namespace mosh2::session;
using namespace mosh2::session::test;

namespace {

constexpr std::uint32_t test_stream = extension::first_test_id + 1;

crypto::session_key other_key() {
  crypto::session_key::raw_type raw{};
  for (std::size_t i = 0; i < raw.size(); ++i) raw[i] = static_cast<std::uint8_t>(200 - i * 3);
  return crypto::session_key(raw);
}

extension_config stock_like() { return extension_config{{}, {}}; }
extension_config with_test_stream() { return extension_config{{extension::streams, test_stream}, {test_stream}}; }

}  // namespace

TEST_SUITE("session") {

TEST_CASE("two mosh2 ends agree on what both announced; the server stops answering once heard") {
  session_sim sim({}, {}, 1, {with_test_stream(), extension_config{{extension::streams}, {}}});
  sim.run_for(100ms);
  sim.type("x");
  sim.run_for(2s);
  CHECK(sim.server().transport().extensions().agreed_set() == std::vector<std::uint32_t>{extension::streams});
  CHECK(sim.client().transport().extensions().agreed_set() == std::vector<std::uint32_t>{extension::streams});
  CHECK_FALSE(sim.server().transport().stream_open(test_stream));  // one side only: not used

  auto up = open_all(sim.up().history, datagram::role::server, test_key());
  auto down = open_all(sim.down().history, datagram::role::client, test_key());
  REQUIRE(up.instructions.size() > 2);
  REQUIRE(down.instructions.size() > 2);
  CHECK(up.instructions.front().ext.offer.has_value());
  CHECK_FALSE(up.instructions.back().ext.offer.has_value());  // answered: no more announcing
  CHECK(down.instructions.front().ext.accept.has_value());
  CHECK_FALSE(down.instructions.back().ext.accept.has_value());  // the client has it
  CHECK(sim.program().input == "x");
}

TEST_CASE("toward a stock-like client the server sends no field outside Mosh 1.4's") {
  session_sim sim({}, {}, 2, {extension_config{}, stock_like()});
  sim.run_for(100ms);
  sim.type("hello");
  sim.run_for(2s);
  CHECK(row_text(sim.client().server_screen(), 0) == "hello");
  CHECK_FALSE(sim.server().transport().extensions().settled());
  for (const auto& i : open_all(sim.up().history, datagram::role::server, test_key()).instructions)
    CHECK(i.ext.empty());
  const auto down = open_all(sim.down().history, datagram::role::client, test_key());
  REQUIRE(down.instructions.size() > 2);
  for (const auto& i : down.instructions) CHECK(i.ext.empty());
}

TEST_CASE("toward a stock-like server the client adds only its announcement, and opens nothing") {
  session_sim sim({}, {}, 3, {stock_like(), with_test_stream()});
  sim.run_for(100ms);
  sim.type("hello");
  sim.run_for(2s);
  CHECK(row_text(sim.client().server_screen(), 0) == "hello");
  CHECK_FALSE(sim.client().transport().extensions().settled());
  CHECK_FALSE(sim.client().transport().stream_open(test_stream));
  const auto up = open_all(sim.up().history, datagram::role::server, test_key());
  REQUIRE(up.instructions.size() > 2);
  for (const auto& i : up.instructions) {
    CHECK(i.ext.offer.has_value());  // still announcing: never answered
    CHECK_FALSE(i.ext.accept.has_value());
    CHECK(i.ext.streams.empty());
    CHECK_FALSE(i.ext.no_state);
  }
  for (const auto& i : open_all(sim.down().history, datagram::role::client, test_key()).instructions)
    CHECK(i.ext.empty());
}

TEST_CASE("a lost announcement is sent again until it is answered") {
  session_sim sim({}, {}, 4, {with_test_stream(), with_test_stream()});
  sim.up().set_blackout(true);  // the first announcements never arrive
  sim.run_for(100ms);
  sim.type("a");
  sim.run_for(3s);
  CHECK_FALSE(sim.server().transport().extensions().settled());
  const std::size_t lost = sim.up().history.size();
  REQUIRE(lost > 0);
  sim.up().set_blackout(false);
  sim.run_for(6s);
  CHECK(sim.server().transport().extensions().agreed(test_stream));
  CHECK(sim.client().transport().extensions().agreed(test_stream));
  CHECK(sim.client().transport().stream_open(test_stream));
  CHECK(sim.program().input == "a");
}

TEST_CASE("a further stream delivers every item once and in order through loss, reordering and duplication") {
  const link_model bad{0.25, 20, 120, 0.1};
  session_sim sim(bad, bad, 5, {with_test_stream(), with_test_stream()});
  sim.run_for(100ms);
  sim.type("s");
  sim.run_for(3s);
  REQUIRE(sim.server().transport().stream_open(test_stream));
  REQUIRE(sim.client().transport().stream_open(test_stream));

  std::vector<std::string> sent_down, got_down, sent_up, got_up;
  auto collect = [&] {
    for (auto& i : sim.client().transport().take_stream_items(test_stream).items) got_down.push_back(i.data);
    for (auto& i : sim.server().transport().take_stream_items(test_stream).items) got_up.push_back(i.data);
  };
  for (int n = 0; n < 1500; ++n) {
    // A window, as a stream's owner keeps one: at most 8 KiB unacknowledged.
    auto* down = sim.server().transport().stream_out(test_stream);
    REQUIRE(down != nullptr);
    if (down->held_data_bytes() < 8192) {
      sent_down.push_back("line " + std::to_string(sent_down.size()) + std::string(n % 90, '.'));
      down->append(sent_down.back());
    }
    if (n % 5 == 0) {
      sent_up.push_back("up " + std::to_string(n));
      sim.client().transport().stream_out(test_stream)->append(sent_up.back());
    }
    sim.run_for(7ms);
    collect();
  }
  sim.run_for(30s);
  collect();
  CHECK(sent_down.size() > 300);  // many windows of 8 KiB went through
  CHECK(got_down == sent_down);
  CHECK(got_up == sent_up);
  CHECK(sim.server().transport().stream_out(test_stream)->size() == 0);  // all acknowledged
  CHECK(sim.down().lost() > 0);
  CHECK(sim.down().reordered() > 0);
  CHECK(sim.down().duplicated() > 0);
  // The main object went on meanwhile.
  sim.type("t");
  sim.run_for(3s);
  CHECK(sim.program().input == "st");
}

TEST_CASE("an idle stream adds no datagrams: the heartbeats stay the main object's") {
  session_sim plain({}, {}, 6, {stock_like(), stock_like()});
  session_sim streams({}, {}, 6, {with_test_stream(), with_test_stream()});
  for (auto* sim : {&plain, &streams}) {
    sim->run_for(100ms);
    sim->type("x");
    sim->run_for(5s);
  }
  REQUIRE(streams.server().transport().stream_open(test_stream));
  const auto up0 = plain.up().sent(), down0 = plain.down().sent();
  const auto sup0 = streams.up().sent(), sdown0 = streams.down().sent();
  plain.run_for(60s);
  streams.run_for(60s);
  CHECK(streams.up().sent() - sup0 == plain.up().sent() - up0);
  CHECK(streams.down().sent() - sdown0 == plain.down().sent() - down0);
}

TEST_CASE("a rekey drops the old key, starts the sequence space and SSP over, and repaints in full") {
  session_sim sim({}, {}, 7, {with_test_stream(), with_test_stream()});
  sim.run_for(100ms);
  sim.type("before");
  sim.run_for(2s);
  REQUIRE(row_text(sim.client().server_screen(), 0) == "before");
  const std::vector<bytes> old_up = sim.up().history;
  const std::size_t down_before = sim.down().history.size();

  (void)sim.server().handle(rekey_requested{other_key()}, sim.now());
  CHECK_FALSE(sim.server().peer());
  CHECK(sim.server().transport().rekeys() == 1);
  CHECK_FALSE(sim.server().transport().extensions().settled());
  CHECK_FALSE(sim.server().transport().stream_open(test_stream));

  // The old client's datagrams (a replay of all it sent) are dropped and counted.
  for (const auto& d : old_up) {
    const auto outcome = sim.server().handle(incoming_datagram{d, sim.client_address}, sim.now()).datagram;
    CHECK_FALSE(outcome.authentic);
    CHECK(outcome.old_key);
  }
  CHECK(sim.server().transport().link().drops().old_key == old_up.size());
  CHECK(sim.program().input == "before");  // nothing typed twice

  sim.replace_client(other_key());
  sim.run_for(3s);
  // The new client sees the whole screen: a full repaint from the initial state.
  CHECK(row_text(sim.client().server_screen(), 0) == "before");
  sim.type("!");
  sim.run_for(2s);
  CHECK(sim.program().input == "before!");
  CHECK(sim.server().transport().extensions().agreed(test_stream));

  const auto after = open_all(sim.down().history, datagram::role::client, other_key(), down_before);
  REQUIRE_FALSE(after.seqs.empty());
  CHECK(after.not_authentic == 0);  // the old key sealed nothing after the rekey
  CHECK(after.seqs.front() == 0);   // a fresh sequence space under the new key
  for (std::size_t i = 1; i < after.seqs.size(); ++i) CHECK(after.seqs[i] == after.seqs[i - 1] + 1);
  REQUIRE_FALSE(after.instructions.empty());
  CHECK(after.instructions.front().old_num == 0);  // diffed from the initial state
  CHECK(open_all(sim.down().history, datagram::role::client, test_key(), down_before).instructions.empty());
}

TEST_CASE("on a reliable path nothing is retransmitted; the path's MTU sizes the datagrams") {
  const link_model slow{0.0, 1500, 1500, 0.0};  // slower than the initial RTO
  std::uint64_t resends[2] = {};
  std::size_t largest[2] = {};
  for (int reliable = 0; reliable < 2; ++reliable) {
    session_sim sim(slow, slow, 8);
    if (reliable) {
      const path_traits stream_path{stream_path_mtu, true};
      sim.server().transport().set_path(stream_path);
      sim.client().transport().set_path(stream_path);
    }
    sim.run_for(100ms);
    sim.type("seq");
    sim.run_for(4s);
    // A screenful that compresses badly, so that it needs more than one UDP datagram.
    std::string noise;
    std::uint32_t x = 12345;
    for (int i = 0; i < 1900; ++i) {
      x = x * 1103515245 + 12345;
      noise.push_back(static_cast<char>('!' + (x >> 16) % 90));
    }
    (void)sim.server().handle(program_output{noise}, sim.now());
    sim.run_for(8s);
    CHECK(sim.client().server_screen() == sim.server().screen());
    resends[reliable] = sim.server().transport().ssp().outgoing().stats().retransmissions +
                        sim.client().transport().ssp().outgoing().stats().retransmissions;
    for (const auto& d : sim.down().history) largest[reliable] = std::max(largest[reliable], d.size());
  }
  CHECK(resends[0] > 0);
  CHECK(resends[1] == 0);
  CHECK(largest[0] <= datagram::ipv4_mtu);
  CHECK(largest[1] > datagram::ipv4_mtu);
  CHECK(largest[1] <= stream_path_mtu);
}
}

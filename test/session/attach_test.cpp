// Attaching in the simulator: after a rekey, a displaced client that agreed to
// `attached_elsewhere` is told so under the key it still holds (and exits 1), at most
// once per attached_notice_interval, with nonces that continue the old key's sequence;
// a client that did not agree (stock-like, or streams only) is sent nothing at all.

#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "mosh2/session/attach.hpp"
#include "mosh2/status/document.hpp"
#include "session_sim.hpp"

using namespace mosh2;
using namespace mosh2::session;
using namespace mosh2::session::test;

namespace {

crypto::session_key new_key() {
  crypto::session_key::raw_type raw{};
  for (std::size_t i = 0; i < raw.size(); ++i) raw[i] = static_cast<std::uint8_t>(90 + i * 5);
  return crypto::session_key(raw);
}

/// The sequence numbers of the datagrams in `sent` that open under `key` for a client.
std::vector<std::uint64_t> client_seqs(const std::vector<bytes>& sent, const crypto::session_key& key) {
  datagram::connection_core dc(datagram::role::client, key, time_point{});
  std::vector<std::uint64_t> out;
  for (const auto& d : sent)
    if (auto o = dc.open(d, time_point{})) out.push_back(o->seq);
  return out;
}

/// What the server answers to the old client's datagrams after a rekey, collected
/// over `turns` turns of the old client (it types each time, so it always sends).
struct after_rekey {
  std::vector<bytes> replies;  ///< every reply datagram, in order
  std::size_t answered = 0;    ///< old-key datagrams that got a reply
  std::size_t old_key = 0;     ///< old-key datagrams seen
};

after_rekey drive_old_client(session_sim& sim, int turns, milliseconds gap, bool deliver) {
  after_rekey out;
  auto now = sim.now();
  for (int i = 0; i < turns; ++i) {
    (void)sim.client().handle(keyboard_input{"k"}, now);
    auto c = sim.client().handle(turn{}, now);
    for (const auto& d : c.datagrams) {
      auto a = sim.server().handle(incoming_datagram{d, sim.client_address}, now);
      if (a.datagram.old_key) ++out.old_key;
      if (!a.datagram.reply.empty()) ++out.answered;
      for (auto& r : a.datagram.reply) {
        out.replies.push_back(r);
        if (deliver) (void)sim.client().handle(incoming_datagram{r, {}}, now);
      }
    }
    now += gap;
  }
  return out;
}

}  // namespace

TEST_SUITE("session") {

TEST_CASE("a displaced client that agreed is told under its old key, rate-limited, and exits 1") {
  session_sim sim;  // both ends as the programs build them
  sim.run_for(100ms);
  sim.type("hello");
  sim.run_for(2s);
  REQUIRE(sim.client().transport().extensions().agreed(extension::attached_elsewhere));
  const auto old_down = client_seqs(sim.down().history, test_key());
  REQUIRE_FALSE(old_down.empty());

  (void)sim.server().handle(rekey_requested{new_key()}, sim.now());
  // Many old-key datagrams within one interval: one answer.
  const auto burst = drive_old_client(sim, 20, 10ms, false);
  CHECK(burst.old_key >= 5);
  CHECK(burst.answered == 1);
  CHECK(sim.server().transport().link().drops().old_key == burst.old_key);
  // The answer is sealed under the old key, its sequence after everything that key sent
  // before: no (key, nonce) pair repeats.
  auto all_old = sim.down().history;
  all_old.insert(all_old.end(), burst.replies.begin(), burst.replies.end());
  const auto seqs = client_seqs(all_old, test_key());
  REQUIRE(seqs.size() == old_down.size() + burst.replies.size());
  CHECK(seqs[old_down.size()] > *std::max_element(old_down.begin(), old_down.end()));
  CHECK(client_seqs(burst.replies, new_key()).empty());
  CHECK(sim.program().input == "hello");  // nothing the old client typed since got in

  // Delivered, the notice ends the old client at once with status 1.
  const auto later = drive_old_client(sim, 3, 1100ms, true);
  CHECK(later.answered >= 1);
  CHECK(sim.client().displaced());
  const auto end = sim.client().handle(turn{}, sim.now() + 4s);
  REQUIRE(end.exit);
  CHECK(*end.exit == 1);

  // The new client gets the whole screen and is not told anything.
  sim.replace_client(new_key());
  sim.run_for(3s);
  CHECK(row_text(sim.client().server_screen(), 0) == "hello");
  CHECK_FALSE(sim.client().displaced());
}

TEST_CASE("a client that did not agree to attached_elsewhere is sent nothing after a rekey") {
  const extension_config stock_like{{}, {}};
  const extension_config streams_only{{extension::streams}, {}};
  for (const auto& client_ext : {stock_like, streams_only}) {
    session_sim sim({}, {}, 3, {extension_config{}, client_ext});
    sim.run_for(100ms);
    sim.type("x");
    sim.run_for(2s);
    REQUIRE(sim.program().input == "x");
    REQUIRE_FALSE(sim.server().transport().extensions().agreed(extension::attached_elsewhere));
    (void)sim.server().handle(rekey_requested{new_key()}, sim.now());
    const auto r = drive_old_client(sim, 10, 1100ms, true);
    CHECK(r.old_key >= 3);
    CHECK(r.answered == 0);
    CHECK(r.replies.empty());
    CHECK_FALSE(sim.client().displaced());
  }
}

TEST_CASE("a client that did not agree ignores field 24; one that agreed ends on it with status 1") {
  for (const bool agreed : {false, true}) {
    session_sim sim({}, {}, 5, {extension_config{}, agreed ? extension_config{} : extension_config{{extension::streams}, {}}});
    sim.run_for(100ms);
    sim.type("w");
    sim.run_for(2s);
    REQUIRE(row_text(sim.client().server_screen(), 0) == "w");
    const auto remote_before = sim.client().transport().remote_num();
    // A notice sealed with the session key, as a server would seal it; its fragment id
    // must pass those the server already used, so the forger first burns a few hundred.
    session::link_core forger(datagram::role::server, test_key(), sim.now());
    for (std::uint64_t i = 1; i <= 500; ++i) {
      transport::instruction burnt;
      burnt.old_num = i;
      (void)forger.datagrams_for(burnt, sim.now());
    }
    transport::instruction notice;
    notice.ext.displaced = true;
    for (auto& d : forger.datagrams_for(notice, sim.now()))
      (void)sim.client().handle(incoming_datagram{d, {}}, sim.now());
    CHECK(sim.client().displaced() == agreed);
    const auto end = sim.client().handle(turn{}, sim.now());
    CHECK(end.exit.has_value() == agreed);
    // Not agreed: an instruction like any other, numbered 0, which SSP already holds.
    CHECK(sim.client().transport().remote_num() == remote_before);
    CHECK(row_text(sim.client().server_screen(), 0) == "w");
  }
}

TEST_CASE("a server that does not offer attached_elsewhere tells a displaced client nothing") {
  session_sim sim({}, {}, 4, {extension_config{{extension::streams}, {}}, extension_config{}});
  sim.run_for(100ms);
  sim.type("y");
  sim.run_for(2s);
  (void)sim.server().handle(rekey_requested{new_key()}, sim.now());
  const auto r = drive_old_client(sim, 5, 1100ms, true);
  CHECK(r.old_key >= 2);
  CHECK(r.replies.empty());
  CHECK_FALSE(sim.client().displaced());
}

TEST_CASE("the status counts attaches and says where the newest client came from") {
  session_sim sim;
  sim.run_for(100ms);
  sim.type("z");
  sim.run_for(2s);
  auto s = sim.server().status(sim.now());
  CHECK(s.attaches == 0);
  CHECK_FALSE(s.last_attached);
  const auto at = sim.now();
  (void)sim.server().handle(rekey_requested{new_key()}, at);
  s = sim.server().status(sim.now());
  CHECK(s.attaches == 1);
  REQUIRE(s.last_attached);
  CHECK(*s.last_attached == at);
  CHECK_FALSE(s.attached_from);  // nobody under the new key yet
  sim.replace_client(new_key());
  sim.client_address = {"127.0.0.9", 50100, false};
  sim.run_for(2s);
  s = sim.server().status(sim.now());
  REQUIRE(s.attached_from);
  CHECK(*s.attached_from == "127.0.0.9");
  const auto json = status::to_json(s, sim.now());
  CHECK(json.find("\"count\": 1") != std::string::npos);
  CHECK(json.find("\"from\": \"127.0.0.9\"") != std::string::npos);
}

}  // TEST_SUITE

namespace {

attach_candidate server(pid_t pid, std::string name, std::string state) {
  attach_candidate c;
  c.view.pid = pid;
  c.view.role = "server";
  c.view.name = std::move(name);
  c.view.state = std::move(state);
  c.view.command = "/bin/sh";
  c.view.since_keystroke_ms = 125000;
  return c;
}

}  // namespace

TEST_SUITE("session") {

TEST_CASE("an attach takes the named session, or the only detached one; else it says why") {
  const std::vector<attach_candidate> one{server(10, "work", "connected"), server(11, "", "detached")};
  CHECK(choose_session(one, std::nullopt).value() == 1);
  CHECK(choose_session(one, std::string("work")).value() == 0);  // connected, but named: displaced
  CHECK(choose_session(one, std::string("11")).value() == 1);
  const auto wrong_name = choose_session(one, std::string("play"));
  REQUIRE_FALSE(wrong_name);
  CHECK(wrong_name.error().status == 1);
  CHECK(wrong_name.error().text == "no live mosh2 session of yours with name play");
  REQUIRE_FALSE(choose_session(one, std::string("12")));
  CHECK(choose_session(one, std::string("12")).error().text == "no live mosh2 session of yours with id 12");

  const std::vector<attach_candidate> two{server(10, "work", "detached"), server(11, "", "detached"),
                                          server(12, "live", "connected")};
  const auto several = choose_session(two, std::nullopt);
  REQUIRE_FALSE(several);
  CHECK(several.error().status == 2);
  CHECK(several.error().text.find("2 detached sessions") == 0);
  CHECK(several.error().text.find("     10  work          detached             2m  /bin/sh\n") != std::string::npos);
  CHECK(several.error().text.find("     11  -             detached") != std::string::npos);
  CHECK(several.error().text.find("live") == std::string::npos);  // only the detached are listed

  const auto none = choose_session({}, std::nullopt);
  REQUIRE_FALSE(none);
  CHECK(none.error().status == 1);
  CHECK(none.error().text.find('\n') == std::string::npos);
  const auto only_connected = choose_session({server(12, "live", "connected")}, std::nullopt);
  REQUIRE_FALSE(only_connected);
  CHECK(only_connected.error().text.find('\n') == std::string::npos);
}

TEST_CASE("names are unique among live sessions, and the detached ones are reported by name or id") {
  const std::vector<attach_candidate> all{server(10, "work", "detached"), server(11, "", "detached"),
                                          server(12, "live", "connected")};
  CHECK(name_taken(all, "work") == 10);
  CHECK(name_taken(all, "live") == 12);
  CHECK_FALSE(name_taken(all, "play"));
  CHECK_FALSE(name_taken(all, ""));  // no name clashes with nothing
  CHECK(detached_labels(all) == "work,11");
  CHECK(detached_labels({server(12, "live", "connected")}).empty());
}

}  // TEST_SUITE

// The escape key state machine (protocol §10.8) and the server's echo ack (§8.3).

#include <doctest/doctest.h>

#include "mosh2/session/echo_ack.hpp"
#include "mosh2/session/escape_key.hpp"

using namespace mosh2;
using session::escape_key;

namespace {
std::string feed_all(escape_key& k, std::string_view in, escape_key::action* last = nullptr) {
  std::string out;
  for (char c : in) {
    auto r = k.feed(c);
    out += r.send;
    if (last && r.act != escape_key::action::none) *last = r.act;
  }
  return out;
}
}  // namespace

TEST_SUITE("session") {
TEST_CASE("Ctrl-^ then . quits and sends nothing") {
  escape_key k;
  escape_key::action act = escape_key::action::none;
  CHECK(feed_all(k, "ls\x1e.", &act) == "ls");
  CHECK(act == escape_key::action::quit);
}

TEST_CASE("Ctrl-^ ^ sends one literal Ctrl-^, any other key sends both") {
  escape_key k;
  CHECK(feed_all(k, "\x1e^") == "\x1e");
  CHECK(feed_all(k, "\x1ex") == "\x1ex");
}

TEST_CASE("Ctrl-^ Ctrl-Z suspends") {
  escape_key k;
  escape_key::action act = escape_key::action::none;
  feed_all(k, "\x1e\x1a", &act);
  CHECK(act == escape_key::action::suspend);
}

TEST_CASE("the escape press asks for the help text and the next key hides it") {
  escape_key k;
  CHECK(k.feed('\x1e').show_help);
  CHECK(k.feed('x').hide_help);
  CHECK(k.help_text() == "Commands: Ctrl-Z suspends, \".\" quits, \"^\" gives literal Ctrl-^");
  CHECK(k.quit_hint() == "[To quit: Ctrl-^ .]");
}

TEST_CASE("MOSH_ESCAPE_KEY picks the key, empty disables it, reserved keys fall back") {
  CHECK(escape_key::from_environment("\x02").key_name() == "Ctrl-B");
  CHECK_FALSE(escape_key::from_environment("").enabled());
  CHECK(escape_key::from_environment("\x03").key_name() == "Ctrl-^");
  CHECK(escape_key::from_environment("ab").key_name() == "Ctrl-^");
  auto off = escape_key::from_environment("");
  CHECK(feed_all(off, "\x1e.") == "\x1e.");
  CHECK(off.quit_hint().empty());
}

TEST_CASE("a control escape's pass key works in either case") {
  auto k = escape_key::from_environment("\x02");
  CHECK(feed_all(k, "\x02" "b") == "\x02");
  CHECK(feed_all(k, "\x02" "B") == "\x02");
}

TEST_CASE("a printable escape works only at the start of a line") {
  auto k = escape_key::from_environment("~");
  escape_key::action act = escape_key::action::none;
  CHECK(feed_all(k, "a~.", &act) == "a~.");
  CHECK(act == escape_key::action::none);
  CHECK(feed_all(k, "\r~.", &act) == "\r");
  CHECK(act == escape_key::action::quit);
}

TEST_CASE("the echo ack names the newest state applied at least 50 ms ago") {
  session::echo_ack_tracker t;
  const time_point t0{};
  CHECK(t.update(t0) == 0);
  t.record(3, t0);
  t.record(5, t0 + 30ms);
  CHECK(t.update(t0 + 49ms) == 0);
  CHECK(t.next_deadline() == t0 + 50ms);
  CHECK(t.update(t0 + 50ms) == 3);
  CHECK(t.next_deadline() == t0 + 80ms);
  CHECK(t.update(t0 + 80ms) == 5);
  CHECK(t.next_deadline() == never);
}
}

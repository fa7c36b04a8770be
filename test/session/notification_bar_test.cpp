// The client's notification bar: texts, timing and drawing (protocol §10.7).

#include <doctest/doctest.h>

#include "mosh2/overlay/notification_bar.hpp"

using namespace mosh2;
using overlay::notification_bar;

TEST_SUITE("session") {
TEST_CASE("durations read as seconds, then M:SS, then H:MM:SS") {
  CHECK(overlay::human_duration(12s, false) == "12 seconds");
  CHECK(overlay::human_duration(1s, false) == "1 second");
  CHECK(overlay::human_duration(12s, true) == "12 s");
  CHECK(overlay::human_duration(75s, false) == "1:15");
  CHECK(overlay::human_duration(std::chrono::seconds(3 * 3600 + 62), false) == "3:01:02");
}

TEST_CASE("the bar stays away while the server is heard from") {
  notification_bar bar;
  const time_point t0{};
  bar.server_heard(t0);
  bar.server_acked(t0);
  CHECK_FALSE(bar.text(t0 + 6500ms).has_value());
  CHECK(bar.text(t0 + 12s) == "mosh: Last contact 12 seconds ago. [To quit: Ctrl-^ .]");
}

TEST_CASE("only a late reply says Last reply") {
  notification_bar bar;
  const time_point t0{};
  bar.server_acked(t0);
  bar.server_heard(t0 + 10s);
  CHECK(bar.text(t0 + 11s) == "mosh: Last reply 11 seconds ago. [To quit: Ctrl-^ .]");
}

TEST_CASE("a message expires after a second unless permanent") {
  notification_bar bar;
  const time_point t0{};
  bar.server_heard(t0);
  bar.server_acked(t0);
  bar.set_message("Connecting...", t0);
  CHECK(bar.text(t0 + 500ms) == "mosh: Connecting... [To quit: Ctrl-^ .]");
  CHECK_FALSE(bar.text(t0 + 1500ms).has_value());
  bar.set_message("Exiting on user request...", t0, true);
  CHECK(bar.text(t0 + 5s).has_value());
}

TEST_CASE("a message while late carries the terse duration") {
  notification_bar bar;
  const time_point t0{};
  bar.server_heard(t0);
  bar.server_acked(t0);
  bar.set_message("sendto: Network is unreachable", t0 + 20s, true);
  CHECK(bar.text(t0 + 20s) == "mosh: sendto: Network is unreachable (20 s without contact.) [To quit: Ctrl-^ .]");
}

TEST_CASE("the escape help has no quit hint, and a disabled escape key none at all") {
  notification_bar bar;
  const time_point t0{};
  bar.server_heard(t0);
  bar.server_acked(t0);
  bar.set_message("Commands: Ctrl-Z suspends", t0, true, overlay::message_lifetime, false);
  CHECK(bar.text(t0) == "mosh: Commands: Ctrl-Z suspends");
  notification_bar quiet("");
  quiet.server_heard(t0);
  quiet.server_acked(t0);
  CHECK(quiet.text(t0 + 7s) == "mosh: Last contact 7 seconds ago.");
}

TEST_CASE("the bar draws bold white on blue over row 0 and hides a cursor there") {
  notification_bar bar;
  const time_point t0{};
  bar.server_heard(t0);
  bar.server_acked(t0);
  terminal::framebuffer fb(40, 5);
  bar.apply(fb, t0 + 8s);
  CHECK(fb.cell_at(0, 0).text() == "m");
  CHECK(fb.cell_at(0, 0).rend().has(terminal::renditions::bold));
  CHECK(fb.cell_at(0, 0).rend().bg == terminal::color::indexed(4));
  CHECK(fb.cell_at(0, 39).rend().fg == terminal::color::indexed(7));
  CHECK_FALSE(fb.ds().cursor_visible);
  CHECK(fb.cell_at(1, 0).blank());
}

TEST_CASE("network errors are shortened by the next good send") {
  notification_bar bar;
  const time_point t0{};
  bar.server_heard(t0);
  bar.server_acked(t0);
  bar.set_network_error("sendto: Network is unreachable", t0);
  CHECK(bar.text(t0 + 3s).has_value());
  bar.network_ok(t0 + 100ms);
  CHECK_FALSE(bar.text(t0 + 1200ms).has_value());
}
}

// What the client says when UDP gets no answer: the paragraph's words, its wrapping,
// and when the client core shows it (after udp_timeout of silence, never once heard).

#include <doctest/doctest.h>

#include <string>

#include "mosh2/session/reach_advice.hpp"
#include "session_sim.hpp"

using namespace mosh2;
using namespace mosh2::session;
using namespace mosh2::session::test;

namespace {

client_core_config silent_config(std::chrono::seconds timeout, std::string ssh_host) {
  client_core_config c(test_key());
  c.server = {"203.0.113.5", 60001, false};
  c.udp_timeout = timeout;
  c.ssh_host = std::move(ssh_host);
  return c;
}

}  // namespace

TEST_SUITE("session") {
TEST_CASE("the paragraph names the port, the address, that ssh worked, and what to allow") {
  const auto p = udp_silence_paragraph({"203.0.113.5", 60001, "bastion.example", std::chrono::seconds(5)});
  CHECK(p.find("UDP port 60001 on 203.0.113.5 in 5 s") != std::string::npos);
  CHECK(p.find("ssh to bastion.example worked, so the host is up") != std::string::npos);
  CHECK(p.find("Allow UDP 60001 on 203.0.113.5 in the host's firewall or cloud security group") !=
        std::string::npos);
  CHECK(p.find('\n') == std::string::npos);
  // Without ssh (mosh2-client started by hand) nothing is claimed about the host.
  const auto q = udp_silence_paragraph({"203.0.113.5", 60001, "", std::chrono::seconds(5)});
  CHECK(q.find("ssh") == std::string::npos);
  CHECK(q.find("Allow UDP 60001 on 203.0.113.5") != std::string::npos);
}

TEST_CASE("wrap_words breaks at blanks within the width and cuts a word longer than a line") {
  CHECK(wrap_words("aa bb cc", 5) == std::vector<std::string>{"aa bb", "cc"});
  CHECK(wrap_words("  aa   bb  ", 80) == std::vector<std::string>{"aa bb"});
  CHECK(wrap_words("abcdefgh xy", 3) == std::vector<std::string>{"abc", "def", "gh", "xy"});
  CHECK(wrap_words("\xc3\xa9\xc3\xa9 ab", 5) == std::vector<std::string>{"\xc3\xa9\xc3\xa9 ab"});
  CHECK(wrap_words("anything", 0).empty());
  for (const auto& line : wrap_words(udp_silence_paragraph({"2001:db8::1", 60001, "h", std::chrono::seconds(5)}), 20))
    CHECK(line.size() <= 20);
}

TEST_CASE("draw_paragraph writes the wrapped lines from its row and leaves the rest") {
  terminal::framebuffer fb(10, 4);
  draw_paragraph(fb, 2, "one two three four five");
  CHECK(row_text(fb, 0).empty());
  CHECK(row_text(fb, 2) == "one two");
  CHECK(row_text(fb, 3) == "three four");  // "five" falls past the bottom and is left out
}

TEST_CASE("silence for udp_timeout brings the advice to the screen; before it, nothing") {
  time_point t{};
  client_core core(silent_config(std::chrono::seconds(3), "bastion"), t);
  (void)core.handle(turn{}, t);
  t += std::chrono::milliseconds(2900);
  auto a = core.handle(turn{}, t);
  CHECK_FALSE(core.udp_advice());
  CHECK(a.screen.find("nothing came back") == std::string::npos);
  t += std::chrono::milliseconds(200);
  a = core.handle(turn{}, t);
  REQUIRE(core.udp_advice());
  CHECK(core.udp_advice()->find("UDP port 60001 on 203.0.113.5 in 3 s") != std::string::npos);
  CHECK(a.screen.find("nothing came back from UDP port 60001") != std::string::npos);
  CHECK_FALSE(a.exit);
}

TEST_CASE("a long udp_timeout still gets its advice shown before the client gives up") {
  time_point t{};
  client_core core(silent_config(std::chrono::seconds(20), ""), t);
  std::optional<int> exit;
  std::optional<time_point> advised;
  for (int i = 0; i < 200 && !exit; ++i) {  // 40 s in 200 ms turns
    t += std::chrono::milliseconds(200);
    exit = core.handle(turn{}, t).exit;
    if (core.udp_advice() && !advised) advised = t;
  }
  REQUIRE(advised);
  CHECK(*advised - time_point{} >= std::chrono::seconds(20));
  CHECK(*advised - time_point{} < std::chrono::seconds(21));
  REQUIRE(exit);
  CHECK(*exit != 0);
  CHECK(t - time_point{} >= std::chrono::seconds(30));  // not the 15 s of a short timeout
}

TEST_CASE("a session that hears the server never shows the advice") {
  session_sim sim;
  sim.run_for(std::chrono::seconds(8));
  CHECK(sim.client().ever_heard());
  CHECK_FALSE(sim.client().udp_advice());
}
}

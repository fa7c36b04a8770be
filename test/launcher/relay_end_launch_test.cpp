// The launcher's half of the relays' end: it asks the server for an end token only when
// it sets up relays (-J), reads the token's line without showing it, and lets ssh read
// standard input (the token's way to the relay) only when asked.

#include <doctest/doctest.h>

#include <algorithm>

#include "mosh2/launcher/launcher_options.hpp"
#include "mosh2/launcher/server_command.hpp"
#include "mosh2/launcher/startup_output.hpp"
#include "parsed_launcher.hpp"

using namespace mosh2::launcher;

namespace {
bool has(const std::vector<std::string>& words, const std::string& w) {
  return std::find(words.begin(), words.end(), w) != words.end();
}
}  // namespace

TEST_CASE("the server is asked for an end token exactly when relays are set up") {
  CHECK(has(server_arguments(mosh2::test::launcher({"-J", "jump", "host"}), 256, {}), "--relay-end"));
  CHECK_FALSE(has(server_arguments(mosh2::test::launcher({"host"}), 256, {}), "--relay-end"));  // a stock server never sees it
  CHECK_FALSE(has(server_arguments(mosh2::test::launcher({"-J", "jump", "--attach", "host"}), 256, {}), "--relay-end"));
  // Before any command of the session's.
  const auto args = server_arguments(mosh2::test::launcher({"-J", "jump", "host", "--", "ls", "--relay-end"}), 256, {});
  CHECK(std::count(args.begin(), args.end(), "--relay-end") == 2);
  CHECK(std::find(args.begin(), args.end(), "--relay-end") < std::find(args.begin(), args.end(), "--"));
}

TEST_CASE("MOSH2 RELAY-END is read, not shown") {
  startup_reader r;
  const auto shown = r.feed("MOSH2 RELAY-END 00112233445566778899aabbccddeeff\r\nhello\nMOSH CONNECT 60001 "
                            "4NeCCgvZFe2RnPgrcU1PQw\n");
  CHECK(shown == std::vector<std::string>{"hello"});
  REQUIRE(r.relay_end());
  CHECK(*r.relay_end() == "00112233445566778899aabbccddeeff");
  startup_reader none;
  (void)none.feed("MOSH CONNECT 60001 4NeCCgvZFe2RnPgrcU1PQw\n");
  CHECK_FALSE(none.relay_end());
}

TEST_CASE("ssh reads no standard input unless the relay's token goes that way") {
  const auto o = mosh2::test::launcher({"-J", "jump", "host"});
  CHECK(has(ssh_argv(o, "/bin/mosh2", "jump", "mosh2-server relay 1.2.3.4 60001"), "-n"));
  CHECK_FALSE(has(ssh_argv(o, "/bin/mosh2", "jump", "mosh2-server relay 1.2.3.4 60001 --end-token-stdin", true), "-n"));
}

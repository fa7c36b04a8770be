// Reading ssh's output up to MOSH CONNECT, and the line shown when it never comes.

#include <algorithm>
#include <string>

#include <doctest/doctest.h>

#include "mosh2/launcher/startup_output.hpp"

using namespace mosh2::launcher;

TEST_SUITE("launcher") {
TEST_CASE("MOSH CONNECT and MOSH IP are taken; other lines are shown; split reads are joined") {
  startup_reader r;
  CHECK(r.feed("MOSH IP 192.0.2.7\nWelcome to the bo").empty());
  CHECK(r.feed("x\r\n\r\nMOSH CONN") == std::vector<std::string>{"Welcome to the box"});
  CHECK_FALSE(r.done());
  CHECK(r.feed("ECT 60001 4NeCCgvZFe2RnPgrcU1PQw\r\n[mosh-server detached]\n").empty());
  REQUIRE(r.connect());
  CHECK(r.connect()->port == "60001");
  CHECK(r.connect()->key == "4NeCCgvZFe2RnPgrcU1PQw");
  CHECK(r.proxy_ip() == "192.0.2.7");
  CHECK(r.printed_anything());
  CHECK(r.done());
  CHECK(r.feed("more\n").empty());  // after MOSH CONNECT nothing is read
}

TEST_CASE("MOSH SSH_CONNECTION gives the server's side, without the IPv4-mapped prefix") {
  startup_reader r;
  r.feed("\r\nMOSH SSH_CONNECTION ::ffff:10.0.0.1 5555 ::ffff:10.0.0.9 22\r\n");
  CHECK(r.ssh_connection_ip() == "10.0.0.9");
  CHECK_FALSE(r.printed_anything());
}

TEST_CASE("a second MOSH IP is an error; an unterminated last line is shown at the end") {
  startup_reader r;
  r.feed("MOSH IP 1.2.3.4\nMOSH IP 5.6.7.8\n");
  CHECK(r.error() == "ssh reported the server's IP address twice");
  startup_reader tail;
  tail.feed("partial");
  CHECK(tail.finish() == std::vector<std::string>{"partial"});
  CHECK(tail.printed_anything());
}

TEST_CASE("every way the bootstrap can end without MOSH CONNECT has its own line") {
  startup_failure ssh_down{false, "nosuchhost.invalid", "ssh", "mosh2-server", true, false, true};
  ssh_down.status = 255;
  CHECK(describe(ssh_down) == "ssh failed (exit status 255) before connecting to nosuchhost.invalid; "
                              "check that `ssh nosuchhost.invalid` works");
  startup_failure silent{false, "localhost", "false", "mosh2-server", true, false, false};
  silent.status = 1;
  CHECK(describe(silent) == "false failed (exit status 1) before connecting to localhost and printed nothing; "
                            "check that `false localhost` works");
  startup_failure auth{false, "h", "ssh", "mosh2-server", true, true, true};
  auth.status = 255;
  CHECK(describe(auth) == "ssh failed (exit status 255) while talking to h; check that `ssh h` works");
  startup_failure missing{false, "h", "ssh", "mosh2-server", true, true, true};
  missing.status = 127;
  CHECK(describe(missing) == "did not find the server's startup message (MOSH CONNECT); is mosh2-server installed on "
                             "h? (the remote shell did not find it, exit status 127)");
  startup_failure quiet_ok{false, "h", "ssh", "/bin/true", true, true, false};
  CHECK(describe(quiet_ok) ==
        "did not find the server's startup message (MOSH CONNECT); is /bin/true on h a mosh server?");
  startup_failure refused{false, "h", "ssh", "mosh2-server", true, true, true};
  refused.status = 1;
  CHECK(describe(refused) == "mosh2-server on h did not start (exit status 1)");
  startup_failure local{true, "127.0.0.1", "", "mosh2-server", false, false, true};
  local.status = 1;
  CHECK(describe(local) == "mosh2-server did not start (exit status 1)");
  startup_failure slow{};
  slow.timed_out = true;
  slow.timeout_seconds = 120;
  CHECK(describe(slow) == "no server startup message (MOSH CONNECT) within 120 s");
}
}

TEST_SUITE("launcher") {
TEST_CASE("protocol lines need exactly their words; anything else is shown") {
  startup_reader r;
  CHECK(r.feed("MOSH IP 1.2.3.4 extra\nMOSH IP  1.2.3.4\nMOSH CONNECT 6000x 4NeCCgvZFe2RnPgrcU1PQw\n"
               "MOSH CONNECT 60001 4NeCCgvZFe2RnPgrcU1PQ\nMOSH SSH_CONNECTION a b c\n") ==
        std::vector<std::string>{"MOSH IP 1.2.3.4 extra", "MOSH IP  1.2.3.4",
                                 "MOSH CONNECT 6000x 4NeCCgvZFe2RnPgrcU1PQw",
                                 "MOSH CONNECT 60001 4NeCCgvZFe2RnPgrcU1PQ", "MOSH SSH_CONNECTION a b c"});
  CHECK_FALSE(r.proxy_ip());
  CHECK_FALSE(r.connect());
  CHECK(r.feed("MOSH IP 1.2.3.4 \t\r\nMOSH CONNECT 60001 4NeCCgvZFe2RnPgrcU1PQw \n").empty());
  CHECK(r.proxy_ip() == "1.2.3.4");
  REQUIRE(r.connect());
  CHECK(r.connect()->port == "60001");
}

TEST_CASE("a 1 MB MOSH IP line is one error line, not a crash") {
  startup_reader r;
  const std::string line = "MOSH IP " + std::string(1024 * 1024, 'a') + "\n";
  CHECK(r.feed(line).empty());
  REQUIRE(r.error());
  CHECK(*r.error() == "a line of the bootstrap's output is longer than 64 KiB");
  CHECK(r.done());
  CHECK_FALSE(r.proxy_ip());
  CHECK(r.buffered() == 0);
}

TEST_CASE("64 MB without a newline, fed in 4 KiB reads, never holds more than one line's cap") {
  startup_reader r;
  const std::string chunk(4096, 'x');
  std::size_t most = 0;
  int reads = 0;
  for (; reads < 64 * 256 && !r.done(); ++reads) {
    r.feed(chunk);
    most = std::max(most, r.buffered());
  }
  CHECK(most <= startup_reader::max_line);
  REQUIRE(r.error());
  CHECK(*r.error() == "a line of the bootstrap's output is longer than 64 KiB");
  CHECK(reads <= 17);  // it stopped at the cap instead of reading the rest
  CHECK(r.finish().empty());
}

TEST_CASE("many short lines end at the total cap with one error line") {
  startup_reader r;
  const std::string lines = [] {
    std::string s;
    for (int i = 0; i < 1024; ++i) s += "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\n";
    return s;
  }();  // 64 KiB
  std::size_t shown = 0;
  for (int i = 0; i < 1024 && !r.done(); ++i) shown += r.feed(lines).size();
  REQUIRE(r.error());
  CHECK(*r.error() == "more than 4 MiB of output from the bootstrap before MOSH CONNECT");
  CHECK(shown == 4 * 1024 * 1024 / 64);  // every line up to the cap, none after
  CHECK(r.buffered() <= startup_reader::max_line);
}
}

// `mosh2-server new --idle-timeout DURATION`: parsed beside the stock options,
// never mistaken for getopt letters or for part of the command.

#include <doctest/doctest.h>

#include "mosh2/os/options.hpp"

using namespace mosh2::os;

namespace {
server_options parsed(const std::vector<std::string>& args) {
  auto r = parse_server_args(args);
  REQUIRE(r);
  REQUIRE(std::holds_alternative<server_options>(*r));
  return std::get<server_options>(*r);
}
}  // namespace

TEST_SUITE("os") {

TEST_CASE("--idle-timeout takes a duration as the next word or after =") {
  CHECK(parsed({"new", "--idle-timeout", "3s", "-p", "0"}).idle_timeout == std::chrono::seconds(3));
  CHECK(parsed({"new", "-p", "0", "--idle-timeout=12h"}).idle_timeout == std::chrono::hours(12));
  CHECK(parsed({"new", "--idle-timeout", "7d", "--", "sh", "--idle-timeout", "1s"}).idle_timeout ==
        std::chrono::hours(7 * 24));
  const auto o = parsed({"new", "--", "prog", "--idle-timeout=5s"});
  CHECK_FALSE(o.idle_timeout);
  CHECK(o.command == std::vector<std::string>{"prog", "--idle-timeout=5s"});
  CHECK_FALSE(parsed({"new"}).idle_timeout);
}

TEST_CASE("a bad or missing --idle-timeout is a command-line error that says why") {
  auto bad = parse_server_args({"new", "--idle-timeout", "soon"});
  REQUIRE_FALSE(bad);
  CHECK(bad.error() == "--idle-timeout: bad duration \"soon\": a number must come before each unit (expected e.g. 90s, 12h, 7d)");
  auto missing = parse_server_args({"new", "--idle-timeout"});
  REQUIRE_FALSE(missing);
  CHECK(missing.error() == "--idle-timeout needs a duration (e.g. 90s, 12h, 7d)");
  CHECK_FALSE(parse_server_args({"new", "--idle-timeout=0s"}));
}

}

TEST_SUITE("os") {
TEST_CASE("--idle-timeout before new, or in the old IP PORT form, is refused as the man page says") {
  for (const std::vector<std::string>& args : {std::vector<std::string>{"--idle-timeout", "1h", "new"},
                                               {"--idle-timeout=1h", "new"},
                                               {"127.0.0.1", "--idle-timeout", "1h"}}) {
    auto r = parse_server_args(args);
    REQUIRE_FALSE(r);
    CHECK(r.error() == "expected \"new\" before --idle-timeout: mosh2-server new [options] [-- command...]");
  }
}

TEST_CASE("the old form's address is marked as such, so that an error names no -i") {
  CHECK(parsed({"foo"}).legacy_form);
  CHECK(parsed({"foo"}).bind_address == "foo");
  CHECK_FALSE(parsed({"new", "-i", "foo"}).legacy_form);
}
}

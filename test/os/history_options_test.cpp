// `mosh2-server new --history LINES` and `mosh2-client --no-history`: mosh2's own long
// options, parsed beside the stock ones and never taken from the session's command.

#include <doctest/doctest.h>

#include "mosh2/os/options.hpp"

using namespace mosh2::os;

namespace {
server_options server(const std::vector<std::string>& args) {
  auto r = parse_server_args(args);
  REQUIRE(r);
  REQUIRE(std::holds_alternative<server_options>(*r));
  return std::get<server_options>(*r);
}
client_options client(const std::vector<std::string>& args) {
  auto r = parse_client_args(args);
  REQUIRE(r);
  REQUIRE(std::holds_alternative<client_options>(*r));
  return std::get<client_options>(*r);
}
}  // namespace

TEST_SUITE("os") {

TEST_CASE("--history takes a line count as the next word or after =; 0 turns it off") {
  CHECK(server({"new"}).history_lines == default_history_lines);
  CHECK(server({"new", "--history", "500", "-p", "0"}).history_lines == 500);
  CHECK(server({"new", "-p", "0", "--history=0"}).history_lines == 0);
  CHECK(server({"new", "--history", "1000000"}).history_lines == max_history_lines);
  const auto o = server({"new", "--history", "7", "--", "prog", "--history=5"});
  CHECK(o.history_lines == 7);
  CHECK(o.command == std::vector<std::string>{"prog", "--history=5"});
}

TEST_CASE("a bad or missing --history is a command-line error that says why") {
  for (const char* bad : {"lots", "-1", "1000001", "12x", ""}) {
    auto r = parse_server_args({"new", "--history", bad});
    REQUIRE_FALSE(r);
    CHECK(r.error() == std::string("--history: \"") + bad + "\" is not a number of lines from 0 to 1000000");
  }
  auto missing = parse_server_args({"new", "--history"});
  REQUIRE_FALSE(missing);
  CHECK(missing.error() == "--history needs a number of lines (0 turns it off)");
  auto before_new = parse_server_args({"--history", "5", "new"});
  REQUIRE_FALSE(before_new);
  CHECK(before_new.error() == "expected \"new\" before --history: mosh2-server new [options] [-- command...]");
}

TEST_CASE("mosh2-client --no-history, anywhere before the address") {
  CHECK(client({"127.0.0.1", "60001"}).history);
  CHECK_FALSE(client({"--no-history", "127.0.0.1", "60001"}).history);
  CHECK_FALSE(client({"-v", "--no-history", "-#", "x", "127.0.0.1", "60001"}).history);
  const auto o = client({"--no-history", "::1", "60001"});
  CHECK(o.host == "::1");
  CHECK(o.port == 60001);
}

}  // TEST_SUITE

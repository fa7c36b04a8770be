// Command lines of mosh2-server and mosh2-client, as the stock tools accept them.

#include <doctest/doctest.h>

#include "mosh2/os/options.hpp"

using namespace mosh2::os;

namespace {
server_options server(std::vector<std::string> args) {
  auto r = parse_server_args(args);
  REQUIRE(r.has_value());
  REQUIRE(std::holds_alternative<server_options>(*r));
  return std::get<server_options>(*r);
}
std::string server_error(std::vector<std::string> args) {
  auto r = parse_server_args(args);
  REQUIRE_FALSE(r.has_value());
  return r.error();
}
}  // namespace

TEST_SUITE("os") {
TEST_CASE("a port range accepts one port, a range, and port 0 alone") {
  CHECK(*parse_port_range("60001") == port_range{60001, 60001});
  CHECK(*parse_port_range("60010:60020") == port_range{60010, 60020});
  CHECK(*parse_port_range("0") == port_range{0, 0});
}

TEST_CASE("MOSH2_INPUT_LIMIT takes bytes with K, M or G, from 64K to 1G") {
  CHECK(*parse_input_limit("65536") == 65536);
  CHECK(*parse_input_limit("64K") == 65536);
  CHECK(*parse_input_limit("4m") == 4u << 20);
  CHECK(*parse_input_limit("1G") == std::size_t{1} << 30);
  for (const char* bad : {"", "K", "65535", "63K", "1025M", "2G", "4MB", "-64K", " 64K", "64K ",
                          "18446744073709551615K", "99999999999999999999"}) {
    CAPTURE(bad);
    const auto r = parse_input_limit(bad);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().starts_with("MOSH2_INPUT_LIMIT must be a size from 64K to 1G"));
  }
}

TEST_CASE("a port range rejects what the stock server rejects") {
  CHECK_FALSE(parse_port_range("70000").has_value());
  CHECK_FALSE(parse_port_range("5:3").has_value());
  CHECK_FALSE(parse_port_range("0:10").has_value());
  CHECK_FALSE(parse_port_range("10:0").has_value());
  CHECK_FALSE(parse_port_range("abc").has_value());
  CHECK_FALSE(parse_port_range("").has_value());
  CHECK(parse_port_range("5:3").error().find("greater than") != std::string::npos);
}

TEST_CASE("the server parses the options the mosh wrapper sends") {
  auto o = server({"new", "-c", "256", "-s", "-l", "LANG=en_US.UTF-8", "-l", "LC_ALL=C.UTF-8", "--", "vim", "-x"});
  CHECK(o.colors == 256);
  CHECK(o.bind == server_options::bind_mode::ssh_connection);
  REQUIRE(o.locale_vars.size() == 2);
  CHECK(o.locale_vars[0] == std::pair<std::string, std::string>{"LANG", "en_US.UTF-8"});
  CHECK(o.command == std::vector<std::string>{"vim", "-x"});
}

TEST_CASE("the server accepts bundled and attached option arguments") {
  auto o = server({"new", "-vvp60005", "-i127.0.0.1"});
  CHECK(o.verbosity == 2);
  CHECK(o.ports == port_range{60005, 60005});
  CHECK(o.bind_address == "127.0.0.1");
  CHECK(o.bind == server_options::bind_mode::address);
}

TEST_CASE("the server's -@ swallows one argument") {
  auto o = server({"new", "-@", "new", "-p", "60002"});
  CHECK(o.ports == port_range{60002, 60002});
}

TEST_CASE("the server understands the legacy IP PORT form") {
  auto o = server({"127.0.0.1", "60003"});
  CHECK(o.bind_address == "127.0.0.1");
  CHECK(o.ports == port_range{60003, 60003});
}

TEST_CASE("help and version win over everything else") {
  CHECK(std::holds_alternative<show_help>(*parse_server_args({"new", "-p", "1", "--help"})));
  CHECK(std::holds_alternative<show_version>(*parse_server_args({"--version"})));
  CHECK(std::holds_alternative<show_help>(*parse_client_args({"-h"})));
}

TEST_CASE("bad server options give one-line errors") {
  CHECK(server_error({"new", "-x"}).find("unknown option -x") != std::string::npos);
  CHECK(server_error({"new", "-c", "many"}).find("colour") != std::string::npos);
  CHECK(server_error({"new", "-p"}).find("needs an argument") != std::string::npos);
  CHECK(server_error({"new", "-l", "novalue"}).find("NAME=VALUE") != std::string::npos);
  for (auto& e : {server_error({"new", "-x"}), server_error({"new", "-p", "9:1"})})
    CHECK(e.find('\n') == std::string::npos);
}

TEST_CASE("the client takes IP PORT and ignores the -# decoration") {
  auto r = parse_client_args({"-#", "mosh host |", "127.0.0.1", "60001"});
  REQUIRE(r.has_value());
  auto& o = std::get<client_options>(*r);
  CHECK(o.host == "127.0.0.1");
  CHECK(o.port == 60001);
}

TEST_CASE("the client rejects a missing or non-numeric port") {
  CHECK_FALSE(parse_client_args({"127.0.0.1"}).has_value());
  CHECK_FALSE(parse_client_args({"127.0.0.1", "60x"}).has_value());
  CHECK_FALSE(parse_client_args({"127.0.0.1", "70000"}).has_value());
  CHECK_FALSE(parse_client_args({"-z", "127.0.0.1", "1"}).has_value());
}

TEST_CASE("the client's -c needs no address") {
  auto r = parse_client_args({"-c"});
  REQUIRE(r.has_value());
  CHECK(std::get<client_options>(*r).print_colors);
}

TEST_CASE("a long option is named whole; options before \"new\" say that new is expected") {
  CHECK(server_error({"new", "--bogus"}) == "unknown option --bogus");
  CHECK(server_error({"-p", "0"}) == "expected \"new\" before -p: mosh2-server new [options] [-- command...]");
  CHECK(parse_client_args({"--bogus"}).error() == "unknown option --bogus");
}

TEST_CASE("a port that is not a number says so, not that it is out of range") {
  CHECK(parse_port_range("abc").error() == "Bad UDP port range (abc): \"abc\" is not a number");
  CHECK(parse_port_range("1:x").error() == "Bad UDP port range (1:x): \"x\" is not a number");
  CHECK(parse_port_range("99999999999999999999").error().find("[0..65535]") != std::string::npos);
}

TEST_CASE("the client needs a numeric address: a host name is a bad command line") {
  CHECK(parse_client_args({"localhost", "60001"}).error() ==
        "bad IP address \"localhost\" (a numeric IPv4 or IPv6 address is needed)");
  CHECK(parse_client_args({"::1", "60001"}).has_value());
}
}

TEST_CASE("new --relay-end asks for the relays' end token; without it there is none") {
  CHECK(server({"new", "--relay-end", "--", "sh"}).relay_end);
  CHECK_FALSE(server({"new"}).relay_end);
  CHECK(server({"new", "--", "prog", "--relay-end"}).command == std::vector<std::string>{"prog", "--relay-end"});
  CHECK_FALSE(server({"new", "--", "prog", "--relay-end"}).relay_end);
  CHECK(server_error({"--relay-end"}).find("expected \"new\"") != std::string::npos);
}

TEST_CASE("relay --end-token-stdin reads the token from standard input; argv never holds it") {
  auto with = parse_relay_args({"relay", "10.0.0.2", "60001", "--end-token-stdin"});
  REQUIRE(with);
  CHECK(with->end_token_stdin);
  auto without = parse_relay_args({"relay", "10.0.0.2", "60001"});
  REQUIRE(without);
  CHECK_FALSE(without->end_token_stdin);
  CHECK_FALSE(parse_relay_args({"relay", "10.0.0.2", "60001", "--end-token", "00112233445566778899aabbccddeeff"}));
}

// The launcher's decisions around its processes: prediction mode, locale, the
// bootstrap's and the client's environment, the server's address, the failure record;
// and the order of a host's addresses for --family.

#include <netinet/in.h>
#include <sys/socket.h>

#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "mosh2/launcher/address_choice.hpp"
#include "mosh2/launcher/session_plan.hpp"

using namespace mosh2::launcher;
using mosh2::os::environment_of;

namespace {
launcher_options options(std::vector<std::string> args) {
  auto r = parse_launcher_args(args);
  REQUIRE(r.has_value());
  return std::get<launcher_options>(*r);
}

std::string value_of(const mosh2::os::child_setup& s, const std::string& name) {
  for (const auto& [n, v] : s.set)
    if (n == name) return v;
  return "(unset)";
}

mosh2::os::resolved_address address(int family, const std::string& numeric) {
  mosh2::os::resolved_address a;
  a.family = family;
  a.numeric = numeric;
  return a;
}

std::vector<std::string> numerics(const std::vector<mosh2::os::resolved_address>& v) {
  std::vector<std::string> out;
  for (const auto& a : v) out.push_back(a.numeric);
  return out;
}
}  // namespace

TEST_SUITE("launcher") {
TEST_CASE("--predict beats MOSH_PREDICTION_DISPLAY, which beats adaptive; a bad variable is an error") {
  CHECK(*prediction_mode(options({"h"}), environment_of({})) == "adaptive");
  CHECK(*prediction_mode(options({"h"}), environment_of({{"MOSH_PREDICTION_DISPLAY", "never"}})) == "never");
  CHECK(*prediction_mode(options({"h"}), environment_of({{"MOSH_PREDICTION_DISPLAY", ""}})) == "adaptive");
  CHECK(*prediction_mode(options({"-a", "h"}), environment_of({{"MOSH_PREDICTION_DISPLAY", "never"}})) == "always");
  auto bad = prediction_mode(options({"-a", "h"}), environment_of({{"MOSH_PREDICTION_DISPLAY", "sometimes"}}));
  REQUIRE_FALSE(bad);
  CHECK(bad.error() == "unknown MOSH_PREDICTION_DISPLAY \"sometimes\" (adaptive, always, never or experimental)");
}

TEST_CASE("the locale variables that are set go to the server in the stock order") {
  const auto v = locale_variables(environment_of({{"LC_ALL", "de_DE.UTF-8"}, {"LANG", "C.UTF-8"}, {"HOME", "/x"}}));
  CHECK(v == std::vector<std::pair<std::string, std::string>>{{"LANG", "C.UTF-8"}, {"LC_ALL", "de_DE.UTF-8"}});
}

TEST_CASE("the bootstrap child: --local drops SSH_CONNECTION and starts in HOME; ssh gets a POSIX SHELL") {
  const auto local = bootstrap_setup(options({"--local"}), std::string("/home/u"));
  CHECK(local.unset == std::vector<std::string>{"MOSH_PREDICTION_DISPLAY", "SSH_CONNECTION"});
  CHECK(value_of(local, "MOSH2_FIRST_CONTACT_TIMEOUT") == "20");
  CHECK(local.directory == "/home/u");
  const auto ssh = bootstrap_setup(options({"h"}), std::string("/home/u"));
  CHECK(ssh.unset == std::vector<std::string>{"MOSH_PREDICTION_DISPLAY"});
  CHECK(value_of(ssh, "SHELL") == "/bin/sh");
  CHECK_FALSE(ssh.directory);
}

TEST_CASE("the client's argv and environment follow the options") {
  const connect_line c{"60001", "4NeCCgvZFe2RnPgrcU1PQw"};
  const auto plain = client_launch_for(options({"h"}), "mosh2-client", "adaptive", "192.0.2.1", c, 42);
  CHECK(plain.argv == std::vector<std::string>{"mosh2-client", "-# mosh2 h |", "192.0.2.1", "60001"});
  CHECK(value_of(plain.setup, "MOSH_KEY") == "4NeCCgvZFe2RnPgrcU1PQw");
  CHECK(value_of(plain.setup, "MOSH_PREDICTION_DISPLAY") == "adaptive");
  CHECK(value_of(plain.setup, "MOSH_CLIENT_PID") == "42");
  CHECK(value_of(plain.setup, "MOSH_PREDICTION_OVERWRITE") == "(unset)");
  CHECK(value_of(plain.setup, "MOSH_NO_TERM_INIT") == "(unset)");
  CHECK(value_of(plain.setup, "MOSH2_ALLOW_NO_TTY") == "(unset)");
  const auto all = client_launch_for(options({"-o", "--no-init", "--allow-no-tty", "h"}), "c", "never", "::1", c, 1);
  CHECK(value_of(all.setup, "MOSH_PREDICTION_OVERWRITE") == "yes");
  CHECK(value_of(all.setup, "MOSH_NO_TERM_INIT") == "1");
  CHECK(value_of(all.setup, "MOSH2_ALLOW_NO_TTY") == "1");
  // Only when asked: a stock mosh-client (--client) knows no --no-history.
  const auto no_history = client_launch_for(options({"--no-history", "h"}), "c", "never", "::1", c, 1);
  CHECK(no_history.argv == std::vector<std::string>{"c", "--no-history", "-# mosh2 --no-history h |", "::1", "60001"});
  // Over ssh the client's advice about UDP may say ssh reached the host; --local says nothing.
  CHECK(value_of(plain.setup, "MOSH2_SSH_HOST") == "h");
  CHECK(value_of(plain.setup, "MOSH2_UDP_TIMEOUT") == "(unset)");
  const auto timed = client_launch_for(options({"--udp-timeout=9s", "me@box"}), "c", "never", "::1", c, 1);
  CHECK(value_of(timed.setup, "MOSH2_UDP_TIMEOUT") == "9s");
  CHECK(value_of(timed.setup, "MOSH2_SSH_HOST") == "box");
  const auto local = client_launch_for(options({"--local", "127.0.0.1"}), "c", "never", "127.0.0.1", c, 1);
  CHECK(value_of(local.setup, "MOSH2_SSH_HOST") == "(unset)");
}

TEST_CASE("the server's address: known first, then the remote shell's in remote mode, then the proxy's") {
  startup_reader both;
  both.feed("MOSH IP 192.0.2.7\nMOSH SSH_CONNECTION 10.0.0.1 5555 10.0.0.9 22\n");
  CHECK(*server_address(options({"h"}), std::string("127.0.0.1"), both) == "127.0.0.1");
  CHECK(*server_address(options({"h"}), std::nullopt, both) == "192.0.2.7");
  CHECK(*server_address(options({"--experimental-remote-ip=remote", "h"}), std::nullopt, both) == "10.0.0.9");
  startup_reader none;
  CHECK(server_address(options({"h"}), std::nullopt, none).error() ==
        "did not learn the server's IP address (is ssh's ProxyCommand disabled?)");
  CHECK(server_address(options({"--experimental-remote-ip=remote", "h"}), std::nullopt, none).error() ==
        "the remote shell did not print its SSH_CONNECTION (try --experimental-remote-ip=proxy)");
}

TEST_CASE("the failure record names the host, the ssh words and the command to check") {
  startup_reader r;
  r.feed("Permission denied\n");
  bootstrap_end end;
  end.status = 255;
  const auto f = failure_of(options({"--ssh=ssh -p 2222", "u@box"}), "mosh2-server", "u@box", r, end);
  CHECK(f.host == "box");
  CHECK(f.ssh == "ssh -p 2222");
  CHECK(f.check == "ssh -p 2222 u@box");
  CHECK(f.proxy_used);
  CHECK_FALSE(f.reached_host);
  CHECK(f.printed_anything);
  CHECK(describe(f) == "ssh -p 2222 failed (exit status 255) before connecting to box; "
                       "check that `ssh -p 2222 u@box` works");
  const auto local = failure_of(options({"--local"}), "mosh2-server", "", r, end);
  CHECK(local.local);
  CHECK(local.check.empty());
}

TEST_CASE("--local's server: the --server words, then the server's arguments") {
  CHECK(*local_server_argv(options({"--local", "--server=env A=1 /x/server"}), "/d/server", {"new", "-c", "8"}) ==
        std::vector<std::string>{"env", "A=1", "/x/server", "new", "-c", "8"});
  CHECK(*local_server_argv(options({"--local"}), "/d/server", {"new"}) == std::vector<std::string>{"/d/server", "new"});
  CHECK(local_server_argv(options({"--local", "--server=\"a"}), "/d/server", {}).error() == "bad --server command");
}

TEST_CASE("--family orders a host's addresses, and auto refuses a dual-stack host") {
  const std::vector<mosh2::os::resolved_address> found{address(AF_INET6, "::1"), address(AF_INET, "127.0.0.1"),
                                                       address(AF_INET6, "::2")};
  CHECK(numerics(*order_addresses(found, address_family::prefer_inet, "h")) ==
        std::vector<std::string>{"127.0.0.1", "::1", "::2"});
  CHECK(numerics(*order_addresses(found, address_family::prefer_inet6, "h")) ==
        std::vector<std::string>{"::1", "::2", "127.0.0.1"});
  CHECK(numerics(*order_addresses(found, address_family::all, "h")) ==
        std::vector<std::string>{"::1", "127.0.0.1", "::2"});
  CHECK(order_addresses(found, address_family::auto_detect, "h").error() ==
        "h has both IPv4 and IPv6 addresses; --family=auto needs a single-family host (use -4, -6 or --family=all)");
  CHECK(order_addresses({address(AF_INET, "10.0.0.1")}, address_family::auto_detect, "h"));
  CHECK(order_addresses({}, address_family::inet, "h").error() == "could not resolve h: no usable address");
  CHECK(resolver_family(address_family::inet) == AF_INET);
  CHECK(resolver_family(address_family::inet6) == AF_INET6);
  CHECK(resolver_family(address_family::prefer_inet6) == AF_UNSPEC);
}
}

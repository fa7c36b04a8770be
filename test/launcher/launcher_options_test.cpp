// Command line of the mosh2 launcher, as the stock `mosh` wrapper accepts it.

#include <doctest/doctest.h>

#include "mosh2/launcher/launcher_options.hpp"
#include "parsed_launcher.hpp"
#include "mosh2/launcher/server_command.hpp"

using namespace mosh2::launcher;
using mosh2::test::launcher;

namespace {
std::string launcher_error(std::vector<std::string> args) {
  auto r = parse_launcher_args(args);
  REQUIRE_FALSE(r.has_value());
  return r.error();
}
}  // namespace

TEST_SUITE("launcher") {
TEST_CASE("the launcher's defaults: ssh, mosh2-server, bind to the ssh address, prefer IPv4") {
  auto o = launcher({"user@example.org"});
  CHECK(o.host == "user@example.org");
  CHECK(o.ssh == std::vector<std::string>{"ssh"});
  CHECK_FALSE(o.server.has_value());
  CHECK(o.client.empty());
  CHECK(o.bind == launcher_options::bind_mode::ssh);
  CHECK(o.family == address_family::prefer_inet);
  CHECK(o.ssh_pty);
  CHECK_FALSE(o.predict.has_value());
  CHECK(o.command.empty());
}

TEST_CASE("long options take =VALUE or the next word; short flags bundle") {
  auto o = launcher({"--client=/x/c", "--server", "env A=1 mosh2-server", "--ssh=ssh -F '/tmp/my cfg' -p 2222",
                     "-ao4", "-p60010:60020", "--bind-server=any", "--no-init", "host", "--", "ls", "-l"});
  CHECK(o.client == "/x/c");
  CHECK(o.server == "env A=1 mosh2-server");
  CHECK(o.ssh == std::vector<std::string>{"ssh", "-F", "/tmp/my cfg", "-p", "2222"});
  CHECK(o.predict == "always");
  CHECK(o.predict_overwrite);
  CHECK(o.family == address_family::inet);
  CHECK(o.ports == "60010:60020");
  CHECK(o.bind == launcher_options::bind_mode::any);
  CHECK(o.no_init);
  CHECK(o.host == "host");
  CHECK(o.command == std::vector<std::string>{"ls", "-l"});
}

TEST_CASE("options may follow the host; they end at -- or at the command's first word") {
  auto o = launcher({"-n", "host", "echo", "-a"});
  CHECK(o.predict == "never");
  CHECK(o.command == std::vector<std::string>{"echo", "-a"});
  CHECK(launcher({"--", "host"}).host == "host");

  auto after = launcher({"box", "-p", "60123"});
  CHECK(after.host == "box");
  CHECK(after.ports == "60123");
  CHECK(after.command.empty());
  auto both = launcher({"box", "-a", "--idle-timeout=1h", "top", "-d", "1"});
  CHECK(both.predict == "always");
  CHECK(both.idle_timeout == "1h");
  CHECK(both.command == std::vector<std::string>{"top", "-d", "1"});
  auto dashed = launcher({"box", "-p", "0", "--", "-p", "1"});
  CHECK(dashed.ports == "0");
  CHECK(dashed.command == std::vector<std::string>{"-p", "1"});
  // A "--" before the host ends every option.
  auto ended = launcher({"--", "box", "-p", "1"});
  CHECK_FALSE(ended.ports);
  CHECK(ended.command == std::vector<std::string>{"-p", "1"});
  CHECK(launcher_error({"box", "--bogus"}) == "unknown option --bogus");
  CHECK(launcher_error({"box", "-p", "x"}) == "Bad UDP port range (x): \"x\" is not a number");
  auto local = launcher({"--local", "127.0.0.1", "-p", "0"});
  CHECK(local.host == "127.0.0.1");
  CHECK(local.ports == "0");
}

TEST_CASE("--idle-timeout is checked here and passed on as typed") {
  CHECK(launcher({"--idle-timeout", "90s", "h"}).idle_timeout == "90s");
  CHECK_FALSE(launcher({"h"}).idle_timeout);
  CHECK(launcher_error({"--idle-timeout", "soon", "h"}) ==
        "--idle-timeout: bad duration \"soon\": a number must come before each unit (expected e.g. 90s, 12h, 7d)");
  CHECK(launcher_error({"h", "--idle-timeout"}) == "option --idle-timeout needs a value");
}

TEST_CASE("--history is checked here and passed on as typed; --no-history is the client's") {
  CHECK(launcher({"--history", "500", "h"}).history == "500");
  CHECK(launcher({"--history=0", "h"}).history == "0");
  CHECK_FALSE(launcher({"h"}).history);
  CHECK(launcher_error({"--history", "lots", "h"}) ==
        "--history: \"lots\" is not a number of lines from 0 to 1000000");
  CHECK(launcher({"--no-history", "h"}).no_history);
  CHECK_FALSE(launcher({"h"}).no_history);
  CHECK(server_arguments(launcher({"--history", "20", "h"}), 8, {}) ==
        std::vector<std::string>{"new", "-c", "8", "-s", "--history", "20"});
}

TEST_CASE("-J and --jump take jump hosts, a comma list in order, each checked like a host") {
  CHECK(launcher({"-J", "me@bastion:2222", "h"}).jumps == std::vector<std::string>{"me@bastion:2222"});
  CHECK(launcher({"-Jbastion", "h"}).jumps == std::vector<std::string>{"bastion"});
  CHECK(launcher({"--jump=a,b", "h"}).jumps == std::vector<std::string>{"a", "b"});
  CHECK(launcher({"h"}).jumps.empty());
  CHECK(launcher_error({"-J", "a,,b", "h"}) == "-J: empty jump host in \"a,,b\"");
  CHECK(launcher_error({"-J", "-oProxyCommand=x", "h"}).rfind("-J: bad host", 0) == 0);
  CHECK(launcher_error({"h", "-J"}) == "option -J needs a value");
}

TEST_CASE("--transport takes udp, tcp or auto (the default)") {
  CHECK(launcher({"h"}).transport == "auto");
  CHECK(launcher({"--transport=tcp", "h"}).transport == "tcp");
  CHECK(launcher_error({"--transport=quic", "h"}) == "unknown --transport \"quic\" (udp, tcp or auto)");
}

TEST_CASE("--udp-timeout is checked here and passed on as typed") {
  CHECK(launcher({"--udp-timeout=3s", "h"}).udp_timeout == "3s");
  CHECK_FALSE(launcher({"h"}).udp_timeout);
  CHECK(launcher_error({"--udp-timeout=0", "h"}).rfind("--udp-timeout: ", 0) == 0);
  CHECK(launcher_error({"h", "--udp-timeout"}) == "option --udp-timeout needs a value");
}

TEST_CASE("--family, --predict and --bind-server words") {
  CHECK(launcher({"--family=inet6", "h"}).family == address_family::inet6);
  CHECK(launcher({"-6", "h"}).family == address_family::inet6);
  CHECK(launcher({"--family=auto", "h"}).family == address_family::auto_detect);
  CHECK(launcher({"--family=all", "h"}).family == address_family::all);
  CHECK(launcher({"--family=prefer-inet6", "h"}).family == address_family::prefer_inet6);
  CHECK(launcher({"--predict=experimental", "h"}).predict == "experimental");
  auto o = launcher({"--bind-server=10.1.2.3", "h"});
  CHECK(o.bind == launcher_options::bind_mode::address);
  CHECK(o.bind_address == "10.1.2.3");
  CHECK(launcher({"--bind-server=::1", "h"}).bind_address == "::1");
}

TEST_CASE("--local defaults to 127.0.0.1 and needs a numeric address") {
  auto o = launcher({"--local"});
  CHECK(o.local);
  CHECK(o.host == "127.0.0.1");
  CHECK(launcher({"--local", "::1", "--", "top"}).command == std::vector<std::string>{"top"});
  CHECK(launcher_error({"--local", "localhost"}).find("numeric") != std::string::npos);
  auto no_host = launcher({"--local", "--", "/bin/sh", "-l"});
  CHECK(no_host.host == "127.0.0.1");
  CHECK(no_host.command == std::vector<std::string>{"/bin/sh", "-l"});
  auto with_host = launcher({"--local", "--", "127.0.0.1", "--", "/bin/sh"});
  CHECK(with_host.host == "127.0.0.1");
  CHECK(with_host.command == std::vector<std::string>{"/bin/sh"});
}

TEST_CASE("--fake-proxy takes HOST PORT") {
  auto o = launcher({"--family=inet", "--fake-proxy", "--", "example.org", "22"});
  CHECK(o.fake_proxy);
  CHECK(o.host == "example.org");
  CHECK(o.proxy_port == "22");
  CHECK_FALSE(parse_launcher_args({"--fake-proxy", "--", "h"}).has_value());
}

TEST_CASE("bad command lines are one-line errors") {
  CHECK(launcher_error({"--bogus", "h"}) == "unknown option --bogus");
  CHECK(launcher_error({"-x", "h"}) == "unknown option -x");
  CHECK(launcher_error({"--predict=sometimes", "h"}).find("sometimes") != std::string::npos);
  CHECK(launcher_error({"--family=ipx", "h"}).find("ipx") != std::string::npos);
  CHECK(launcher_error({"--bind-server=example.org", "h"}).find("numeric") != std::string::npos);
  CHECK(launcher_error({"-p", "5:3", "h"}).find("greater than") != std::string::npos);
  CHECK(launcher_error({"-p70000", "h"}).find("65535") != std::string::npos);
  CHECK(launcher_error({"--ssh=ssh 'unterminated", "h"}).find("quote") != std::string::npos);
  CHECK(launcher_error({"--no-init=yes", "h"}).find("no value") != std::string::npos);
  CHECK(launcher_error({"--client"}).find("needs a value") != std::string::npos);
  CHECK(launcher_error({}).find("no host") != std::string::npos);
  CHECK(launcher_error({"--", "-oProxyCommand=x"}) == "bad host \"-oProxyCommand=x\": it must not start with -");
  CHECK(launcher_error({"--experimental-remote-ip=dns", "h"}) ==
        "unknown --experimental-remote-ip \"dns\" (proxy, local or remote)");
  for (const auto& args : std::vector<std::vector<std::string>>{{"--bogus"}, {"-p", "x", "h"}, {}})
    CHECK(launcher_error(args).find('\n') == std::string::npos);
}

TEST_CASE("--help and --version win") {
  CHECK(std::holds_alternative<show_help>(*parse_launcher_args({"-a", "--help"})));
  CHECK(std::holds_alternative<show_help>(*parse_launcher_args({"-h"})));
  CHECK(std::holds_alternative<show_help>(*parse_launcher_args({"-ah", "host"})));
  CHECK(std::holds_alternative<show_version>(*parse_launcher_args({"--version"})));
}

TEST_CASE("split_command splits on blanks and honours quotes and backslashes") {
  CHECK(*split_command("  ssh   -p 22 ") == std::vector<std::string>{"ssh", "-p", "22"});
  CHECK(*split_command(R"(a "b c" 'd "e"' f\ g "")") == std::vector<std::string>{"a", "b c", "d \"e\"", "f g", ""});
  CHECK_FALSE(split_command("\"open").has_value());
}

TEST_CASE("a host or user name with characters ssh would not accept is refused before ssh sees it") {
  CHECK(launcher_error({"a$(touch /tmp/x)"}) ==
        "bad host \"a$(touch /tmp/x)\": only letters, digits and . _ : % @ [ ] - are allowed in a user or host name");
  CHECK(launcher_error({"us;er@host"}).find("bad host") == 0);
  CHECK(launcher_error({"host name"}).find("bad host") == 0);
  CHECK(launcher_error({"h`id`"}).find("bad host") == 0);
  CHECK(launcher_error({"--", "-h"}).find("must not start with -") != std::string::npos);
  for (const char* good : {"user@example.org", "my_user@host-1.example", "[::1]", "fe80::1%eth0", "x@10.0.0.1"})
    CHECK(launcher({good}).host == good);
  CHECK_FALSE(check_destination("a.b-c_d:1%2@[e]").has_value());
}

TEST_CASE("--experimental-remote-ip picks how the server's address is learned") {
  CHECK(launcher({"h"}).remote_ip == remote_ip_mode::proxy);
  CHECK(launcher({"--experimental-remote-ip=local", "h"}).remote_ip == remote_ip_mode::local);
  CHECK(launcher({"--experimental-remote-ip", "remote", "h"}).remote_ip == remote_ip_mode::remote);
  CHECK(launcher({"--experimental-remote-ip=proxy", "h"}).remote_ip == remote_ip_mode::proxy);
}

TEST_CASE("--allow-no-tty is off unless given") {
  CHECK_FALSE(launcher({"h"}).allow_no_tty);
  CHECK(launcher({"--allow-no-tty", "h"}).allow_no_tty);
}
}

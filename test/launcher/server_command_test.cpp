// The server's arguments and the ssh command line the launcher builds around them.

#include <doctest/doctest.h>

#include "mosh2/launcher/server_command.hpp"
#include "mosh2/launcher/startup_output.hpp"

using namespace mosh2::launcher;

namespace {
launcher_options parse(std::vector<std::string> args) {
  auto r = parse_launcher_args(args);
  REQUIRE(r.has_value());
  return std::get<launcher_options>(*r);
}
}  // namespace

TEST_SUITE("launcher") {
TEST_CASE("the server gets new -c, -s, the port, the locale and the command, in the stock order") {
  auto o = parse({"-p", "60010", "host", "--", "ls", "-l"});
  CHECK(server_arguments(o, 256, {{"LANG", "C.UTF-8"}, {"LC_ALL", "de_DE.UTF-8"}}) ==
        std::vector<std::string>{"new", "-c", "256", "-s", "-p", "60010", "-l", "LANG=C.UTF-8", "-l",
                                 "LC_ALL=de_DE.UTF-8", "--", "ls", "-l"});
  CHECK(server_arguments(parse({"--bind-server=any", "h"}), 8, {}) == std::vector<std::string>{"new", "-c", "8"});
  CHECK(server_arguments(parse({"--bind-server=10.0.0.1", "h"}), 0, {}) ==
        std::vector<std::string>{"new", "-c", "0", "-i", "10.0.0.1"});
  CHECK(server_arguments(parse({"--local", "::1"}), 0, {}) == std::vector<std::string>{"new", "-c", "0", "-i", "::1"});
}

TEST_CASE("--idle-timeout goes to the server after new, before the locale and the command") {
  CHECK(server_arguments(parse({"--idle-timeout=12h", "-p", "0", "h", "--", "top"}), 8, {{"LANG", "C.UTF-8"}}) ==
        std::vector<std::string>{"new", "-c", "8", "-s", "-p", "0", "--idle-timeout", "12h", "-l", "LANG=C.UTF-8",
                                 "--", "top"});
}

TEST_CASE("the remote command quotes every argument and asks for a short first-contact window") {
  auto o = parse({"host"});
  CHECK(remote_command(o, {"new", "-c", "8", "--", "echo", "it's"}) ==
        "env MOSH2_FIRST_CONTACT_TIMEOUT=20 MOSH2_REPORT_DETACHED=1 mosh2-server 'new' '-c' '8' '--' 'echo' 'it'\\''s'");
  CHECK(remote_command(parse({"--server=env A=1 /opt/mosh-server", "h"}), {"new"}) ==
        "env MOSH2_FIRST_CONTACT_TIMEOUT=20 MOSH2_REPORT_DETACHED=1 env A=1 /opt/mosh-server 'new'");
}

TEST_CASE("--experimental-remote-ip=remote prints $SSH_CONNECTION through sh before the server starts") {
  auto o = parse({"--experimental-remote-ip=remote", "host"});
  const auto cmd = remote_command(o, {"new"});
  CHECK(cmd.rfind("'sh' -c '[ -n \"$SSH_CONNECTION\" ] && printf '\\''\\nMOSH SSH_CONNECTION %s\\n'\\'' "
                  "\"$SSH_CONNECTION\"' ; env ", 0) == 0);
  CHECK(cmd.find("mosh2-server 'new'") != std::string::npos);
}

TEST_CASE("ssh runs with -n -tt and our ProxyCommand, unless the address is learned another way") {
  auto o = parse({"--ssh=ssh -p 2222", "-6", "u@h"});
  CHECK(ssh_argv(o, "/usr/bin/mosh2", "u@h", "REMOTE") ==
        std::vector<std::string>{"ssh", "-p", "2222", "-n", "-tt", "-S", "none", "-o",
                                 "ProxyCommand='/usr/bin/mosh2' --family=inet6 --fake-proxy -- %h %p", "u@h", "--",
                                 "REMOTE"});
  auto local = parse({"--experimental-remote-ip=local", "--no-ssh-pty", "u@h"});
  CHECK(ssh_argv(local, "/x", "u@127.0.0.1", "R") == std::vector<std::string>{"ssh", "-n", "u@127.0.0.1", "--", "R"});
  auto remote = parse({"--experimental-remote-ip=remote", "h"});
  CHECK(ssh_argv(remote, "/x", "h", "R") == std::vector<std::string>{"ssh", "-n", "-tt", "h", "--", "R"});
}

TEST_CASE("the host part of user@host and putting an address in its place") {
  CHECK(host_part("u@h") == "h");
  CHECK(host_part("a@b@c") == "c");
  CHECK(host_part("h") == "h");
  CHECK(with_host("u@h", "::1") == "u@::1");
  CHECK(with_host("h", "10.0.0.2") == "10.0.0.2");
}
}

TEST_SUITE("launcher") {
TEST_CASE("the command a failure tells the user to check is what ssh was given, user and family included") {
  CHECK(ssh_check_command(parse({"--ssh=ssh -o BatchMode=yes", "nosuchuser@box"}), "nosuchuser@box") ==
        "ssh -o BatchMode=yes nosuchuser@box");
  CHECK(ssh_check_command(parse({"-6", "box"}), "box") == "ssh -6 box");
  CHECK(ssh_check_command(parse({"-4", "box"}), "box") == "ssh -4 box");
  CHECK(ssh_check_command(parse({"--family=all", "box"}), "box") == "ssh box");
  CHECK(ssh_check_command(parse({"--ssh=ssh -F '/tmp/my cfg'", "u@box"}), "u@10.0.0.1") ==
        "ssh -F '/tmp/my cfg' u@10.0.0.1");
}

TEST_CASE("a failure's hint uses that command") {
  startup_failure f{false, "box", "ssh -o BatchMode=yes", "mosh2-server", true, true, true};
  f.status = 255;
  f.check = "ssh -o BatchMode=yes nosuchuser@box";
  CHECK(describe(f) == "ssh -o BatchMode=yes failed (exit status 255) while talking to box; "
                       "check that `ssh -o BatchMode=yes nosuchuser@box` works");
}
}

TEST_CASE("the stream's ssh: no pty, no questions, the relay to the server's port") {
  auto o = parse({"--ssh=ssh -F cfg", "-4", "me@h"});
  CHECK(stream_ssh_argv(o, "me@h", "60001") ==
        std::vector<std::string>{"ssh", "-F", "cfg", "-T", "-o", "BatchMode=yes", "-4", "me@h", "--",
                                 "mosh2-server stream-relay '60001'"});
  auto bound = parse({"--bind-server=10.0.0.5", "--server=/opt/m2s", "h"});
  CHECK(stream_ssh_argv(bound, "h", "60002").back() == "/opt/m2s stream-relay '60002' '10.0.0.5'");
}

TEST_CASE("the ProxyJump in ssh -G's output") {
  CHECK(proxy_jump_of("user root\nproxyjump me@bastion:2222\nport 22\n") == "me@bastion:2222");
  CHECK(proxy_jump_of("user root\r\nproxyjump a,b\r\n") == "a,b");
  CHECK_FALSE(proxy_jump_of("user root\nport 22\n"));
  CHECK_FALSE(proxy_jump_of("proxyjump none\n"));
  CHECK_FALSE(proxy_jump_of(""));
}

TEST_CASE("only mosh2-server is given stream-relay and relay") {
  CHECK(names_mosh2_server("mosh2-server"));
  CHECK(names_mosh2_server("/opt/bin/mosh2-server -v"));
  CHECK_FALSE(names_mosh2_server("mosh-server"));
  CHECK_FALSE(names_mosh2_server("/usr/bin/mosh-server"));
  CHECK_FALSE(names_mosh2_server("env X=1 mosh2-server"));  // unsure: keep to UDP
}

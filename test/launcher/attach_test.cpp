// The launcher's side of attaching: --attach[=ID|NAME], --name and --no-detached-notice
// on the command line, the server's arguments and environment they give, and the
// `MOSH2 DETACHED` line of mosh2-server new turned into the notice.

#include <doctest/doctest.h>

#include "mosh2/launcher/launcher_options.hpp"
#include "parsed_launcher.hpp"
#include "mosh2/launcher/server_command.hpp"
#include "mosh2/launcher/session_plan.hpp"
#include "mosh2/launcher/startup_output.hpp"

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

TEST_CASE("--attach takes its value only after =; the next word stays the host") {
  auto plain = launcher({"--attach", "host"});
  CHECK(plain.attach);
  CHECK_FALSE(plain.attach_to);
  CHECK(plain.host == "host");
  CHECK(server_arguments(plain, 256, {}) == std::vector<std::string>{"attach"});
  auto named = launcher({"host", "--attach=work"});
  CHECK(named.attach);
  CHECK(named.attach_to == "work");
  CHECK(server_arguments(named, 256, {{"LANG", "C.UTF-8"}}) == std::vector<std::string>{"attach", "work"});
  CHECK(server_arguments(launcher({"--attach=4121", "h"}), 8, {}) == std::vector<std::string>{"attach", "4121"});
  CHECK(launcher_error({"--attach=", "h"}).find("--attach=") == 0);
  CHECK(launcher_error({"--attach=a b", "h"}).find("neither a session id nor a session name") != std::string::npos);
  CHECK(launcher_error({"--attach", "h", "--", "top"}) == "--attach resumes a session and takes no command");
  CHECK(launcher_error({"--attach", "--name=x", "h"}) == "--attach and --name exclude each other");
}

TEST_CASE("--name is checked here and passed to mosh2-server new") {
  auto o = launcher({"--name", "work", "host", "--", "top"});
  const auto args = server_arguments(o, 256, {});
  CHECK(args == std::vector<std::string>{"new", "-c", "256", "-s", "--name", "work", "--", "top"});
  CHECK(launcher({"--name=a.b_c-1", "h"}).name == "a.b_c-1");
  CHECK(launcher_error({"--name=123", "h"}).find("all digits") != std::string::npos);
  CHECK(launcher_error({"--name=-x", "h"}).find("cannot start with '-'") != std::string::npos);
  CHECK(launcher_error({"--name=a/b", "h"}).find("only letters") != std::string::npos);
  CHECK(launcher_error({"--name=" + std::string(33, 'a'), "h"}).find("at most 32") != std::string::npos);
}

TEST_CASE("a new session asks the server for its detached sessions unless told not to") {
  const auto with = remote_command(launcher({"h"}), {"new"});
  CHECK(with.find("MOSH2_REPORT_DETACHED=1 mosh2-server 'new'") != std::string::npos);
  CHECK(remote_command(launcher({"--no-detached-notice", "h"}), {"new"}).find("MOSH2_REPORT_DETACHED") ==
        std::string::npos);
  CHECK(remote_command(launcher({"--attach", "h"}), {"attach"}).find("MOSH2_REPORT_DETACHED") == std::string::npos);
  const auto local = bootstrap_setup(launcher({"--local"}), std::nullopt);
  CHECK(std::count(local.set.begin(), local.set.end(), std::pair<std::string, std::string>{"MOSH2_REPORT_DETACHED", "1"}) ==
        1);
  const auto quiet = bootstrap_setup(launcher({"--local", "--no-detached-notice"}), std::nullopt);
  for (const auto& [name, value] : quiet.set) CHECK(name != "MOSH2_REPORT_DETACHED");
}

TEST_CASE("mosh2-server's --name comes after new; attach takes at most one id or name") {
  using namespace mosh2::os;
  auto named = parse_server_args({"new", "--name", "work", "-p", "0", "--", "top"});
  REQUIRE(named);
  CHECK(std::get<server_options>(*named).name == "work");
  CHECK(std::get<server_options>(*named).command == std::vector<std::string>{"top"});
  auto eq = parse_server_args({"new", "--name=a-1"});
  REQUIRE(eq);
  CHECK(std::get<server_options>(*eq).name == "a-1");
  auto after = parse_server_args({"new", "--", "--name", "x"});  // the command's own words
  REQUIRE(after);
  CHECK(std::get<server_options>(*after).name.empty());
  CHECK_FALSE(parse_server_args({"--name", "x", "new"}));
  CHECK_FALSE(parse_server_args({"new", "--name"}));
  CHECK_FALSE(parse_server_args({"new", "--name", "12"}));

  auto none = parse_attach_args({});
  REQUIRE(none);
  CHECK_FALSE(std::get<attach_options>(*none).which);
  CHECK(std::get<attach_options>(*parse_attach_args({"4121"})).which == "4121");
  CHECK(std::get<attach_options>(*parse_attach_args({"work"})).which == "work");
  CHECK(std::holds_alternative<show_help>(*parse_attach_args({"--help"})));
  CHECK(parse_attach_args({"a", "b"}).error() == "attach takes at most one session (a process id or a name)");
  CHECK(parse_attach_args({"-x"}).error() == "attach: unknown option -x");
  CHECK_FALSE(parse_attach_args({"a/b"}));
}

TEST_CASE("MOSH2 DETACHED is read, not shown, and becomes one line") {
  startup_reader r;
  CHECK(r.feed("MOSH2 DETACHED work,4121\r\nhello\n").size() == 1);
  REQUIRE(r.detached());
  CHECK(*r.detached() == "work,4121");
  CHECK(detached_notice(*r.detached(), "box") == "2 detached sessions (work, 4121); mosh2 --attach box to resume one");
  CHECK(detached_notice("solo", "u@box") == "1 detached session (solo); mosh2 --attach u@box to resume it");
  CHECK(detached_notice("", "box").empty());
  CHECK(detached_notice(",", "box").empty());
  startup_reader none;
  (void)none.feed("MOSH CONNECT 60001 4NeCCgvZFe2RnPgrcU1PQw\n");
  CHECK_FALSE(none.detached());
}

}  // TEST_SUITE

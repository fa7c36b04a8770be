// What the programs read from the environment (through a lookup, so a map stands in
// for it), the line ending for a raw terminal, and starting other programs.

#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <string>

#include <doctest/doctest.h>

#include "mosh2/os/environment.hpp"
#include "mosh2/os/line_end.hpp"
#include "mosh2/os/options.hpp"
#include "mosh2/os/process.hpp"

using namespace mosh2::os;

TEST_SUITE("os") {
TEST_CASE("the server's variables: timeouts in whole seconds, the first-contact window, the input limit") {
  const auto none = read_server_environment(environment_of({}), 1234);
  CHECK_FALSE(none.network_timeout);
  CHECK_FALSE(none.signal_timeout);
  CHECK(none.first_contact == std::chrono::seconds(60));
  CHECK(none.input_limit == 1234);
  CHECK(none.warnings.empty());

  const auto set = read_server_environment(environment_of({{"MOSH_SERVER_NETWORK_TMOUT", "600"},
                                                           {"MOSH_SERVER_SIGNAL_TMOUT", " 30"},
                                                           {"MOSH2_FIRST_CONTACT_TIMEOUT", "20"},
                                                           {"MOSH2_INPUT_LIMIT", "64K"}}),
                                           1234);
  CHECK(set.network_timeout == std::chrono::seconds(600));
  CHECK(set.signal_timeout == std::chrono::seconds(30));
  CHECK(set.first_contact == std::chrono::seconds(20));
  CHECK(set.input_limit == 64 * 1024);
  CHECK(set.warnings.empty());
}

TEST_CASE("a bad server variable is ignored with the stock server's warning") {
  const auto bad = read_server_environment(environment_of({{"MOSH_SERVER_NETWORK_TMOUT", "10x"},
                                                           {"MOSH_SERVER_SIGNAL_TMOUT", "-5"},
                                                           {"MOSH2_FIRST_CONTACT_TIMEOUT", "0"},
                                                           {"MOSH2_INPUT_LIMIT", "1K"}}),
                                           1234);
  CHECK_FALSE(bad.network_timeout);
  CHECK_FALSE(bad.signal_timeout);
  CHECK(bad.first_contact == std::chrono::seconds(60));  // 0 means unset
  CHECK(bad.input_limit == 1234);
  REQUIRE(bad.warnings.size() == 3);
  CHECK(bad.warnings[0] == "MOSH_SERVER_NETWORK_TMOUT not a valid integer, ignoring");
  CHECK(bad.warnings[1] == "MOSH_SERVER_SIGNAL_TMOUT is negative, ignoring");
  CHECK(bad.warnings[2] == "mosh2-server: MOSH2_INPUT_LIMIT must be a size from 64K to 1G (e.g. 4M), not \"1K\"; "
                           "ignoring");
}

TEST_CASE("mosh2-client refuses without a terminal unless MOSH2_ALLOW_NO_TTY=1") {
  CHECK_FALSE(client_terminal_refusal(true, true, environment_of({})));
  const std::string why =
      "standard input and output must be a terminal (MOSH2_ALLOW_NO_TTY=1 runs the session anyway)";
  CHECK(client_terminal_refusal(false, true, environment_of({})) == why);
  CHECK(client_terminal_refusal(true, false, environment_of({})) == why);
  CHECK(client_terminal_refusal(false, false, environment_of({{"MOSH2_ALLOW_NO_TTY", "yes"}})) == why);
  CHECK_FALSE(client_terminal_refusal(false, false, environment_of({{"MOSH2_ALLOW_NO_TTY", "1"}})));
}

TEST_CASE("a raw terminal needs CR LF; a cooked one, a pipe or a file, LF") {
  CHECK(line_end(true, 0) == "\r\n");
  CHECK(line_end(true, OPOST) == "\r\n");
  CHECK(line_end(true, OPOST | ONLCR) == "\n");
  CHECK(line_end(false, 0) == "\n");
  int p[2];
  REQUIRE(::pipe(p) == 0);
  CHECK(line_end_of(p[1]) == "\n");
  ::close(p[0]);
  ::close(p[1]);
}

TEST_CASE("a spawned program's output and status come back; one that cannot run is a fatal_error") {
  child_setup setup;
  setup.set = {{"MOSH2_TEST_WORD", "hello"}};
  setup.unset = {"HOME"};
  auto c = spawn_with_output({"/bin/sh", "-c", "echo \"$MOSH2_TEST_WORD ${HOME-none}\"; echo err >&2; exit 3"},
                             setup);
  CHECK(read_output(c.output, 4096) == "hello none\nerr\n");
  ::close(c.output);
  const int status = wait_for(c.pid);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 3);
  CHECK(::getenv("MOSH2_TEST_WORD") == nullptr);  // the child's environment only

  try {
    spawn_with_output({"/nonexistent/mosh2-test-program"}, {});
    FAIL("no exception");
  } catch (const fatal_error& e) {
    CHECK(e.status == 1);
    CHECK(std::string(e.what()) == "cannot run /nonexistent/mosh2-test-program: No such file or directory");
  }
}

TEST_CASE("reap_within gives up on a child that keeps running, and the output read is bounded") {
  auto c = spawn_with_output({"/bin/sh", "-c", "head -c 100000 /dev/zero; exec sleep 30"}, {});
  CHECK(read_output(c.output, 1000).size() == 1000);
  CHECK_FALSE(reap_within(c.pid, 2, 10));
  ::kill(c.pid, SIGTERM);
  ::close(c.output);
  const int status = wait_for(c.pid);
  CHECK(WIFSIGNALED(status));
}
}

TEST_SUITE("os") {
TEST_CASE("read_until hands over chunks until told to stop, until end of file, or until its deadline") {
  using namespace std::chrono_literals;
  auto c = spawn_with_output({"/bin/sh", "-c", "printf abc; sleep 0.2; printf def; exec sleep 30"}, {});
  std::string got;
  auto end = read_until(c.output, std::chrono::steady_clock::now() + 60s, [&](std::string_view b) {
    got.append(b);
    return got.find("def") == std::string::npos;
  });
  CHECK(end == read_end::stopped);
  CHECK(got == "abcdef");
  CHECK(read_until(c.output, std::chrono::steady_clock::now() + 50ms, [](std::string_view) { return true; }) ==
        read_end::timed_out);
  ::kill(c.pid, SIGTERM);
  CHECK(read_until(c.output, std::chrono::steady_clock::now() + 60s, [](std::string_view) { return true; }) ==
        read_end::eof);
  ::close(c.output);
  wait_for(c.pid);
}
}

TEST_SUITE("os") {
TEST_CASE("the session's program: a login shell by default, the command after --, and its environment") {
  auto shell = parse_server_args({"new", "-c", "256"});
  REQUIRE(shell);
  const auto login = session_program(std::get<server_options>(*shell), "/usr/bin/zsh", {{"LANG", "C.UTF-8"}});
  CHECK(login.argv == std::vector<std::string>{"/usr/bin/zsh"});
  CHECK(login.argv0_override == "-zsh");
  CHECK(login.show_motd);
  CHECK(login.set_env == std::vector<std::pair<std::string, std::string>>{
                             {"TERM", "xterm-256color"}, {"NCURSES_NO_UTF8_ACS", "1"}, {"LANG", "C.UTF-8"}});
  CHECK(login.unset_env ==
        std::vector<std::string>{"STY", "MOSH_KEY", "MOSH2_FIRST_CONTACT_TIMEOUT", "MOSH2_INPUT_LIMIT"});

  auto command = parse_server_args({"new", "-c", "8", "--", "top", "-d", "1"});
  REQUIRE(command);
  const auto top = session_program(std::get<server_options>(*command), "", {});
  CHECK(top.argv == std::vector<std::string>{"top", "-d", "1"});
  CHECK(top.argv0_override.empty());
  CHECK_FALSE(top.show_motd);
  CHECK(top.set_env.front() == std::pair<std::string, std::string>{"TERM", "xterm"});
}
}

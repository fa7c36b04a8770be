// Finding the session's program (and the launcher's client) the way execvp will.

#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <string>

#include "mosh2/os/program_lookup.hpp"
#include "mosh2/os/terminfo.hpp"

using namespace mosh2::os;

namespace {
/// A fresh directory under /tmp with an executable `run`, a non-executable `plain` and a
/// directory `dir`; removed at the end.
struct scratch {
  std::string path;
  scratch() {
    char tmpl[] = "/tmp/mosh2-lookup-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    path = tmpl;
    std::ofstream(path + "/run") << "#!/bin/sh\n";
    std::ofstream(path + "/plain") << "x\n";
    REQUIRE(::chmod((path + "/run").c_str(), 0755) == 0);
    REQUIRE(::chmod((path + "/plain").c_str(), 0644) == 0);
    REQUIRE(::mkdir((path + "/dir").c_str(), 0755) == 0);
  }
  ~scratch() {
    ::unlink((path + "/run").c_str());
    ::unlink((path + "/plain").c_str());
    ::rmdir((path + "/dir").c_str());
    ::rmdir(path.c_str());
  }
};
}  // namespace

TEST_SUITE("os") {
TEST_CASE("a name with a slash is taken as it is, relative to the session's directory") {
  scratch s;
  CHECK(*find_program(s.path + "/run", std::nullopt, "/") == s.path + "/run");
  CHECK(*find_program("./run", std::nullopt, s.path) == s.path + "/./run");
  CHECK(find_program("/nonexistent/cmd", std::string("/bin"), "/").error() == ENOENT);
  CHECK(find_program(s.path + "/dir", std::nullopt, "/").error() == EACCES);
  // root may read any file but runs only what has an x bit: access(X_OK) says so too.
  CHECK(find_program(s.path + "/plain", std::nullopt, "/").error() == EACCES);
}

TEST_CASE("a bare name is searched in PATH, in order, as execvp does") {
  scratch s;
  CHECK(*find_program("run", "/nonexistent:" + s.path, "/") == s.path + "/run");
  CHECK(find_program("run", std::string("/nonexistent"), "/").error() == ENOENT);
  CHECK(*find_program("run", std::string(":/bin"), s.path) == s.path + "/run");  // empty element: cwd
  // A non-executable match is remembered, and is the reason when nothing else matches.
  CHECK(find_program("plain", s.path + ":/nonexistent", "/").error() == EACCES);
  CHECK(*find_program("sh", std::nullopt, "/") == "/bin/sh");  // unset PATH: /bin:/usr/bin
  CHECK(find_program("", std::string("/bin"), "/").error() == ENOENT);
}

TEST_CASE("the message names the program and the reason") {
  CHECK(cannot_run_message("/nonexistent/cmd", ENOENT) == "cannot run /nonexistent/cmd: No such file or directory");
  CHECK(cannot_run_message("x", EACCES) == "cannot run x: Permission denied");
}

TEST_CASE("terminfo: colours from the compiled entries, and errors for an unset or unknown TERM") {
  const auto dirs = terminfo_dirs(nullptr, nullptr, nullptr);
  CHECK(dirs == std::vector<std::string>{"/etc/terminfo", "/lib/terminfo", "/usr/share/terminfo"});
  CHECK(terminfo_dirs("/t", "/h", "/a::/b") ==
        std::vector<std::string>{"/t", "/h/.terminfo", "/a", "/etc/terminfo", "/lib/terminfo", "/usr/share/terminfo",
                                 "/b", "/etc/terminfo", "/lib/terminfo", "/usr/share/terminfo"});
  // Debian's ncurses-base ships these three; the numbers are what `tput -T NAME colors` says.
  CHECK(*colors_of("xterm", dirs) == 8);
  CHECK(*colors_of("xterm-256color", dirs) == 256);
  CHECK(*colors_of("dumb", dirs) == -1);
  CHECK(colors_of("", dirs).error() == "TERM is not set, so the terminal's colours are unknown");
  CHECK(colors_of("nosuch-term", dirs).error() == "TERM \"nosuch-term\" is not in the terminfo database");
  CHECK(colors_of("../x/xterm", dirs).error() == "TERM \"../x/xterm\" is not a terminal name");
}

TEST_CASE("terminfo: both number widths, absent numbers and damaged entries") {
  // Header: magic, 0 name bytes, 1 boolean, 14 numbers; 1 + 12 is odd, so one pad byte.
  std::string legacy{"\x1a\x01\x00\x00\x01\x00\x0e\x00\x00\x00\x00\x00", 12};
  legacy += std::string{"\x00\x00", 2};  // the boolean and the pad
  for (int i = 0; i < 13; ++i) legacy += std::string{"\xff\xff", 2};
  CHECK(terminfo_colors(legacy + std::string{"\x58\x02", 2}) == 600);
  CHECK(terminfo_colors(legacy + std::string{"\xff\xff", 2}) == -1);
  std::string wide{"\x1e\x02\x00\x00\x00\x00\x0e\x00\x00\x00\x00\x00", 12};
  for (int i = 0; i < 13; ++i) wide += std::string{"\xff\xff\xff\xff", 4};
  CHECK(terminfo_colors(wide + std::string{"\x00\x00\x00\x01", 4}) == 16777216);
  CHECK_FALSE(terminfo_colors(wide).has_value());            // cut short
  CHECK_FALSE(terminfo_colors("not terminfo at all").has_value());
  std::string few{"\x1a\x01\x00\x00\x00\x00\x02\x00\x00\x00\x00\x00\x01\x00\x02\x00", 16};
  CHECK(terminfo_colors(few) == -1);  // only 2 numbers: colors is absent
}
}

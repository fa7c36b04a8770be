// The extended terminfo capabilities the client reads for its local terminal (Smulx,
// Setulc), from entries that `tic -x` (ncurses-bin) compiles into a scratch directory:
// one with both, one with neither, one without any extended capability at all.

#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include <stdlib.h>
#include <unistd.h>

#include "mosh2/os/terminfo.hpp"

using namespace mosh2::os;

namespace {

/// A scratch terminfo directory with entries compiled by tic; removed at the end.
struct compiled_entries {
  std::string dir;
  compiled_entries() {
    char tmpl[] = "/tmp/mosh2-terminfo-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    dir = tmpl;
    std::ofstream(dir + "/src") <<
        "mosh2-styled|with Smulx and Setulc,\n"
        "\tam, colors#256, smul=\\E[4m, XT,\n"
        "\tSmulx=\\E[4:%p1%dm,\n"
        "\tSetulc=\\E[58:2::%p1%{65536}%/%d:%p1%{256}%/%{255}%&%d:%p1%{255}%&%d%;m,\n"
        "mosh2-plain|extended booleans only,\n"
        "\tam, colors#8, smul=\\E[4m, XT, AX,\n"
        "mosh2-bare|no extended section,\n"
        "\tam, colors#8, smul=\\E[4m,\n";
    // A test that needs tic fails when it is missing (tools/install-deps installs it).
    const std::string cmd = "tic -x -o " + dir + " " + dir + "/src 2>&1";
    REQUIRE_MESSAGE(std::system(cmd.c_str()) == 0, "tic (ncurses-bin) is needed: " << cmd);
  }
  ~compiled_entries() {
    const std::string cmd = "rm -rf " + dir;
    (void)std::system(cmd.c_str());
  }
  std::string raw(const std::string& term) const {
    auto r = terminfo_entry(term, {dir});
    REQUIRE(r);
    return *r;
  }
};

}  // namespace

TEST_SUITE("os") {

TEST_CASE("terminfo: Smulx and Setulc are read from the extended section tic -x writes") {
  compiled_entries e;
  const auto caps = underline_caps_of("mosh2-styled", {e.dir});
  REQUIRE(caps);
  CHECK(caps->smulx == "\x1b[4:%p1%dm");
  CHECK(caps->setulc == "\x1b[58:2::%p1%{65536}%/%d:%p1%{256}%/%{255}%&%d:%p1%{255}%&%d%;m");
  // The standard part still reads as before.
  CHECK(*colors_of("mosh2-styled", {e.dir}) == 256);
  const auto strings = terminfo_extended_strings(e.raw("mosh2-styled"));
  REQUIRE(strings);
  CHECK(strings->size() == 2);
}

TEST_CASE("terminfo: an entry without Smulx and Setulc says so; no entry says nothing") {
  compiled_entries e;
  for (const char* term : {"mosh2-plain", "mosh2-bare"}) {
    CAPTURE(term);
    const auto caps = underline_caps_of(term, {e.dir});
    REQUIRE(caps);  // read: the terminal has neither
    CHECK(caps->smulx.empty());
    CHECK(caps->setulc.empty());
    CHECK(*colors_of(term, {e.dir}) == 8);
  }
  CHECK(terminfo_extended_strings(e.raw("mosh2-bare"))->empty());
  CHECK(terminfo_extended_strings(e.raw("mosh2-plain"))->empty());  // booleans only
  CHECK_FALSE(underline_caps_of("nosuch-term", {e.dir}).has_value());
  CHECK_FALSE(underline_caps_of("", {e.dir}).has_value());
}

TEST_CASE("terminfo: a damaged extended section is refused, never read past its end") {
  compiled_entries e;
  const std::string raw = e.raw("mosh2-styled");
  REQUIRE(terminfo_extended_strings(raw));
  // Every cut inside the extended section is either refused or yields no more than the
  // whole entry has; none reads outside the bytes.
  for (std::size_t n = 12; n < raw.size(); ++n) {
    const auto cut = terminfo_extended_strings(std::string_view(raw).substr(0, n));
    if (cut) CHECK(cut->size() <= 2);
  }
  CHECK_FALSE(terminfo_extended_strings("not a terminfo entry").has_value());
}

}  // TEST_SUITE

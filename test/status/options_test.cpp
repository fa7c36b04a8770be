// mosh2-status's command line: every form mosh2-status(1) documents, and the one-line
// errors (exit status 2) for the rest.

#include <doctest/doctest.h>

#include <string>
#include <string_view>
#include <vector>

#include "mosh2/status/options.hpp"

using namespace mosh2::status;
using std::chrono::seconds;

namespace {

status_options good(std::vector<std::string_view> args) {
  auto r = parse_status_options(args);
  INFO((r ? std::string() : r.error()));
  REQUIRE(r);
  return *r;
}

std::string bad(std::vector<std::string_view> args) {
  auto r = parse_status_options(args);
  REQUIRE_FALSE(r);
  const auto e = r.error();
  CHECK(e.find('\n') == std::string::npos);
  return e;
}

}  // namespace

TEST_SUITE("status") {

TEST_CASE("no arguments lists the default directories as a table") {
  const auto o = good({});
  CHECK(o.dirs.empty());
  CHECK_FALSE(o.json);
  CHECK_FALSE(o.brief);
  CHECK_FALSE(o.kill);
  CHECK_FALSE(o.pid);
  CHECK_FALSE(o.keep_stale);
  CHECK_FALSE(o.verbose);
}

TEST_CASE("listing options, with values separate or attached") {
  const auto o = good({"--json", "--pid", "123", "--dir", "/a", "--dir=/b", "--keep-stale", "-v"});
  CHECK(o.json);
  CHECK(o.pid == 123);
  CHECK(o.dirs == std::vector<std::filesystem::path>{"/a", "/b"});
  CHECK(o.keep_stale);
  CHECK(o.verbose);
  CHECK(good({"--brief"}).brief);
  CHECK(good({"--pid=9"}).pid == 9);
  CHECK(good({"--verbose"}).verbose);
  CHECK(good({"-h"}).help);
  CHECK(good({"--help"}).help);
  CHECK(good({"--version"}).version);
  // Help wins over a combination that would otherwise be refused.
  CHECK(good({"--json", "--brief", "--help"}).help);
}

TEST_CASE("kill takes process ids or --detached-for, with --dry-run") {
  const auto pids = good({"kill", "12", "34"});
  CHECK(pids.kill);
  CHECK(pids.kill_pids == std::vector<pid_t>{12, 34});
  CHECK_FALSE(pids.detached_for);
  const auto detached = good({"kill", "--detached-for", "12h", "--dry-run", "--dir", "/x"});
  CHECK(detached.kill);
  CHECK(detached.detached_for == seconds(12 * 3600));
  CHECK(detached.dry_run);
  CHECK(detached.kill_pids.empty());
  CHECK(good({"kill", "--detached-for=90s"}).detached_for == seconds(90));
}

TEST_CASE("bad command lines are refused with one line that names the problem") {
  CHECK(bad({"--frobnicate"}) == "unknown argument '--frobnicate'");
  CHECK(bad({"--json", "--brief"}) == "--json and --brief exclude each other");
  CHECK(bad({"--pid"}) == "--pid needs a process id");
  CHECK(bad({"--pid", "0"}) == "--pid needs a positive process id, not '0'");
  CHECK(bad({"--pid", "12x"}) == "--pid needs a positive process id, not '12x'");
  CHECK(bad({"--pid", "99999999999"}) == "--pid needs a positive process id, not '99999999999'");
  CHECK(bad({"--dir"}) == "--dir needs a directory");
  CHECK(bad({"--dir="}) == "--dir needs a directory");
  CHECK(bad({"--json=yes"}) == "--json takes no value");
  CHECK(bad({"kill"}) == "kill needs process ids or --detached-for DURATION");
  CHECK(bad({"kill", "abc"}) == "kill needs process ids, not 'abc'");
  CHECK(bad({"kill", "12", "--detached-for", "1h"}) == "kill takes either process ids or --detached-for, not both");
  CHECK(bad({"kill", "12", "--json"}) == "kill does not combine with --json, --brief or --pid");
  CHECK(bad({"kill", "--detached-for"}) == "--detached-for needs a duration (e.g. 90s, 12h, 7d)");
  CHECK(bad({"kill", "--detached-for", "soon"}).starts_with("--detached-for: "));
  CHECK(bad({"--dry-run"}) == "--dry-run and --detached-for go with kill");
  CHECK(bad({"--detached-for", "1h"}) == "--dry-run and --detached-for go with kill");
  CHECK(bad({"12", "kill"}) == "unknown argument '12'");
  CHECK(bad({"--json", "kill", "1"}) == "unknown argument 'kill'");  // kill comes first
}

}

// Durations on command lines: what `kill --detached-for` and `--idle-timeout` accept.

#include <doctest/doctest.h>

#include "mosh2/control/duration.hpp"

using namespace mosh2::control;
using std::chrono::seconds;

TEST_SUITE("control") {

TEST_CASE("durations take s, m, h and d, alone or combined, and a bare number is seconds") {
  CHECK(*parse_duration("90s") == seconds(90));
  CHECK(*parse_duration("90") == seconds(90));
  CHECK(*parse_duration("5m") == seconds(300));
  CHECK(*parse_duration("12h") == seconds(12 * 3600));
  CHECK(*parse_duration("7d") == seconds(7 * 86400));
  CHECK(*parse_duration("1h30m") == seconds(5400));
  CHECK(*parse_duration("1d2h3m4s") == seconds(86400 + 7200 + 180 + 4));
  CHECK(*parse_duration("3s") == seconds(3));
}

TEST_CASE("bad durations are refused with the text and an example") {
  for (const char* bad : {"", "s", "-5s", "5x", "5 s", "0", "0s", "1.5h", "h5", "5s5", "1e3", "+3s",
                          "99999999999999999999", "4000d"}) {
    CAPTURE(bad);
    auto r = parse_duration(bad);
    REQUIRE_FALSE(r);
    CHECK(r.error().find("bad duration \"" + std::string(bad) + "\"") == 0);
    CHECK(r.error().find("90s, 12h, 7d") != std::string::npos);
  }
  CHECK(parse_duration("3650d"));  // ten years is the limit
}

TEST_CASE("durations are shown in their two largest units") {
  CHECK(format_duration(seconds(0)) == "0s");
  CHECK(format_duration(seconds(45)) == "45s");
  CHECK(format_duration(seconds(192)) == "3m12s");
  CHECK(format_duration(seconds(180)) == "3m");
  CHECK(format_duration(seconds(7500)) == "2h5m");
  CHECK(format_duration(seconds(7 * 86400 + 3 * 3600 + 59)) == "7d3h");
  CHECK(format_duration(seconds(-4)) == "0s");
}

}

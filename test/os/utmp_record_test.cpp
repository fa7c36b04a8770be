// The utmp texts and the detached-session warning. Writing utmp itself needs the
// system's utmp file and libutempter; test/integration/server_lifecycle.py checks that.

#include <doctest/doctest.h>

#include "mosh2/os/utmp_record.hpp"

using namespace mosh2::os;

TEST_CASE("utmp host texts follow the stock server's") {
  CHECK(detached_host(1234) == "mosh [1234]");
  CHECK(attached_host("192.0.2.7", 1234) == "192.0.2.7 via mosh [1234]");
  CHECK(attached_host("2001:db8::1", 9) == "2001:db8::1 via mosh [9]");
}

TEST_CASE("the detached-session warning names every pid, and is empty without any") {
  CHECK(detached_warning({}).empty());
  const auto one = detached_warning({42});
  CHECK(one.find("Mosh: You have a detached Mosh session on this server (mosh [42]).") != std::string::npos);
  CHECK(one.starts_with("\033[37;44m"));  // white on blue, as the stock server shows it
  const auto two = detached_warning({42, 43});
  CHECK(two.find("You have 2 detached Mosh sessions") != std::string::npos);
  CHECK(two.find("mosh [42]") != std::string::npos);
  CHECK(two.find("mosh [43]") != std::string::npos);
}

TEST_CASE("an unusable pty gets no utmp entry and no error") {
  utmp_record r(-1, detached_host(1));
  CHECK_FALSE(r.active());
  r.set_host(attached_host("127.0.0.1", 1));  // must be harmless
}

// The reject log's rate limiter, with an injected clock: one line per source per
// minute with a count, the stable format fail2ban matches, and bounded memory.

#include <doctest/doctest.h>

#include <fmt/format.h>

#include "mosh2/control/reject_log.hpp"

using namespace mosh2;
using namespace mosh2::control;

namespace {
time_point at(int seconds) { return time_point{} + std::chrono::hours(1) + std::chrono::seconds(seconds); }
}  // namespace

TEST_SUITE("control") {

TEST_CASE("a source's first rejection is logged at once, the rest once a minute with a count") {
  reject_limiter l;
  auto first = l.record("192.0.2.7", 4000, "bad_tag", at(0));
  REQUIRE(first.size() == 1);
  CHECK(first[0] == "rejected 1 datagrams from 192.0.2.7:4000 (bad_tag)");
  for (int i = 1; i < 50; ++i) CHECK(l.record("192.0.2.7", 4000, "bad_tag", at(i)).empty());
  CHECK(l.record("192.0.2.7", 4000, "too_short", at(59)).empty());
  CHECK(l.next_due() == at(60));
  CHECK(l.due(at(59)).empty());
  auto summary = l.due(at(60));
  REQUIRE(summary.size() == 1);
  CHECK(summary[0] == "rejected 50 datagrams from 192.0.2.7:4000 (bad_tag, too_short)");
  CHECK(l.next_due() == never);
  // Quiet after that: the next rejection waits for the minute since the last line.
  CHECK(l.record("192.0.2.7", 4000, "wrong_direction", at(61)).empty());
  auto later = l.record("192.0.2.7", 4000, "wrong_direction", at(120));
  REQUIRE(later.size() == 1);
  CHECK(later[0] == "rejected 2 datagrams from 192.0.2.7:4000 (wrong_direction)");
}

TEST_CASE("sources are counted apart, and another source's rejection brings due summaries") {
  reject_limiter l;
  CHECK(l.record("192.0.2.1", 1, "bad_tag", at(0)).size() == 1);
  CHECK(l.record("192.0.2.1", 1, "bad_tag", at(1)).empty());
  CHECK(l.record("192.0.2.2", 1, "bad_tag", at(2)).size() == 1);
  CHECK(l.record("192.0.2.1", 2, "bad_tag", at(3)).size() == 1);  // another port is another source
  auto lines = l.record("192.0.2.2", 1, "bad_tag", at(65));
  REQUIRE(lines.size() == 2);
  CHECK(lines[0] == "rejected 1 datagrams from 192.0.2.1:1 (bad_tag)");
  CHECK(lines[1] == "rejected 1 datagrams from 192.0.2.2:1 (bad_tag)");
}

TEST_CASE("IPv6 sources are bracketed so that the port stays readable") {
  reject_limiter l;
  auto lines = l.record("2001:db8::1", 5000, "bad_tag", at(0));
  REQUIRE(lines.size() == 1);
  CHECK(lines[0] == "rejected 1 datagrams from [2001:db8::1]:5000 (bad_tag)");
}

TEST_CASE("flush writes every count held back") {
  reject_limiter l;
  (void)l.record("192.0.2.1", 1, "bad_tag", at(0));
  (void)l.record("192.0.2.1", 1, "oversize", at(1));
  (void)l.record("192.0.2.1", 1, "oversize", at(2));
  auto lines = l.flush();
  REQUIRE(lines.size() == 1);
  CHECK(lines[0] == "rejected 2 datagrams from 192.0.2.1:1 (oversize)");
  CHECK(l.flush().empty());
}

TEST_CASE("spoofed sources cannot grow the table beyond its bound") {
  reject_limiter l(reject_log_interval, 16);
  std::size_t lines = 0;
  for (int i = 0; i < 1000; ++i) lines += l.record(fmt::format("10.0.{}.{}", i / 256, i % 256), 9, "bad_tag", at(0)).size();
  CHECK(l.sources() == 16);
  CHECK(lines == 16 + 1);  // 16 first lines, one "other sources" line
  auto held = l.flush();
  REQUIRE(held.size() == 1);
  CHECK(held[0] == "rejected 983 datagrams from other sources (table full)");
  // After a quiet minute the old sources make room again.
  auto fresh = l.record("10.9.9.9", 9, "bad_tag", at(61));
  REQUIRE(fresh.size() == 1);
  CHECK(fresh[0] == "rejected 1 datagrams from 10.9.9.9:9 (bad_tag)");
  CHECK(l.sources() == 1);
}

}

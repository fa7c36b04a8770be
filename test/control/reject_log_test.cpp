// The reject log's rate limiter, with an injected clock: an address is logged only once
// it has been rejected persistently, then once a minute with a count; sources are
// counted by address; the stable format fail2ban matches; bounded memory and O(1)
// table steps per datagram.

#include <doctest/doctest.h>

#include <fmt/format.h>

#include "mosh2/control/reject_log.hpp"

using namespace mosh2;
using namespace mosh2::control;

namespace {
time_point at(int seconds) { return time_point{} + std::chrono::hours(1) + std::chrono::seconds(seconds); }

// Makes `address` persistent: ten rejections, the last one 60 s after the first.
std::vector<std::string> persist(reject_limiter& l, std::string_view address, int from) {
  std::vector<std::string> lines;
  for (int i = 0; i < 10; ++i) {
    auto got = l.record(address, "bad_tag", at(from + (i == 9 ? 60 : i)));
    lines.insert(lines.end(), got.begin(), got.end());
  }
  return lines;
}
}  // namespace

TEST_SUITE("control") {

TEST_CASE("a burst is never logged: an address needs ten rejections over a minute") {
  reject_limiter l;
  for (int i = 0; i < 500; ++i) CHECK(l.record("192.0.2.7", "bad_tag", at(i % 59)).empty());
  CHECK(l.flush().empty());  // never persistent, so never logged, not even at the end
  reject_limiter slow;
  for (int i = 0; i < 9; ++i) CHECK(slow.record("192.0.2.8", "bad_tag", at(i * 30)).empty());  // nine over 4 minutes
  auto first = slow.record("192.0.2.8", "too_short", at(270));
  REQUIRE(first.size() == 1);
  CHECK(first[0] == "rejected 10 datagrams from 192.0.2.8 (bad_tag, too_short)");
}

TEST_CASE("100 rejections from one address on 100 ports give at most one line") {
  // The server passes the address alone (the port is the sender's free choice), so 100
  // ports are one source: within a minute, a new one gives no line, and one already
  // logged gives one.
  auto burst = [](reject_limiter& l, int from) {
    std::size_t lines = 0;
    for (int port = 0; port < 100; ++port)
      lines += l.record("192.0.2.9", "bad_tag", at(from) + std::chrono::milliseconds(590 * port)).size();
    return lines + l.flush().size();
  };
  reject_limiter fresh;
  CHECK(burst(fresh, 0) <= 1);
  CHECK(fresh.sources() == 1);
  reject_limiter logged;
  REQUIRE(persist(logged, "192.0.2.9", 0).size() == 1);
  CHECK(burst(logged, 61) <= 1);
}

TEST_CASE("once logged, an address gets one line a minute with the count since the last") {
  reject_limiter l;
  auto first = persist(l, "192.0.2.7", 0);
  REQUIRE(first.size() == 1);
  CHECK(first[0] == "rejected 10 datagrams from 192.0.2.7 (bad_tag)");
  for (int i = 61; i < 110; ++i) CHECK(l.record("192.0.2.7", "bad_tag", at(i)).empty());
  CHECK(l.record("192.0.2.7", "too_short", at(119)).empty());
  CHECK(l.next_due() == at(120));
  CHECK(l.due(at(119)).empty());
  auto summary = l.due(at(120));
  REQUIRE(summary.size() == 1);
  CHECK(summary[0] == "rejected 50 datagrams from 192.0.2.7 (bad_tag, too_short)");
  CHECK(l.next_due() == never);
  CHECK(l.record("192.0.2.7", "wrong_direction", at(121)).empty());
  auto later = l.record("192.0.2.7", "wrong_direction", at(180));
  REQUIRE(later.size() == 1);
  CHECK(later[0] == "rejected 2 datagrams from 192.0.2.7 (wrong_direction)");
  // Ten quiet minutes: the address starts over and must persist again.
  CHECK(l.record("192.0.2.7", "bad_tag", at(800)).empty());
  CHECK(l.flush().empty());
}

TEST_CASE("addresses are counted apart, and another's rejection brings due summaries") {
  reject_limiter l;
  CHECK(persist(l, "192.0.2.1", 0).size() == 1);
  CHECK(persist(l, "192.0.2.2", 0).size() == 1);
  CHECK(l.record("192.0.2.1", "bad_tag", at(70)).empty());
  CHECK(l.record("192.0.2.2", "bad_tag", at(71)).empty());
  auto lines = l.record("192.0.2.3", "bad_tag", at(125));
  REQUIRE(lines.size() == 2);
  CHECK(lines[0] == "rejected 1 datagrams from 192.0.2.1 (bad_tag)");
  CHECK(lines[1] == "rejected 1 datagrams from 192.0.2.2 (bad_tag)");
}

TEST_CASE("IPv6 addresses are written as they are") {
  reject_limiter l;
  auto lines = persist(l, "2001:db8::1", 0);
  REQUIRE(lines.size() == 1);
  CHECK(lines[0] == "rejected 10 datagrams from 2001:db8::1 (bad_tag)");
}

TEST_CASE("flush writes every count of a logged address held back") {
  reject_limiter l;
  REQUIRE(persist(l, "192.0.2.1", 0).size() == 1);
  (void)l.record("192.0.2.1", "oversize", at(61));
  (void)l.record("192.0.2.1", "oversize", at(62));
  auto lines = l.flush();
  REQUIRE(lines.size() == 1);
  CHECK(lines[0] == "rejected 2 datagrams from 192.0.2.1 (oversize)");
  CHECK(l.flush().empty());
}

TEST_CASE("spoofed addresses cannot grow the table beyond its bound") {
  reject_policy small;
  small.max_sources = 16;
  reject_limiter l(small);
  REQUIRE(persist(l, "192.0.2.1", 0).size() == 1);
  (void)l.record("192.0.2.1", "bad_tag", at(61));  // held back when it is evicted
  std::vector<std::string> lines;
  for (int i = 0; i < 1000; ++i) {
    auto got = l.record(fmt::format("10.0.{}.{}", i / 256, i % 256), "bad_tag", at(62));
    lines.insert(lines.end(), got.begin(), got.end());
  }
  CHECK(l.sources() == 16);
  // None of the new ones is persistent; the evicted logged address's count is written.
  REQUIRE(lines.size() == 1);
  CHECK(lines[0] == "rejected 1 datagrams from other sources (table full)");
  CHECK(l.flush().empty());
}

TEST_CASE("with a full table, 20,000 datagrams from new addresses cost O(1) table steps each") {
  reject_limiter l;  // the real table size
  const std::size_t table = reject_policy{}.max_sources;
  for (std::size_t i = 0; i < table; ++i)
    (void)l.record(fmt::format("10.1.{}.{}", i / 256, i % 256), "bad_tag", at(0));
  REQUIRE(l.sources() == table);
  const auto before = l.steps();
  for (int i = 0; i < 20'000; ++i)
    (void)l.record(fmt::format("10.2.{}.{}", i / 256, i % 256), "bad_tag", at(1 + i / 1000));
  const double per_record = static_cast<double>(l.steps() - before) / 20'000;
  MESSAGE("table steps per record: " << per_record);
  CHECK(per_record <= 3.0);
  CHECK(l.sources() == table);
}

}

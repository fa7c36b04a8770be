// The queue between the server's core and its program: order, coalescing, the cap.

#include <doctest/doctest.h>

#include "mosh2/session/program_input.hpp"

using namespace mosh2::session;

TEST_SUITE("session") {
TEST_CASE("program input hands out bytes and sizes in the order they came, one at a time") {
  program_input q;
  q.push_bytes("ab");
  q.push_resize(100, 30);
  q.push_bytes("c");
  auto first = q.next();
  REQUIRE(first);
  CHECK(std::get<pty_write>(*first).data == "ab");
  CHECK_FALSE(q.next());  // nothing more until the first is done
  q.done();
  auto second = q.next();
  REQUIRE(second);
  CHECK(std::get<pty_resize>(*second).width == 100);
  q.done();
  auto third = q.next();
  REQUIRE(third);
  CHECK(std::get<pty_write>(*third).data == "c");
  q.done();
  CHECK(q.idle());
  CHECK(q.queued_bytes() == 0);
}

TEST_CASE("program input never appends to the piece being written") {
  program_input q;
  q.push_bytes("ab");
  auto first = q.next();
  q.push_bytes("cd");
  q.done();
  auto second = q.next();
  REQUIRE(second);
  CHECK(std::get<pty_write>(*first).data == "ab");
  CHECK(std::get<pty_write>(*second).data == "cd");
}

TEST_CASE("consecutive sizes collapse into the last, but not across typing") {
  program_input q;
  q.push_resize(1, 1);
  q.push_resize(2, 2);
  q.push_bytes("x");
  q.push_resize(3, 3);
  CHECK(std::get<pty_resize>(*q.next()).width == 2);
  q.done();
  CHECK(std::get<pty_write>(*q.next()).data == "x");
  q.done();
  CHECK(std::get<pty_resize>(*q.next()).width == 3);
}

TEST_CASE("program input is full at the cap and counts every byte until written") {
  constexpr std::size_t cap = 256 * 1024;
  program_input q(cap);
  q.push_bytes(std::string(cap - 1, 'a'));
  CHECK_FALSE(q.full());
  q.push_bytes("b");
  CHECK(q.full());
  CHECK(q.queued_bytes() == cap);
  // Written in pieces of at most program_write_chunk.
  auto piece = q.next();
  CHECK(std::get<pty_write>(*piece).data.size() == program_write_chunk);
  q.done();
  CHECK(q.queued_bytes() == cap - program_write_chunk);
  CHECK_FALSE(q.full());
}
}

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

TEST_CASE("sizes collapse into the last one waiting, which never overtakes earlier typing") {
  program_input q;
  q.push_resize(1, 1);
  CHECK(std::get<pty_resize>(*q.next()).width == 1);  // being carried out: stays
  q.push_resize(2, 2);
  q.push_bytes("x");
  q.push_resize(3, 3);
  q.push_bytes("y");
  q.push_resize(4, 4);
  // 2 and 3 were superseded while waiting, and the bytes they separated became one
  // write, ahead of the last size.
  q.done();
  CHECK(std::get<pty_write>(*q.next()).data == "xy");
  q.done();
  CHECK(std::get<pty_resize>(*q.next()).width == 4);
  q.done();
  CHECK(q.idle());
  CHECK(q.cost() == 0);
}

TEST_CASE("program input is full at the cap and counts every byte until written") {
  constexpr std::size_t cap = 256 * 1024;
  program_input q(cap);
  q.push_bytes(std::string(cap - 4096, 'a'));
  CHECK_FALSE(q.full());
  q.push_bytes(std::string(4096, 'b'));
  CHECK(q.full());
  CHECK(q.queued_bytes() == cap);
  CHECK(q.cost() >= cap);
  // Written in pieces of at most program_write_chunk.
  auto piece = q.next();
  CHECK(std::get<pty_write>(*piece).data.size() == program_write_chunk);
  q.done();
  CHECK(q.queued_bytes() == cap - program_write_chunk);
  CHECK_FALSE(q.full());
}

TEST_CASE("alternating keystrokes and resizes fill the queue before its heap passes twice the cap") {
  // A key holder's client sends one byte and one size, over and over, to a program that
  // does not read. The queue must report full before what it holds passes twice its
  // cap, measured from outside: each entry's slot and the bytes handed out.
  constexpr std::size_t cap = 64 * 1024;
  program_input q(cap);
  q.push_bytes("k");
  (void)q.next();  // the program is stuck writing the first op
  std::size_t pairs = 0;
  while (!q.full() && pairs < 10 * cap) {
    q.push_bytes("k");
    q.push_resize(80 + static_cast<int>(pairs % 2), 24);
    ++pairs;
  }
  REQUIRE(q.full());
  std::size_t heap = sizeof(program_op);  // the entry being written
  std::size_t resizes = 0;
  q.done();
  while (auto op = q.next()) {
    heap += sizeof(program_op);
    if (auto* w = std::get_if<pty_write>(&*op)) heap += w->data.size();
    else ++resizes;
    q.done();
  }
  MESSAGE(pairs << " pairs queued before full; " << heap << " bytes held; " << resizes << " sizes handed out");
  CHECK(heap <= 2 * cap);
  CHECK(resizes <= 1);  // one SIGWINCH, not one per byte
}
}

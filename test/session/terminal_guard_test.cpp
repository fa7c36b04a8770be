// The client's terminal guard on a real pty: raw mode and the session screen while it
// is held, and the terminal exactly as found after an exception unwinds through it.

#include <doctest/doctest.h>

#include <fcntl.h>
#include <pty.h>
#include <termios.h>
#include <unistd.h>

#include <stdexcept>
#include <string>

#include "mosh2/session/terminal_guard.hpp"

using namespace mosh2::session;

namespace {

std::string drain(int master) {
  std::string out;
  char buf[256];
  for (int i = 0; i < 100; ++i) {
    const ssize_t n = ::read(master, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

}  // namespace

TEST_SUITE("session") {
TEST_CASE("an exception through the terminal guard restores the terminal's modes and screen") {
  int master = -1, slave = -1;
  REQUIRE(::openpty(&master, &slave, nullptr, nullptr, nullptr) == 0);
  ::fcntl(master, F_SETFL, O_NONBLOCK);
  termios before {};
  REQUIRE(::tcgetattr(slave, &before) == 0);
  REQUIRE((before.c_lflag & ICANON) != 0);

  bool raw_while_held = false;
  try {
    terminal_guard guard(slave, slave, "\x1b[?1049h", "\x1b[?1049l");
    termios during {};
    ::tcgetattr(slave, &during);
    raw_while_held = (during.c_lflag & ICANON) == 0;
    throw std::runtime_error("forced");
  } catch (const std::runtime_error&) {
  }
  CHECK(raw_while_held);
  termios after {};
  REQUIRE(::tcgetattr(slave, &after) == 0);
  CHECK(after.c_lflag == before.c_lflag);
  CHECK(after.c_iflag == before.c_iflag);
  CHECK(after.c_oflag == before.c_oflag);
  const std::string written = drain(master);
  CHECK(written == "\x1b[?1049h\x1b[?1049l");
  ::close(slave);
  ::close(master);
}
}

// Name resolution, the first address that takes a TCP connection, the local-address
// probe, and the ProxyCommand's relay; on loopback only.

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <thread>

#include <doctest/doctest.h>

#include "mosh2/os/name_resolution.hpp"
#include "mosh2/os/tcp_relay.hpp"

using namespace mosh2::os;

namespace {
/// A listening TCP socket on 127.0.0.1 and its port.
std::pair<int, std::string> listener() {
  const int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(s >= 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  REQUIRE(::listen(s, 1) == 0);
  socklen_t len = sizeof a;
  REQUIRE(::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) == 0);
  return {s, std::to_string(ntohs(a.sin_port))};
}

std::string read_some(int fd) {
  char buf[64];
  const ssize_t n = ::read(fd, buf, sizeof buf);
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
}
}  // namespace

TEST_SUITE("os") {
TEST_CASE("a numeric host resolves to itself, and connect_first reaches the listener") {
  auto [l, port] = listener();
  auto found = resolve_stream("127.0.0.1", port, AF_INET);
  REQUIRE(found);
  REQUIRE(found->size() == 1);
  CHECK(found->front().numeric == "127.0.0.1");
  CHECK(found->front().family == AF_INET);
  auto c = connect_first(*found);
  REQUIRE(c);
  CHECK(c->numeric == "127.0.0.1");
  ::close(c->fd);
  ::close(l);
}

TEST_CASE("a refused port gives its errno, an unknown family of address none") {
  auto [l, port] = listener();
  ::close(l);  // nothing listens there now
  auto found = resolve_stream("127.0.0.1", port, AF_INET);
  REQUIRE(found);
  auto c = connect_first(*found);
  REQUIRE_FALSE(c);
  CHECK(c.error() == ECONNREFUSED);
  auto none = resolve_stream("127.0.0.1", "22", AF_INET6);
  REQUIRE_FALSE(none);
  CHECK(none.error().rfind("could not resolve 127.0.0.1: ", 0) == 0);
}

TEST_CASE("is_local_address: loopback is ours, a documentation address is not") {
  CHECK(is_local_address("127.0.0.1"));
  CHECK_FALSE(is_local_address("192.0.2.1"));
  CHECK(is_local_address("not an address"));  // left to whoever binds it
}

TEST_CASE("relay copies both ways, passes end of input on as a half-close, and ends with the socket") {
  int in[2], out[2], sock[2];
  REQUIRE(::pipe(in) == 0);
  REQUIRE(::pipe(out) == 0);
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, sock) == 0);
  int status = -1;
  std::thread t([&] { status = relay(in[0], out[1], sock[0]); });
  REQUIRE(::write(in[1], "ping", 4) == 4);
  CHECK(read_some(sock[1]) == "ping");
  REQUIRE(::write(sock[1], "pong", 4) == 4);
  CHECK(read_some(out[0]) == "pong");
  ::close(in[1]);
  CHECK(read_some(sock[1]).empty());  // the half-close arrives as end of file
  ::close(sock[1]);
  t.join();
  CHECK(status == 0);
  for (int fd : {in[0], out[0], out[1], sock[0]}) ::close(fd);
}
}

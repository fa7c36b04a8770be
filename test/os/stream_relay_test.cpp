// `mosh2-server stream-relay` on loopback: frames from its input go out as datagrams to
// the session's port, datagrams back come out as frames, the end of its input ends it;
// and the stream command's argv survives MOSH2_STREAM_COMMAND.

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "mosh2/os/options.hpp"
#include "mosh2/os/stream_command.hpp"
#include "mosh2/os/stream_relay.hpp"
#include "mosh2/os/udp_relay.hpp"
#include "mosh2/transport/stream_framing.hpp"

using namespace mosh2;
using namespace std::chrono_literals;

namespace {

/// Waits (bounded: 5 s) for `fd` to be readable.
bool readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 5000) == 1;
}

}  // namespace

TEST_CASE("the stream relay's target: the address given, else $SSH_CONNECTION's server side, else 127.0.0.1") {
  CHECK(os::stream_relay_target(std::string("10.0.0.9"), std::string("1.2.3.4 5 6.7.8.9 22")) == "10.0.0.9");
  CHECK(os::stream_relay_target(std::nullopt, std::string("1.2.3.4 5555 6.7.8.9 22")) == "6.7.8.9");
  CHECK(os::stream_relay_target(std::nullopt, std::string("garbage")) == "127.0.0.1");
  CHECK(os::stream_relay_target(std::nullopt, std::nullopt) == "127.0.0.1");
}

TEST_CASE("the stream relay carries frames to the session's UDP port and datagrams back as frames") {
  const int server = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  REQUIRE(server >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(server, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  socklen_t len = sizeof addr;
  REQUIRE(::getsockname(server, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  const auto port = ntohs(addr.sin_port);

  int pair[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) == 0);
  result<int, std::string> ended = 1;
  std::thread relay([&] { ended = os::run_stream_relay(pair[1], pair[1], "127.0.0.1", port); });

  // Two frames in one write, the second split from its length: two datagrams, in order.
  const std::string both = transport::frame("first") + transport::frame("second datagram");
  REQUIRE(::write(pair[0], both.data(), 12) == 12);
  REQUIRE(::write(pair[0], both.data() + 12, both.size() - 12) == static_cast<ssize_t>(both.size() - 12));
  char buf[2048];
  sockaddr_in from{};
  socklen_t from_len = sizeof from;
  REQUIRE(readable(server));
  auto n = ::recvfrom(server, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &from_len);
  CHECK(std::string(buf, static_cast<std::size_t>(n)) == "first");
  REQUIRE(readable(server));
  n = ::recv(server, buf, sizeof buf, 0);
  CHECK(std::string(buf, static_cast<std::size_t>(n)) == "second datagram");

  // The server answers the source it heard: a frame comes out of the relay.
  REQUIRE(::sendto(server, "reply", 5, 0, reinterpret_cast<sockaddr*>(&from), from_len) == 5);
  transport::deframer frames;
  std::vector<bytes> got;
  for (int i = 0; i < 10 && got.empty(); ++i) {
    REQUIRE(readable(pair[0]));
    n = ::read(pair[0], buf, sizeof buf);
    REQUIRE(n > 0);
    got = frames.feed(bytes_view(buf, static_cast<std::size_t>(n)));
  }
  REQUIRE(got.size() == 1);
  CHECK(got[0] == "reply");

  ::shutdown(pair[0], SHUT_WR);  // the end of its input ends it
  relay.join();
  REQUIRE(ended);
  CHECK(*ended == 0);
  ::close(pair[0]);
  ::close(pair[1]);
  ::close(server);
}

TEST_CASE("the stream relay refuses an address that is not numeric") {
  auto r = os::run_stream_relay(-1, -1, "host.example", 60001);
  REQUIRE_FALSE(r);
  CHECK(r.error() == "stream-relay: \"host.example\" is not a numeric IP address");
}

TEST_CASE("the stream command's argv survives MOSH2_STREAM_COMMAND") {
  const std::vector<std::string> argv{"ssh", "-F", "my config", "-o", "BatchMode=yes", "me@h", "--",
                                      "mosh2-server stream-relay '60001'"};
  auto text = os::stream_command_text(argv);
  REQUIRE(text);
  auto back = os::parse_stream_command(*text);
  REQUIRE(back);
  CHECK(*back == argv);
  CHECK_FALSE(os::stream_command_text({"a\x1f" "b"}));
  CHECK_FALSE(os::parse_stream_command(""));
}

TEST_CASE("why a stream command ended, in one line") {
  CHECK(os::stream_end_reason(255 << 8, "mosh2-server").rfind("ssh could not connect or log in again", 0) == 0);
  CHECK(os::stream_end_reason(127 << 8, "mosh2-server") ==
        "the host has no \"mosh2-server stream-relay\" (a stock mosh-server has none)");
  CHECK(os::stream_end_reason(1 << 8, "mosh2-server") == "the ssh stream ended with status 1");
}

TEST_CASE("a stream command runs with its input and output on our socket") {
  auto child = os::start_stream_command({"cat"});
  REQUIRE(child);
  REQUIRE(::write(child->fd, "ping", 4) == 4);
  char buf[16];
  REQUIRE(readable(child->fd));
  CHECK(::read(child->fd, buf, sizeof buf) == 4);
  ::shutdown(child->fd, SHUT_WR);
  const int status = os::stop_stream_command(child->pid, 50);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  ::close(child->fd);
  CHECK_FALSE(os::start_stream_command({}));
}

TEST_CASE("the relay's sources: a new source gets a slot, a known one keeps it, an answer proves it") {
  os::relay_sources s(3);
  const time_point t0{};
  auto a = s.from_client("10.0.0.1:5000", t0);
  CHECK(a.fresh);
  auto again = s.from_client("10.0.0.1:5000", t0 + 1s);
  CHECK_FALSE(again.fresh);
  CHECK(again.slot == a.slot);
  CHECK_FALSE(s.last_answer());
  CHECK(s.from_next_hop(a.slot, t0 + 2s) == "10.0.0.1:5000");
  CHECK(s.last_answer() == t0 + 2s);
  CHECK_FALSE(s.from_next_hop(7, t0 + 2s));  // a slot nobody holds goes nowhere
  // A roam: a new source, a new slot; the old one stays until it is needed.
  auto roamed = s.from_client("10.0.0.5:5000", t0 + 3s);
  CHECK(roamed.fresh);
  CHECK(roamed.slot != a.slot);
  CHECK(s.size() == 2);
}

TEST_CASE("the relay's sources are bounded: a forger's flood takes unproven slots, never the proven client's") {
  os::relay_sources s(3);
  const time_point t0{};
  auto client = s.from_client("10.0.0.1:5000", t0);
  (void)s.from_next_hop(client.slot, t0);
  for (int i = 0; i < 100; ++i) {
    auto p = s.from_client("192.0.2.9:" + std::to_string(1000 + i), t0 + std::chrono::seconds(1 + i));
    CHECK(p.slot != client.slot);
  }
  CHECK(s.size() == 3);
  CHECK(s.from_next_hop(client.slot, t0 + 200s) == "10.0.0.1:5000");
}

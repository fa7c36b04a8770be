// The relay's end: the token and its datagram, the token read from standard input, and a
// relay on loopback that passes on and survives anything but exactly the end datagram
// from its next hop, keeps its status file meanwhile, and removes it when it ends.

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>
#include <string>

#include <fmt/format.h>

#include "../support/temp_dir.hpp"
#include "mosh2/os/relay_end.hpp"
#include "mosh2/os/udp_relay.hpp"

using namespace mosh2;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

/// A UDP socket on 127.0.0.1, port chosen by the kernel.
struct loopback_socket {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  std::uint16_t port = 0;
  loopback_socket() {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
  }
  ~loopback_socket() { ::close(fd); }
  void send_to(std::uint16_t to, const std::string& d) const {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(to);
    REQUIRE(::sendto(fd, d.data(), d.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a) ==
            static_cast<ssize_t>(d.size()));
  }
  /// The next datagram within 5 s (nothing after that), and the port it came from.
  std::optional<std::pair<std::string, std::uint16_t>> receive() const {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 5000) != 1) return std::nullopt;
    char buf[2048];
    sockaddr_in from{};
    socklen_t len = sizeof from;
    const ssize_t n = ::recvfrom(fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
    if (n < 0) return std::nullopt;
    return std::pair{std::string(buf, static_cast<std::size_t>(n)), ntohs(from.sin_port)};
  }
};

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

/// Waits (bounded: 50 tries 100 ms apart) until `file` holds `text`.
bool file_shows(const fs::path& file, const std::string& text) {
  for (int i = 0; i < 50; ++i) {
    if (slurp(file).find(text) != std::string::npos) return true;
    ::usleep(100 * 1000);
  }
  return false;
}

}  // namespace

TEST_SUITE("os") {

TEST_CASE("an end token is 128 fresh bits whose text and datagram round-trip") {
  const auto a = os::relay_end_token::generate();
  const auto b = os::relay_end_token::generate();
  CHECK(a.text().size() == 32);
  CHECK(a.text() != b.text());
  const auto parsed = os::relay_end_token::parse(a.text());
  REQUIRE(parsed);
  CHECK(parsed->text() == a.text());
  CHECK(os::relay_end_token::parse("00112233445566778899AABBCCDDEEFF"));
  CHECK_FALSE(os::relay_end_token::parse(a.text().substr(1)));
  CHECK_FALSE(os::relay_end_token::parse(a.text() + "0"));
  CHECK_FALSE(os::relay_end_token::parse("0011223344556677889gaabbccddeeff"));
  const std::string d = a.datagram();
  CHECK(d.size() == 32);
  CHECK(d.substr(0, 16) == os::relay_end_magic);
  CHECK(d[0] == '\0');  // bit 63 clear: never a server's sealed datagram
}

TEST_CASE("only exactly the end datagram ends: not a wrong token, a truncated, a longer or a sealed-looking one") {
  const auto t = os::relay_end_token::generate();
  const std::string d = t.datagram();
  CHECK(t.ends(d));
  std::string wrong = d;
  wrong.back() = static_cast<char>(wrong.back() ^ 1);
  CHECK_FALSE(t.ends(wrong));
  CHECK_FALSE(t.ends(os::relay_end_token::generate().datagram()));
  CHECK_FALSE(t.ends(d.substr(0, d.size() - 1)));
  CHECK_FALSE(t.ends(d + "x"));
  CHECK_FALSE(t.ends(std::string(os::relay_end_magic)));
  CHECK_FALSE(t.ends(""));
  std::string sealed = d;  // a server's datagram: direction bit set
  sealed[0] = static_cast<char>(0x80);
  CHECK_FALSE(t.ends(sealed));
}

TEST_CASE("the relay reads its end token from the first line of its input") {
  const auto t = os::relay_end_token::generate();
  auto with_input = [](const std::string& text) {
    int p[2];
    REQUIRE(::pipe(p) == 0);
    REQUIRE(::write(p[1], text.data(), text.size()) == static_cast<ssize_t>(text.size()));
    ::close(p[1]);
    auto r = os::read_end_token(p[0], 2s);
    ::close(p[0]);
    return r;
  };
  auto good = with_input(t.text() + "\n");
  REQUIRE(good);
  CHECK(good->text() == t.text());
  CHECK(with_input(t.text() + "\r\n"));
  CHECK_FALSE(with_input(""));
  CHECK_FALSE(with_input("not a token\n"));
  CHECK_FALSE(with_input(t.text().substr(2) + "\n"));
  CHECK(with_input("").error().find("no end token") == std::string::npos);  // end of input is "not a token"
  int p[2];
  REQUIRE(::pipe(p) == 0);
  const auto silent = os::read_end_token(p[0], 50ms);  // nobody writes: a reason, not a hang
  REQUIRE_FALSE(silent);
  CHECK(silent.error().find("no end token") != std::string::npos);
  ::close(p[0]);
  ::close(p[1]);
}

TEST_CASE("a relay passes on forged ends and keeps running; the true end is passed on and ends it, file and all") {
  mosh2::test::temp_dir dir;
  fs::permissions(dir.path, fs::perms::owner_all);
  const auto token = os::relay_end_token::generate();
  loopback_socket client, server;
  os::relay_config c;
  c.bind_address = "127.0.0.1";
  c.port_low = c.port_high = 0;
  c.next_address = "127.0.0.1";
  c.next_port = server.port;
  c.end_token = token;
  c.status_dirs = {dir.path};
  auto bound = os::bind_relay(c);
  REQUIRE(bound);
  const auto relay_port = bound->port;
  auto ended = std::async(std::launch::async, [&] { return os::run_relay(c, *bound); });
  const fs::path file = dir.path / fmt::format("{}.json", ::getpid());

  client.send_to(relay_port, "sealed hello");
  const auto up = server.receive();
  REQUIRE(up);
  CHECK(up->first == "sealed hello");
  const std::uint16_t upstream = up->second;  // the relay's socket for this client
  server.send_to(upstream, "sealed reply");
  const auto down = client.receive();
  REQUIRE(down);
  CHECK(down->first == "sealed reply");
  CHECK(file_shows(file, R"("kind": "relay")"));
  CHECK(file_shows(file, fmt::format(R"("port": {})", server.port)));
  CHECK(file_shows(file, R"("proven": true)"));

  std::string wrong = token.datagram();
  wrong.back() = static_cast<char>(wrong.back() ^ 1);
  std::string sealed_looking = token.datagram();
  sealed_looking[0] = static_cast<char>(0x80);
  const std::string forged[] = {wrong, token.datagram().substr(0, 31), token.datagram() + "x", sealed_looking,
                                os::relay_end_token::generate().datagram()};
  for (const auto& f : forged) {
    server.send_to(upstream, f);
    const auto passed = client.receive();
    REQUIRE(passed);
    CHECK(passed->first == f);
    CHECK(ended.wait_for(0s) == std::future_status::timeout);
  }
  // The true end from anywhere but the next hop (here: the client's side) is only data.
  client.send_to(relay_port, token.datagram());
  const auto carried = server.receive();
  REQUIRE(carried);
  CHECK(carried->first == token.datagram());
  CHECK(ended.wait_for(0s) == std::future_status::timeout);

  server.send_to(upstream, token.datagram());
  const auto passed_on = client.receive();
  REQUIRE(passed_on);
  CHECK(passed_on->first == token.datagram());
  REQUIRE(ended.wait_for(5s) == std::future_status::ready);
  const auto r = ended.get();
  REQUIRE(r);
  CHECK(*r == 0);
  CHECK_FALSE(fs::exists(file));
}

TEST_CASE("the relay counts bytes per source and in total, and its pace tells traffic from heartbeats") {
  os::relay_sources s(2);
  const time_point t0{};
  const auto a = s.from_client("10.0.0.1:5000", t0, 100);
  (void)s.from_client("10.0.0.1:5000", t0, 50);
  (void)s.from_next_hop(a.slot, t0, 70);
  (void)s.from_client("[::1]:6000", t0, 10);
  (void)s.from_client("10.0.0.9:7000", t0 + 1s, 10);  // the table is full: the unproven one goes
  status::relay_status r;
  s.fill(r);
  REQUIRE(r.sources.size() == 2);
  CHECK(r.sources[0].address == "10.0.0.1");
  CHECK(r.sources[0].port == 5000);
  CHECK(r.sources[0].proven);
  CHECK(r.sources[0].up.datagrams == 2);
  CHECK(r.sources[0].up.bytes == 150);
  CHECK(r.sources[0].down.bytes == 70);
  CHECK(r.sources[1].address == "10.0.0.9");
  CHECK(r.up.datagrams == 4);
  CHECK(r.up.bytes == 170);
  CHECK(r.down.datagrams == 1);
  CHECK(r.sources_evicted == 1);
  CHECK(r.last_answer == t0);
  CHECK(os::split_endpoint("[::1]:6000") == std::pair<std::string, unsigned>{"::1", 6000});
  CHECK(os::split_endpoint("junk") == std::pair<std::string, unsigned>{"junk", 0});

  os::relay_pace pace;
  CHECK_FALSE(pace.busy(true, t0));
  CHECK_FALSE(pace.busy(true, t0 + 3s));  // heartbeats, 3 s apart
  CHECK_FALSE(pace.busy(false, t0 + 3s + 10ms));  // the other way is its own pace
  CHECK(pace.busy(true, t0 + 3s + 200ms));  // typing
}

}  // TEST_SUITE

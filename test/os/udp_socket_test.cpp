// The server's UDP port search and its error messages on real loopback sockets, and
// the EMSGSIZE fallback to the small MTU on a real socket.

#include <doctest/doctest.h>

#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>

#include "mosh2/crypto/session_key.hpp"
#include "mosh2/datagram/connection_core.hpp"
#include "mosh2/os/udp_socket.hpp"

using namespace mosh2;
using namespace mosh2::os;
using asio::ip::udp;

namespace {

/// A socket holding `port` on the dual-stack wildcard, so that neither 127.0.0.1, ::1
/// nor either wildcard can bind it.
std::optional<udp::socket> hold_port(asio::io_context& ctx, std::uint16_t port) {
  udp::socket s(ctx);
  asio::error_code ec;
  s.open(udp::v6(), ec);
  if (ec) return std::nullopt;
  s.set_option(asio::ip::v6_only(false), ec);
  s.bind({asio::ip::address_v6::any(), port}, ec);
  if (ec) return std::nullopt;
  return s;
}

/// `count` consecutive ports, all held by us; bounded tries over a random base.
std::vector<udp::socket> hold_consecutive(asio::io_context& ctx, unsigned count) {
  std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<unsigned> base(20000, 30000);
  for (int attempt = 0; attempt < 50; ++attempt) {
    const unsigned first = base(rng);
    std::vector<udp::socket> held;
    for (unsigned p = first; p < first + count; ++p) {
      auto s = hold_port(ctx, static_cast<std::uint16_t>(p));
      if (!s) break;
      held.push_back(std::move(*s));
    }
    if (held.size() == count) return held;
  }
  FAIL("no run of free UDP ports in 50 tries");
  return {};
}

std::uint16_t port_of(udp::socket& s) { return s.local_endpoint().port(); }

/// The one-line error bind_server_socket throws; the test fails if it binds instead.
std::string bind_failure(asio::io_context& ctx, std::optional<asio::ip::address> address, port_range ports,
                         std::string& note) {
  try {
    (void)bind_server_socket(ctx, address, ports, note);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  FAIL("bound a port that is in use");
  return {};
}

}  // namespace

TEST_SUITE("os") {
TEST_CASE("a port range with its first ports taken: the server takes the first free one") {
  asio::io_context ctx;
  auto held = hold_consecutive(ctx, 4);
  const auto first = port_of(held[0]);
  // Free the last two; the search must skip the two still held.
  held[3].close();
  held[2].close();
  std::string note;
  auto s = bind_server_socket(ctx, asio::ip::make_address("127.0.0.1"),
                              port_range{first, static_cast<std::uint16_t>(first + 3)}, note);
  CHECK(note.empty());
  CHECK(s.local_endpoint().port() == first + 2);
  CHECK(s.local_endpoint().address().to_string() == "127.0.0.1");
}

TEST_CASE("a single port in use: one line with the kernel's reason") {
  asio::io_context ctx;
  auto held = hold_consecutive(ctx, 1);
  const auto p = port_of(held[0]);
  std::string note;
  CHECK(bind_failure(ctx, std::nullopt, port_range{p, p}, note) ==
        fmt::format("could not bind UDP port {}: Address already in use", p));
  CHECK(note.empty());
  // With an address: first a warning naming it, then the same end.
  CHECK(bind_failure(ctx, asio::ip::make_address("127.0.0.1"), port_range{p, p}, note) ==
        fmt::format("could not bind UDP port {}: Address already in use", p));
  CHECK(note == fmt::format("could not bind to 127.0.0.1 port {}: Address already in use; binding to any address "
                            "instead", p));
}

TEST_CASE("a range with every port in use says so, with the range") {
  asio::io_context ctx;
  auto held = hold_consecutive(ctx, 2);
  const auto p = port_of(held[0]);
  std::string note;
  CHECK(bind_failure(ctx, std::nullopt, port_range{p, static_cast<std::uint16_t>(p + 1)}, note) ==
        fmt::format("could not bind any UDP port in {}-{}: Address already in use", p, p + 1));
}

TEST_CASE("an address that is not this machine's falls back to any address, with the reason and no port 0") {
  asio::io_context ctx;
  std::string note;
  auto s = bind_server_socket(ctx, asio::ip::make_address("192.0.2.1"), port_range{0, 0}, note);
  CHECK(note == "could not bind to 192.0.2.1: Cannot assign requested address; binding to any address instead");
  CHECK(s.local_endpoint().address().is_unspecified());
  CHECK(s.local_endpoint().port() != 0);
}

TEST_CASE("interface names are told apart from typos") {
  CHECK(is_interface_name("lo"));
  CHECK_FALSE(is_interface_name("nosuchif0"));
  CHECK_FALSE(is_interface_name(""));
  CHECK(resolve_bind_address("lo")->to_string() == "127.0.0.1");
  CHECK_FALSE(resolve_bind_address("nosuchif0").has_value());
}

// Runs only where loopback's MTU is below 1280: meson test 'os-small-mtu' runs it,
// with --no-skip, in an `unshare -n` namespace after `ip link set lo mtu 1000`: there, a datagram of the
// normal IPv4 size with DF set cannot leave, sendto fails with EMSGSIZE, and after
// mtu_exceeded() every datagram fits. Our sockets clear DF (IP_PMTUDISC_DONT) so that
// the kernel fragments instead; the test sets IP_PMTUDISC_DO to get the error a path
// that forbids fragmentation gives.
TEST_CASE("EMSGSIZE on a real socket lowers the MTU to the fallback, and what is sent then fits" *
          doctest::skip()) {
  // SIOCGIFMTU sees this network namespace's lo (/sys may still show the host's).
  const int probe = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ifreq req{};
  std::strcpy(req.ifr_name, "lo");
  const int rc = ::ioctl(probe, SIOCGIFMTU, &req);
  ::close(probe);
  REQUIRE_MESSAGE(rc == 0, "cannot read lo's MTU (SIOCGIFMTU)");
  const int lo_mtu = req.ifr_mtu;
  REQUIRE_MESSAGE(lo_mtu < 1280, "run in a namespace whose lo has an MTU below 1280 (meson test os-small-mtu)");

  asio::io_context ctx;
  udp::socket receiver(ctx, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  udp::socket sender = open_client_socket(ctx, receiver.local_endpoint());
  int pmtu = IP_PMTUDISC_DO;
  REQUIRE(::setsockopt(sender.native_handle(), IPPROTO_IP, IP_MTU_DISCOVER, &pmtu, sizeof pmtu) == 0);

  const auto key = crypto::session_key::generate();
  datagram::connection_core core(datagram::role::client, key, steady::now());
  core.set_address_family(datagram::address_family::ipv4);
  REQUIRE(core.mtu() == datagram::ipv4_mtu);
  const bytes full = core.seal(bytes(core.fragment_budget(), 'x'), steady::now());
  CHECK(full.size() == datagram::ipv4_mtu);
  CHECK(send_now(sender, receiver.local_endpoint(), full) == EMSGSIZE);

  core.mtu_exceeded();
  CHECK(core.mtu() == datagram::default_mtu);
  const bytes small = core.seal(bytes(core.fragment_budget(), 'y'), steady::now());
  CHECK(small.size() == datagram::default_mtu);
  CHECK(send_now(sender, receiver.local_endpoint(), small) == 0);
  auto got = receive_now(receiver);
  for (int i = 0; i < 100 && !got; ++i) {  // loopback delivers at once; allow a moment
    ::usleep(1000);
    got = receive_now(receiver);
  }
  REQUIRE(got.has_value());
  CHECK(got->payload.size() == datagram::default_mtu);
  CHECK_FALSE(got->truncated);
}
}

// UDP socket set-up and raw datagram I/O (recvmsg/sendto on the native handle, since
// Asio's receive does not expose MSG_TRUNC or the TOS byte).

#include "mosh2/os/udp_socket.hpp"

#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include <fmt/format.h>

namespace mosh2::os {
namespace {

constexpr std::size_t receive_buffer = 2048;  // protocol §3.4

std::optional<asio::ip::address> parse_numeric(const std::string& text) {
  asio::error_code ec;
  auto a = asio::ip::make_address(text, ec);
  if (ec) return std::nullopt;
  return a;
}

/// Tries every port of the range on `address`; returns an open, bound socket, or the
/// error of the last attempt (the kernel's reason, e.g. "Address already in use").
result<asio::ip::udp::socket, asio::error_code> bind_in_range(asio::io_context& ctx, const asio::ip::address& address,
                                                              port_range ports) {
  const auto proto = address.is_v4() ? asio::ip::udp::v4() : asio::ip::udp::v6();
  asio::ip::udp::socket s(ctx);
  asio::error_code ec;
  s.open(proto, ec);
  if (ec) return failure{ec};
  if (address.is_v6() && address.is_unspecified()) {
    s.set_option(asio::ip::v6_only(false), ec);  // one socket for both families
  }
  for (unsigned p = ports.low; p <= ports.high; ++p) {
    s.bind({address, static_cast<std::uint16_t>(p)}, ec);
    if (!ec) {
      apply_mosh_socket_options(s);
      return s;
    }
  }
  return failure{ec};
}

/// " port N", " ports A-B", or nothing for port 0 (the kernel picks).
std::string ports_phrase(port_range ports) {
  if (ports.low == 0) return {};
  if (ports.low == ports.high) return fmt::format(" port {}", ports.low);
  return fmt::format(" ports {}-{}", ports.low, ports.high);
}

}  // namespace

std::optional<asio::ip::address> resolve_bind_address(const std::string& text) {
  if (auto a = parse_numeric(text)) return a;
  // An interface name: take its addresses, IPv4 first, skipping link-local IPv6
  // (which would need a scope id the client cannot know).
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return std::nullopt;
  std::optional<asio::ip::address> v4, v6;
  for (ifaddrs* i = list; i; i = i->ifa_next) {
    if (!i->ifa_addr || !i->ifa_name || text != i->ifa_name) continue;
    if (i->ifa_addr->sa_family == AF_INET && !v4) {
      auto* sin = reinterpret_cast<sockaddr_in*>(i->ifa_addr);
      v4 = asio::ip::address_v4(ntohl(sin->sin_addr.s_addr));
    } else if (i->ifa_addr->sa_family == AF_INET6 && !v6) {
      auto* sin6 = reinterpret_cast<sockaddr_in6*>(i->ifa_addr);
      asio::ip::address_v6::bytes_type b;
      std::memcpy(b.data(), sin6->sin6_addr.s6_addr, 16);
      asio::ip::address_v6 a(b);
      if (!a.is_link_local()) v6 = a;
    }
  }
  ::freeifaddrs(list);
  if (v4) return v4;
  return v6;
}

std::optional<asio::ip::address> ssh_connection_address() {
  const char* conn = std::getenv("SSH_CONNECTION");
  if (!conn) return std::nullopt;
  std::istringstream words(conn);
  std::string client_ip, client_port, server_ip;
  if (!(words >> client_ip >> client_port >> server_ip)) return std::nullopt;
  if (server_ip.rfind("::ffff:", 0) == 0) server_ip = server_ip.substr(7);
  return parse_numeric(server_ip);
}

asio::ip::udp::socket bind_server_socket(asio::io_context& ctx, const std::optional<asio::ip::address>& address,
                                         port_range ports, std::string& note) {
  if (address) {
    auto s = bind_in_range(ctx, *address, ports);
    if (s) return std::move(*s);
    note = fmt::format("could not bind to {}{}: {}; binding to any address instead", address->to_string(),
                       ports_phrase(ports), s.error().message());
  }
  auto any6 = bind_in_range(ctx, asio::ip::address_v6::any(), ports);
  if (any6) return std::move(*any6);
  auto any4 = bind_in_range(ctx, asio::ip::address_v4::any(), ports);
  if (any4) return std::move(*any4);
  // Without IPv6 the first error says only that; the IPv4 one is the real reason.
  const auto& why = any6.error() == asio::error::address_family_not_supported ? any4.error() : any6.error();
  if (ports.low == 0) throw std::runtime_error(fmt::format("could not bind a UDP port: {}", why.message()));
  if (ports.low == ports.high)
    throw std::runtime_error(fmt::format("could not bind UDP port {}: {}", ports.low, why.message()));
  throw std::runtime_error(
      fmt::format("could not bind any UDP port in {}-{}: {}", ports.low, ports.high, why.message()));
}

bool is_interface_name(const std::string& text) {
  return !text.empty() && ::if_nametoindex(text.c_str()) != 0;
}

asio::ip::udp::socket open_client_socket(asio::io_context& ctx, const asio::ip::udp::endpoint& peer) {
  asio::ip::udp::socket s(ctx);
  s.open(peer.protocol());
  apply_mosh_socket_options(s);
  return s;
}

void apply_mosh_socket_options(asio::ip::udp::socket& s) {
  const int fd = s.native_handle();
  // Asio opens sockets without SOCK_CLOEXEC; without this the server's socket would
  // live on in the user's shell and every program it starts.
  ::fcntl(fd, F_SETFD, ::fcntl(fd, F_GETFD) | FD_CLOEXEC);
  const bool v4 = s.local_endpoint().protocol() == asio::ip::udp::v4();
  int on = 1;
  int tos = 0x02;  // ECT(0): lets routers mark congestion instead of dropping
  if (v4) {
    int pmtu = IP_PMTUDISC_DONT;  // fragments are sized for 1280-byte paths; never set DF
    ::setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu, sizeof pmtu);
    ::setsockopt(fd, IPPROTO_IP, IP_TOS, &tos, sizeof tos);
    ::setsockopt(fd, IPPROTO_IP, IP_RECVTOS, &on, sizeof on);
  } else {
    int pmtu = IPV6_PMTUDISC_DONT;
    ::setsockopt(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &pmtu, sizeof pmtu);
    ::setsockopt(fd, IPPROTO_IPV6, IPV6_TCLASS, &tos, sizeof tos);
    ::setsockopt(fd, IPPROTO_IPV6, IPV6_RECVTCLASS, &on, sizeof on);
    // A dual-stack socket receives IPv4 too: ask for both kinds of TOS.
    ::setsockopt(fd, IPPROTO_IP, IP_RECVTOS, &on, sizeof on);
  }
  s.non_blocking(true);
}

std::optional<received_datagram> receive_now(asio::ip::udp::socket& s) {
  received_datagram d;
  d.payload.resize(receive_buffer);
  sockaddr_storage from {};
  iovec iov{d.payload.data(), d.payload.size()};
  alignas(cmsghdr) char control[256];
  msghdr msg {};
  msg.msg_name = &from;
  msg.msg_namelen = sizeof from;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  do {
    n = ::recvmsg(s.native_handle(), &msg, MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return std::nullopt;
  d.payload.resize(static_cast<std::size_t>(n));
  d.truncated = (msg.msg_flags & MSG_TRUNC) != 0;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    int tos = -1;
    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TOS && c->cmsg_len >= CMSG_LEN(1))
      tos = *reinterpret_cast<unsigned char*>(CMSG_DATA(c));
    else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_TCLASS && c->cmsg_len >= CMSG_LEN(sizeof(int)))
      std::memcpy(&tos, CMSG_DATA(c), sizeof tos);
    if (tos >= 0 && (tos & 0x03) == 0x03) d.congestion = true;
  }
  if (from.ss_family == AF_INET) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&from);
    d.from = {asio::ip::address_v4(ntohl(sin->sin_addr.s_addr)), ntohs(sin->sin_port)};
  } else if (from.ss_family == AF_INET6) {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&from);
    asio::ip::address_v6::bytes_type b;
    std::memcpy(b.data(), sin6->sin6_addr.s6_addr, 16);
    asio::ip::address_v6 a(b, sin6->sin6_scope_id);
    // Present IPv4 peers of a dual-stack socket as IPv4, so logs and MTU read right.
    if (a.is_v4_mapped()) d.from = {asio::ip::make_address_v4(asio::ip::v4_mapped, a), ntohs(sin6->sin6_port)};
    else d.from = {a, ntohs(sin6->sin6_port)};
  }
  return d;
}

int send_now(asio::ip::udp::socket& s, const asio::ip::udp::endpoint& to, bytes_view data) {
  asio::ip::udp::endpoint target = to;
  // A dual-stack IPv6 socket reaches IPv4 peers through their mapped address.
  if (to.address().is_v4() && s.local_endpoint().protocol() == asio::ip::udp::v6())
    target = {asio::ip::make_address_v6(asio::ip::v4_mapped, to.address().to_v4()), to.port()};
  ssize_t n;
  do {
    n = ::sendto(s.native_handle(), data.data(), data.size(), MSG_DONTWAIT, target.data(),
                 static_cast<socklen_t>(target.size()));
  } while (n < 0 && errno == EINTR);
  return n < 0 ? errno : 0;
}

}  // namespace mosh2::os

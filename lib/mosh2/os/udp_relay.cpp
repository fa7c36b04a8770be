#include "mosh2/os/udp_relay.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace mosh2::os {
namespace {

struct address {
  sockaddr_storage sa{};
  socklen_t len = 0;
};

std::optional<address> numeric(const std::string& ip, std::uint16_t port) {
  address a;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&a.sa);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.sa);
  if (::inet_pton(AF_INET, ip.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    a.len = sizeof(sockaddr_in);
    return a;
  }
  if (::inet_pton(AF_INET6, ip.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    a.len = sizeof(sockaddr_in6);
    return a;
  }
  return std::nullopt;
}

std::string text_of(const sockaddr_storage& sa) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (sa.ss_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(&sa);
    ::inet_ntop(AF_INET, &v4->sin_addr, buf, sizeof buf);
    return fmt::format("{}:{}", buf, ntohs(v4->sin_port));
  }
  const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&sa);
  ::inet_ntop(AF_INET6, &v6->sin6_addr, buf, sizeof buf);
  return fmt::format("[{}]:{}", buf, ntohs(v6->sin6_port));
}

}  // namespace

result<relay_socket, std::string> bind_relay(const relay_config& c) {
  for (std::uint32_t p = c.port_low; p <= c.port_high; ++p) {
    auto a = numeric(c.bind_address, static_cast<std::uint16_t>(p));
    if (!a) return failure{fmt::format("relay: \"{}\" is not a numeric IP address", c.bind_address)};
    const int fd = ::socket(a->sa.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return failure{fmt::format("relay: cannot open a UDP socket: {}", std::strerror(errno))};
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a->sa), a->len) == 0) {
      sockaddr_storage got{};
      socklen_t len = sizeof got;
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&got), &len);
      const auto port = got.ss_family == AF_INET ? ntohs(reinterpret_cast<sockaddr_in*>(&got)->sin_port)
                                                 : ntohs(reinterpret_cast<sockaddr_in6*>(&got)->sin6_port);
      return relay_socket{fd, port};
    }
    const int e = errno;
    ::close(fd);
    if (e != EADDRINUSE || p == c.port_high)
      return failure{fmt::format("relay: cannot bind {} port {}: {}", c.bind_address,
                                 c.port_low == c.port_high ? fmt::format("{}", p)
                                                           : fmt::format("{}-{}", c.port_low, c.port_high),
                                 std::strerror(e))};
  }
  return failure{std::string("relay: no port to bind")};
}

result<int, std::string> run_relay(const relay_config& c, relay_socket s) {
  const auto next = numeric(c.next_address, c.next_port);
  if (!next) {
    ::close(s.fd);
    return failure{fmt::format("relay: \"{}\" is not a numeric IP address", c.next_address)};
  }
  relay_sources sources;
  std::array<int, relay_max_sources> up;
  up.fill(-1);
  std::array<address, relay_max_sources> peers{};  // where each source's replies go
  std::array<char, 65536> buf;
  const time_point started = steady::now();
  auto close_all = [&] {
    for (int fd : up)
      if (fd >= 0) ::close(fd);
    ::close(s.fd);
  };
  for (;;) {
    const time_point now = steady::now();
    const time_point quiet_since = sources.last_answer().value_or(started);
    if (now - quiet_since >= c.idle_timeout) {
      close_all();
      return 0;
    }
    std::array<pollfd, relay_max_sources + 1> fds;
    fds[0] = {s.fd, POLLIN, 0};
    for (std::size_t i = 0; i < up.size(); ++i) fds[i + 1] = {up[i], POLLIN, 0};  // -1 is skipped
    const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(quiet_since + c.idle_timeout - now);
    const int n = ::poll(fds.data(), fds.size(), static_cast<int>(std::min<long long>(wait.count() + 1, 60000)));
    if (n < 0 && errno != EINTR) {
      const int e = errno;
      close_all();
      return failure{fmt::format("relay: {}", std::strerror(e))};
    }
    if (n <= 0) continue;
    if (fds[0].revents & POLLIN) {
      sockaddr_storage from{};
      socklen_t from_len = sizeof from;
      const ssize_t got = ::recvfrom(s.fd, buf.data(), buf.size(), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from),
                                     &from_len);
      if (got > 0) {
        const auto place = sources.from_client(text_of(from), steady::now());
        int& fd = up[place.slot];
        if (place.fresh) {
          if (fd >= 0) ::close(fd);
          fd = ::socket(next->sa.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
          if (fd >= 0 && ::connect(fd, reinterpret_cast<const sockaddr*>(&next->sa), next->len) != 0) {
            ::close(fd);
            fd = -1;
          }
          // The reply address of a source, kept beside its socket.
          peers[place.slot] = {from, from_len};
        }
        if (fd >= 0) (void)::send(fd, buf.data(), static_cast<std::size_t>(got), 0);  // a refused send is a loss
      }
    }
    for (std::size_t i = 0; i < up.size(); ++i) {
      if (up[i] < 0 || !(fds[i + 1].revents & POLLIN)) continue;
      const ssize_t got = ::recv(up[i], buf.data(), buf.size(), MSG_DONTWAIT);
      if (got > 0 && sources.from_next_hop(i, steady::now()))
        (void)::sendto(s.fd, buf.data(), static_cast<std::size_t>(got), 0,
                       reinterpret_cast<const sockaddr*>(&peers[i].sa), peers[i].len);
    }
  }
}

}  // namespace mosh2::os

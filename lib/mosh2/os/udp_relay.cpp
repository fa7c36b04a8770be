#include "mosh2/os/udp_relay.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "mosh2/status/status_file.hpp"

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

void relay_sources::fill(status::relay_status& s) const {
  s.sources.clear();
  for (const auto& e : entries_) {
    if (!e) continue;
    auto [address, port] = split_endpoint(e->source);
    s.sources.push_back({std::move(address), port, e->proven, e->up, e->down, e->last_seen});
  }
  s.up = up_;
  s.down = down_;
  s.sources_evicted = evicted_;
  s.last_answer = last_answer();
}

std::pair<std::string, unsigned> split_endpoint(const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon + 1 == text.size()) return {text, 0};
  unsigned port = 0;
  for (std::size_t i = colon + 1; i < text.size(); ++i) {
    if (text[i] < '0' || text[i] > '9' || port > 65535) return {text, 0};
    port = port * 10 + static_cast<unsigned>(text[i] - '0');
  }
  if (port > 65535) return {text, 0};
  std::string address = text.substr(0, colon);
  if (address.size() >= 2 && address.front() == '[' && address.back() == ']') address = address.substr(1, address.size() - 2);
  return {address, port};
}

namespace {

/// SIGTERM, SIGINT and SIGHUP as a descriptor the poll loop reads, so that the relay
/// ends through its own exit path (the status file removed) whatever ends it.
int ending_signals() {
  sigset_t set;
  ::sigemptyset(&set);
  for (int s : {SIGTERM, SIGINT, SIGHUP}) ::sigaddset(&set, s);
  ::sigprocmask(SIG_BLOCK, &set, nullptr);
  return ::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

}  // namespace

result<relay_end_token, std::string> read_end_token(int fd, std::chrono::milliseconds within) {
  const auto deadline = steady::now() + within;
  std::string line;
  // A token line is 33 bytes; a little more allows a \r\n.
  while (line.find('\n') == std::string::npos && line.size() < 64) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady::now()).count();
    pollfd p{fd, POLLIN, 0};
    if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) == 0)
      return failure{std::string("relay: no end token on standard input")};
    char c[64];
    const ssize_t n = ::read(fd, c, sizeof c - line.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    line.append(c, static_cast<std::size_t>(n));
  }
  line = line.substr(0, line.find('\n'));
  if (!line.empty() && line.back() == '\r') line.pop_back();
  auto t = relay_end_token::parse(line);
  if (!t) return failure{std::string("relay: standard input does not start with an end token (32 hex digits)")};
  return *t;
}

result<int, std::string> run_relay(const relay_config& c, relay_socket s) {
  const auto next = numeric(c.next_address, c.next_port);
  if (!next) {
    ::close(s.fd);
    return failure{fmt::format("relay: \"{}\" is not a numeric IP address", c.next_address)};
  }
  relay_sources sources;
  relay_pace pace;
  std::array<int, relay_max_sources> up;
  up.fill(-1);
  std::array<address, relay_max_sources> peers{};  // where each source's replies go
  std::array<char, 65536> buf;
  const time_point started = steady::now();
  status::relay_status report;
  report.pid = ::getpid();
  report.started = started;
  report.bind_address = c.bind_address;
  report.bind_port = s.port;
  report.next_address = c.next_address;
  report.next_port = c.next_port;
  report.idle_timeout = c.idle_timeout;
  report.ends_with_session = c.end_token.has_value();
  // Written first now, then only when something moved; removed when `status` goes.
  std::optional<status::status_reporter> status;
  if (!c.status_dirs.empty()) status.emplace(c.status_dirs);
  const auto publish = [&](time_point now) {
    if (!status || !status->due(now)) return;
    sources.fill(report);
    (void)status->publish(report, now);  // quiet: the file must never stop the relay
  };
  const auto touched = [&](bool news) {
    if (!status) return;
    if (news) status->touch();
    else status->touch_idle();
  };
  const int signals = ending_signals();
  auto close_all = [&] {
    for (int fd : up)
      if (fd >= 0) ::close(fd);
    ::close(s.fd);
    if (signals >= 0) ::close(signals);
  };
  const auto send_down = [&](std::size_t slot, const char* data, std::size_t n) {
    if (::sendto(s.fd, data, n, 0, reinterpret_cast<const sockaddr*>(&peers[slot].sa), peers[slot].len) < 0) {
      ++report.sends_refused;
      touched(true);
    }
  };
  for (;;) {
    const time_point now = steady::now();
    publish(now);
    const time_point quiet_since = sources.last_answer().value_or(started);
    if (now - quiet_since >= c.idle_timeout) {
      close_all();
      return 0;
    }
    std::array<pollfd, relay_max_sources + 2> fds;
    fds[0] = {s.fd, POLLIN, 0};
    for (std::size_t i = 0; i < up.size(); ++i) fds[i + 1] = {up[i], POLLIN, 0};  // -1 is skipped
    fds[relay_max_sources + 1] = {signals, POLLIN, 0};
    const time_point wake = std::min(quiet_since + c.idle_timeout, status ? status->next_deadline() : never);
    const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(wake - now);
    const int n = ::poll(fds.data(), fds.size(), static_cast<int>(std::clamp<long long>(wait.count() + 1, 0, 60000)));
    if (n < 0 && errno != EINTR) {
      const int e = errno;
      close_all();
      return failure{fmt::format("relay: {}", std::strerror(e))};
    }
    if (n <= 0) continue;
    if (fds[relay_max_sources + 1].revents & POLLIN) {
      close_all();
      return 0;
    }
    if (fds[0].revents & POLLIN) {
      sockaddr_storage from{};
      socklen_t from_len = sizeof from;
      const ssize_t got = ::recvfrom(s.fd, buf.data(), buf.size(), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from),
                                     &from_len);
      if (got > 0) {
        const time_point at = steady::now();
        const auto place = sources.from_client(text_of(from), at, static_cast<std::size_t>(got));
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
        const bool busy = pace.busy(true, at);
        bool refused = fd < 0;
        if (fd < 0) ++report.unsocketed;
        else if (::send(fd, buf.data(), static_cast<std::size_t>(got), 0) < 0) refused = true;  // a loss
        if (fd >= 0 && refused) ++report.sends_refused;
        touched(place.fresh || refused || busy);
      }
    }
    for (std::size_t i = 0; i < up.size(); ++i) {
      if (up[i] < 0 || !(fds[i + 1].revents & POLLIN)) continue;
      const ssize_t got = ::recv(up[i], buf.data(), buf.size(), MSG_DONTWAIT);
      if (got <= 0) continue;
      const std::string_view datagram(buf.data(), static_cast<std::size_t>(got));
      if (c.end_token && c.end_token->ends(datagram)) {
        // The session is over: every source that was answered hears it too (the relay
        // before this one in a chain ends the same way), then this relay ends.
        for (std::size_t k = 0; k < up.size(); ++k)
          if (up[k] >= 0 && (k == i || sources.proven(k))) send_down(k, datagram.data(), datagram.size());
        close_all();
        return 0;
      }
      const time_point at = steady::now();
      const bool first_answer = !sources.proven(i);
      const bool busy = pace.busy(false, at);
      if (sources.from_next_hop(i, at, datagram.size())) {
        send_down(i, datagram.data(), datagram.size());
        touched(first_answer || busy);
      }
    }
  }
}

}  // namespace mosh2::os

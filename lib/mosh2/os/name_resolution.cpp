// getaddrinfo, connect and bind probes.

#include "mosh2/os/name_resolution.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace mosh2::os {

result<std::vector<resolved_address>, std::string> resolve_stream(const std::string& host, const std::string& port,
                                                                  int family) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_family = family;
  addrinfo* found = nullptr;
  if (int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &found); rc != 0)
    return failure{fmt::format("could not resolve {}: {}", host, ::gai_strerror(rc))};
  std::vector<resolved_address> out;
  for (addrinfo* a = found; a; a = a->ai_next) {
    resolved_address c;
    std::memcpy(&c.address, a->ai_addr, a->ai_addrlen);
    c.length = a->ai_addrlen;
    c.family = a->ai_family;
    char numeric[NI_MAXHOST] = {};
    if (::getnameinfo(a->ai_addr, a->ai_addrlen, numeric, sizeof numeric, nullptr, 0, NI_NUMERICHOST) == 0) {
      c.numeric = numeric;
      out.push_back(c);
    }
  }
  ::freeaddrinfo(found);
  return out;
}

result<tcp_connection, int> connect_first(const std::vector<resolved_address>& addresses) {
  int last_error = 0;
  for (const auto& a : addresses) {
    const int sock = ::socket(a.family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (sock < 0) {
      last_error = errno;
      continue;
    }
    if (::connect(sock, reinterpret_cast<const sockaddr*>(&a.address), a.length) == 0)
      return tcp_connection{sock, a.numeric};
    last_error = errno;
    ::close(sock);
  }
  return failure{last_error};
}

bool is_local_address(const std::string& address) {
  addrinfo hints{};
  hints.ai_flags = AI_NUMERICHOST;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* found = nullptr;
  if (::getaddrinfo(address.c_str(), "0", &hints, &found) != 0) return true;
  const int s = ::socket(found->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  const int rc = s < 0 ? 0 : ::bind(s, found->ai_addr, found->ai_addrlen);
  const int e = errno;
  if (s >= 0) ::close(s);
  ::freeaddrinfo(found);
  return !(rc != 0 && e == EADDRNOTAVAIL);
}

}  // namespace mosh2::os

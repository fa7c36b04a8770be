#pragma once
// Host names to addresses, and the first address that takes a TCP connection: what the
// launcher's ProxyCommand and --experimental-remote-ip=local need. Which addresses to
// try and in which order is decided elsewhere (launcher/address_choice); this is the
// resolver and the sockets.

#include <sys/socket.h>

#include <string>
#include <vector>

#include "mosh2/util/result.hpp"

namespace mosh2::os {

/// One address of a host, with its numeric text.
struct resolved_address {
  sockaddr_storage address{};
  socklen_t length = 0;
  int family = AF_UNSPEC;  ///< AF_INET or AF_INET6
  std::string numeric;
};

/// The stream addresses of `host` for `port` in the resolver's order, restricted to
/// `family` (AF_INET, AF_INET6 or AF_UNSPEC); or "could not resolve HOST: REASON".
result<std::vector<resolved_address>, std::string> resolve_stream(const std::string& host, const std::string& port,
                                                                  int family);

/// A TCP connection and the address it reached.
struct tcp_connection {
  int fd = -1;
  std::string numeric;
};

/// Connects to the first address that accepts, in order; or the errno of the last try.
result<tcp_connection, int> connect_first(const std::vector<resolved_address>& addresses);

/// False when `address` (numeric) is not one of this machine's: binding a UDP socket to
/// it fails with EADDRNOTAVAIL. Anything else (including a text that is not an address)
/// gives true, leaving the error to whoever binds it later.
bool is_local_address(const std::string& address);

}  // namespace mosh2::os

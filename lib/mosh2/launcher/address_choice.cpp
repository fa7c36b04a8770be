// Ordering and checking a host's addresses for --family.

#include "mosh2/launcher/address_choice.hpp"

#include <sys/socket.h>

#include <algorithm>

#include <fmt/format.h>

namespace mosh2::launcher {

int resolver_family(address_family f) {
  return f == address_family::inet ? AF_INET : f == address_family::inet6 ? AF_INET6 : AF_UNSPEC;
}

result<std::vector<os::resolved_address>, std::string> order_addresses(std::vector<os::resolved_address> found,
                                                                       address_family f, const std::string& host) {
  const auto first = [&](int family) {
    std::stable_partition(found.begin(), found.end(),
                          [=](const os::resolved_address& a) { return a.family == family; });
  };
  if (f == address_family::prefer_inet) first(AF_INET);
  if (f == address_family::prefer_inet6) first(AF_INET6);
  const auto has = [&](int family) {
    return std::any_of(found.begin(), found.end(), [=](const os::resolved_address& a) { return a.family == family; });
  };
  if (f == address_family::auto_detect && has(AF_INET) && has(AF_INET6))
    return failure{fmt::format("{} has both IPv4 and IPv6 addresses; --family=auto needs a single-family host "
                               "(use -4, -6 or --family=all)",
                               host)};
  if (found.empty()) return failure{fmt::format("could not resolve {}: no usable address", host)};
  return found;
}

}  // namespace mosh2::launcher

#pragma once
// Which of a host's addresses the launcher tries, in which order (--family, -4, -6).

#include <string>
#include <vector>

#include "mosh2/launcher/launcher_options.hpp"
#include "mosh2/os/name_resolution.hpp"
#include "mosh2/util/result.hpp"

namespace mosh2::launcher {

/// The family to ask the resolver for: AF_INET, AF_INET6 or AF_UNSPEC.
int resolver_family(address_family f);

/// `found` ordered as `f` asks (stable within a family), or a one-line error: no address,
/// or both families for --family=auto.
result<std::vector<os::resolved_address>, std::string> order_addresses(std::vector<os::resolved_address> found,
                                                                       address_family f, const std::string& host);

}  // namespace mosh2::launcher

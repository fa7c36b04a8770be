#pragma once
// Shared fixtures for the datagram tests: a fake clock and a fixed session key.

#include <cstdint>

#include "mosh2/crypto/session_key.hpp"
#include "mosh2/util/clock.hpp"

namespace mosh2::datagram::test {

/// The fake clock: `ms` milliseconds after the steady epoch.
inline time_point at(std::int64_t ms) { return time_point(milliseconds(ms)); }

/// A fixed, non-trivial key so runs are reproducible.
inline crypto::session_key fixed_key() {
  crypto::session_key::raw_type raw{};
  for (std::size_t i = 0; i < raw.size(); ++i) raw[i] = static_cast<std::uint8_t>(0xa5 ^ (i * 13));
  return crypto::session_key(raw);
}

}  // namespace mosh2::datagram::test

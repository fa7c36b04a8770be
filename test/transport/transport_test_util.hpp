#pragma once
// Small helpers shared by the transport tests: hex literals and seeded random bytes.

#include <cstddef>
#include <random>
#include <stdexcept>
#include <string_view>

#include "mosh2/util/bytes.hpp"

namespace mosh2::transport::test {

/// Bytes from a hex literal (spaces allowed); a typo in a test is a loud failure.
inline bytes unhex(std::string_view hex) {
  bytes out;
  if (!from_hex(hex, out)) throw std::invalid_argument("bad hex literal in test");
  return out;
}

/// `n` bytes from a seeded generator, so every run sees the same data.
inline bytes random_bytes(std::mt19937_64& rng, std::size_t n) {
  bytes out(n, '\0');
  for (auto& c : out) c = static_cast<char>(rng() & 0xff);
  return out;
}

}  // namespace mosh2::transport::test

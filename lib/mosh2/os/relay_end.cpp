// The relay's end datagram; see relay_end.hpp.

#include "mosh2/os/relay_end.hpp"

#include "mosh2/util/random.hpp"

namespace mosh2::os {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

relay_end_token relay_end_token::generate() {
  relay_end_token t;
  const std::string random = random_bytes(size);
  for (std::size_t i = 0; i < size; ++i) t.bytes_[i] = static_cast<std::uint8_t>(random[i]);
  return t;
}

std::optional<relay_end_token> relay_end_token::parse(std::string_view text) {
  if (text.size() != 2 * size) return std::nullopt;
  relay_end_token t;
  for (std::size_t i = 0; i < size; ++i) {
    const int hi = hex_value(text[2 * i]), lo = hex_value(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    t.bytes_[i] = static_cast<std::uint8_t>(hi * 16 + lo);
  }
  return t;
}

std::string relay_end_token::text() const {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (auto b : bytes_) {
    out += digits[b >> 4];
    out += digits[b & 15];
  }
  return out;
}

std::string relay_end_token::datagram() const {
  std::string d(relay_end_magic);
  for (auto b : bytes_) d += static_cast<char>(b);
  return d;
}

bool relay_end_token::ends(std::string_view d) const {
  if (d.size() != relay_end_magic.size() + size || d.substr(0, relay_end_magic.size()) != relay_end_magic) return false;
  // The magic is public; only the token is secret, and it is compared without an early
  // exit so that its bytes cannot be found one at a time.
  unsigned diff = 0;
  for (std::size_t i = 0; i < size; ++i)
    diff |= static_cast<std::uint8_t>(d[relay_end_magic.size() + i]) ^ bytes_[i];
  return diff == 0;
}

}  // namespace mosh2::os

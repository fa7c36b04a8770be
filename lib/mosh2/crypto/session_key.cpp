// The session key: generation, and our own strict base64 for its printed form.

#include "mosh2/crypto/session_key.hpp"

#include <algorithm>

#include "mosh2/util/random.hpp"

namespace mosh2::crypto {
namespace {

constexpr std::string_view alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// Value of one base64 letter, or -1 (padding '=' is not a letter here: the printed
// key never carries it).
int letter_value(char c) noexcept {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

std::string_view describe(key_error e) noexcept {
  switch (e) {
    case key_error::wrong_length: return "Key must be 22 letters long.";
    case key_error::bad_character: return "Key must be well-formed base64.";
    case key_error::not_canonical: return "Key must be canonical base64 (last letter A, Q, g or w).";
  }
  return "Key is invalid.";
}

session_key session_key::generate() {
  const std::string random = random_bytes(size);
  raw_type raw{};
  std::transform(random.begin(), random.end(), raw.begin(),
                 [](char c) { return static_cast<std::uint8_t>(c); });
  return session_key(raw);
}

result<session_key, key_error> session_key::parse(std::string_view printed) {
  if (printed.size() != printed_size) return failure{key_error::wrong_length};
  // 22 letters carry 132 bits: the 128 key bits, then 4 padding bits that a
  // canonical encoder leaves zero. Decoding "letters + ==" and re-encoding
  // reproduces the input exactly when those 4 bits are zero.
  raw_type raw{};
  std::uint32_t acc = 0;
  int bits = 0;
  std::size_t out = 0;
  for (char c : printed) {
    const int v = letter_value(c);
    if (v < 0) return failure{key_error::bad_character};
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8 && out < size) {
      bits -= 8;
      raw[out++] = static_cast<std::uint8_t>((acc >> bits) & 0xff);
    }
  }
  if ((acc & ((1u << bits) - 1)) != 0) return failure{key_error::not_canonical};
  return session_key(raw);
}

std::string session_key::to_string() const {
  std::string out;
  out.reserve(printed_size + 2);
  for (std::size_t i = 0; i < size; i += 3) {
    const std::size_t n = std::min<std::size_t>(3, size - i);
    std::uint32_t group = 0;
    for (std::size_t j = 0; j < 3; ++j)
      group = (group << 8) | (j < n ? raw_[i + j] : 0u);
    for (std::size_t j = 0; j < n + 1; ++j) out.push_back(alphabet[(group >> (18 - 6 * j)) & 63]);
  }
  // 16 bytes encode to 22 letters plus "==", which the printed form drops.
  return out;
}

session_key::~session_key() {
  // Volatile stores so the wipe of a dying key is not optimised away.
  volatile std::uint8_t* p = raw_.data();
  for (std::size_t i = 0; i < raw_.size(); ++i) p[i] = 0;
}

}  // namespace mosh2::crypto

#pragma once
// Byte strings and big-endian integer helpers. The wire is bytes in std::string
// (as protobuf, zlib and Botan all accept them); views never own.

#include <cstdint>
#include <string>
#include <string_view>

namespace mosh2 {

using bytes = std::string;            ///< owned bytes (may contain NUL)
using bytes_view = std::string_view;  ///< borrowed bytes

/// Appends `value` as `N` big-endian bytes.
template <std::size_t N, class U> void put_be(bytes& out, U value) {
  for (std::size_t i = N; i-- > 0;)
    out.push_back(static_cast<char>((static_cast<std::uint64_t>(value) >> (8 * i)) & 0xff));
}

/// Reads `N` big-endian bytes from the start of `in`; the caller checks the length.
template <std::size_t N> std::uint64_t get_be(bytes_view in) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < N; ++i) v = (v << 8) | static_cast<unsigned char>(in[i]);
  return v;
}

/// Lower-case hex, for test output and logs.
inline std::string to_hex(bytes_view in) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(in.size() * 2);
  for (unsigned char c : in) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

/// Parses hex (either case, whitespace ignored); returns false on a bad digit or odd length.
inline bool from_hex(std::string_view hex, bytes& out) {
  out.clear();
  int hi = -1;
  for (char c : hex) {
    int d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
    else if (c == ' ' || c == '\n' || c == '\t') continue;
    else return false;
    if (hi < 0) hi = d;
    else { out.push_back(static_cast<char>(hi << 4 | d)); hi = -1; }
  }
  return hi < 0;
}

}  // namespace mosh2

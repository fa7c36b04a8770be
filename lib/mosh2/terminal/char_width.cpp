// Column widths from the generated table of code points whose width is not 1: a packed
// lookup table for planes 0 and 1 (nearly all text), computed at compile time from the
// ranges, and a binary search of the ranges above.

#include "mosh2/terminal/char_width.hpp"

#include <algorithm>
#include <array>
#include <iterator>

#include "mosh2/terminal/char_width_table.hpp"

namespace mosh2::terminal::detail {

namespace {

// Width + 1 (0-3) of every code point below packed_width_limit, four to a byte, filled
// from the same ranges the search uses: the two always agree.
constexpr std::array<std::uint8_t, packed_width_limit / 4> pack_widths() {
  std::array<std::uint8_t, packed_width_limit / 4> bits{};
  for (auto& b : bits) b = 0xAA;  // 0b10 four times: width 1
  for (const auto& r : char_width_ranges) {
    if (r.first >= packed_width_limit) break;
    const char32_t last = std::min<char32_t>(r.last, packed_width_limit - 1);
    for (char32_t c = r.first; c <= last; ++c) {
      const unsigned shift = (c & 3u) * 2;
      auto& b = bits[c >> 2];
      b = static_cast<std::uint8_t>((b & ~(3u << shift)) | (static_cast<unsigned>(r.width + 1) << shift));
    }
  }
  return bits;
}

}  // namespace

constexpr std::array<std::uint8_t, packed_width_limit / 4> packed_widths = pack_widths();

int char_width_search(char32_t cp) {
  if (cp > 0x10FFFF) return -1;
  const auto* end = std::end(char_width_ranges);
  const auto* it = std::upper_bound(std::begin(char_width_ranges), end, cp,
                                    [](char32_t c, const width_range& r) { return c < r.first; });
  if (it == std::begin(char_width_ranges)) return 1;
  --it;
  return cp <= it->last ? it->width : 1;
}

}  // namespace mosh2::terminal::detail

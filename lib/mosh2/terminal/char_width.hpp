#pragma once
// Column width of a code point, from our own table generated from Unicode data so that
// it agrees with glibc 2.36's C.UTF-8 wcwidth (the width a stock Mosh 1.4 peer uses).

#include <array>
#include <cstdint>

namespace mosh2::terminal {

namespace detail {
/// Code points below this are looked up in packed_widths, the rest searched.
inline constexpr char32_t packed_width_limit = 0x20000;
/// Width + 1 of every code point below packed_width_limit, 2 bits each, low bits first.
extern const std::array<std::uint8_t, packed_width_limit / 4> packed_widths;
/// The width by binary search of the generated ranges (the source of the packed table).
int char_width_search(char32_t cp);
}  // namespace detail

/// Columns a code point occupies: 2 (wide), 1, 0 (combining or format character) or -1
/// (control, unassigned, surrogate or out of range: not printed). Printable ISO 8859-1
/// is always 1, as in Mosh 1.4, without consulting the table.
inline int char_width(char32_t cp) {
  if (cp < 0x100) {
    if ((cp >= 0x20 && cp < 0x7F) || cp >= 0xA0) return 1;
    return -1;
  }
  if (cp < detail::packed_width_limit)
    return static_cast<int>((detail::packed_widths[cp >> 2] >> ((cp & 3u) * 2)) & 3u) - 1;
  return detail::char_width_search(cp);
}

}  // namespace mosh2::terminal

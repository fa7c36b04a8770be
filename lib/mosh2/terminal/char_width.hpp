#pragma once
// Column width of a code point, from our own table generated from Unicode data so that
// it agrees with glibc 2.36's C.UTF-8 wcwidth (the width a stock Mosh 1.4 peer uses).

namespace mosh2::terminal {

namespace detail {
int char_width_slow(char32_t cp);
}

/// Columns a code point occupies: 2 (wide), 1, 0 (combining or format character) or -1
/// (control, unassigned, surrogate or out of range: not printed). Printable ISO 8859-1
/// is always 1, as in Mosh 1.4, without consulting the table.
inline int char_width(char32_t cp) {
  if (cp < 0x100) {
    if ((cp >= 0x20 && cp < 0x7F) || cp >= 0xA0) return 1;
    return -1;
  }
  return detail::char_width_slow(cp);
}

}  // namespace mosh2::terminal

// Binary search over the generated table of code points whose width is not 1.

#include "mosh2/terminal/char_width.hpp"

#include <algorithm>
#include <iterator>

#include "mosh2/terminal/char_width_table.hpp"

namespace mosh2::terminal::detail {

int char_width_slow(char32_t cp) {
  if (cp > 0x10FFFF) return -1;
  const auto* end = std::end(char_width_ranges);
  const auto* it = std::upper_bound(std::begin(char_width_ranges), end, cp,
                                    [](char32_t c, const width_range& r) { return c < r.first; });
  if (it == std::begin(char_width_ranges)) return 1;
  --it;
  return cp <= it->last ? it->width : 1;
}

}  // namespace mosh2::terminal::detail

// Durations on command lines; see duration.hpp.

#include "mosh2/control/duration.hpp"

#include <cstdint>

#include <fmt/format.h>

namespace mosh2::control {

result<std::chrono::seconds, std::string> parse_duration(std::string_view text) {
  const auto bad = [&](std::string_view why) {
    return failure{fmt::format("bad duration \"{}\": {} (expected e.g. 90s, 12h, 7d)", text, why)};
  };
  if (text.empty()) return bad("empty");
  std::int64_t total = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    std::int64_t n = 0;
    const std::size_t digits_start = i;
    for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
      n = n * 10 + (text[i] - '0');
      if (n > max_duration.count()) return bad("too long");
    }
    if (i == digits_start) return bad("a number must come before each unit");
    std::int64_t unit = 1;
    if (i < text.size()) {
      switch (text[i]) {
        case 's': unit = 1; break;
        case 'm': unit = 60; break;
        case 'h': unit = 3600; break;
        case 'd': unit = 86400; break;
        default: return bad(fmt::format("unknown unit '{}'", text[i]));
      }
      ++i;
    } else if (digits_start != 0) {
      return bad("a unit must follow each number after the first group");
    }
    if (n > (max_duration.count() - total) / unit) return bad("too long");
    total += n * unit;
  }
  if (total == 0) return bad("must be longer than zero");
  return std::chrono::seconds(total);
}

std::string format_duration(std::chrono::seconds d) {
  const std::int64_t s = d.count() < 0 ? 0 : d.count();
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return s % 60 ? fmt::format("{}m{}s", s / 60, s % 60) : fmt::format("{}m", s / 60);
  if (s < 86400) return s % 3600 / 60 ? fmt::format("{}h{}m", s / 3600, s % 3600 / 60) : fmt::format("{}h", s / 3600);
  return s % 86400 / 3600 ? fmt::format("{}d{}h", s / 86400, s % 86400 / 3600) : fmt::format("{}d", s / 86400);
}

}  // namespace mosh2::control

// Reading a compiled terminfo entry (term(5): a header of six little-endian shorts, the
// names, the booleans, padding to an even offset, the numbers (`colors` is number 13),
// the string offsets and the string table; then, from ncurses' tic -x, padding to an
// even offset and the extended section).

#include "mosh2/os/terminfo.hpp"

#include <algorithm>
#include <fstream>
#include <iterator>

#include <fmt/format.h>

namespace mosh2::os {
namespace {

constexpr int legacy_magic = 0432;   // 16-bit numbers
constexpr int wide_magic = 01036;    // ncurses 6: 32-bit numbers
constexpr std::size_t colors_index = 13;
constexpr std::size_t max_entry = 1 << 16;  // compiled entries are a few KiB

int short_at(bytes_view b, std::size_t at) {
  return static_cast<int>(static_cast<unsigned char>(b[at]) | (static_cast<unsigned char>(b[at + 1]) << 8));
}

}  // namespace

std::optional<int> terminfo_colors(bytes_view entry) {
  if (entry.size() < 12) return std::nullopt;
  const int magic = short_at(entry, 0);
  if (magic != legacy_magic && magic != wide_magic) return std::nullopt;
  const std::size_t names = static_cast<std::size_t>(short_at(entry, 2));
  const std::size_t bools = static_cast<std::size_t>(short_at(entry, 4));
  const std::size_t numbers = static_cast<std::size_t>(short_at(entry, 6));
  const std::size_t width = magic == wide_magic ? 4 : 2;
  std::size_t at = 12 + names + bools;
  if (at % 2 == 1) ++at;
  if (numbers <= colors_index) return -1;
  at += colors_index * width;
  if (at + width > entry.size()) return std::nullopt;
  if (width == 2) {
    const int v = short_at(entry, at);
    return v >= 0x8000 ? -1 : v;  // 0xFFFF absent, 0xFFFE cancelled
  }
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < 4; ++i) v |= std::uint32_t{static_cast<unsigned char>(entry[at + i])} << (8 * i);
  return v >= 0x80000000u ? -1 : static_cast<int>(v);
}

std::vector<std::string> terminfo_dirs(const char* terminfo, const char* home, const char* dirs) {
  const std::vector<std::string> system{"/etc/terminfo", "/lib/terminfo", "/usr/share/terminfo"};
  std::vector<std::string> out;
  if (terminfo && *terminfo) out.emplace_back(terminfo);
  if (home && *home) out.push_back(std::string(home) + "/.terminfo");
  if (dirs && *dirs) {
    const std::string list = dirs;
    std::size_t start = 0;
    for (;;) {
      const auto colon = list.find(':', start);
      const std::string dir = list.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
      if (dir.empty()) out.insert(out.end(), system.begin(), system.end());
      else out.push_back(dir);
      if (colon == std::string::npos) break;
      start = colon + 1;
    }
  }
  out.insert(out.end(), system.begin(), system.end());
  return out;
}

namespace {

// A little-endian short that may be negative (-1 absent, -2 cancelled).
int signed_short_at(bytes_view b, std::size_t at) {
  const int v = short_at(b, at);
  return v >= 0x8000 ? v - 0x10000 : v;
}

// The NUL-terminated string at `at` in `table`, or nothing when it runs past the end.
std::optional<std::string> c_string(bytes_view table, std::size_t at) {
  if (at >= table.size()) return std::nullopt;
  const auto end = table.find('\0', at);
  if (end == bytes_view::npos) return std::nullopt;
  return std::string(table.substr(at, end - at));
}

}  // namespace

std::optional<std::vector<std::pair<std::string, std::string>>> terminfo_extended_strings(bytes_view entry) {
  if (entry.size() < 12) return std::nullopt;
  const int magic = short_at(entry, 0);
  if (magic != legacy_magic && magic != wide_magic) return std::nullopt;
  const std::size_t width = magic == wide_magic ? 4 : 2;
  const auto count = [&](std::size_t i) { return static_cast<std::size_t>(short_at(entry, i)); };
  // Every count is a short, so the offsets below stay far from overflowing.
  std::size_t at = 12 + count(2) + count(4);
  if (at % 2 == 1) ++at;
  at += count(6) * width + count(8) * 2 + count(10);
  if (at % 2 == 1) ++at;
  std::vector<std::pair<std::string, std::string>> out;
  if (at >= entry.size()) return out;  // no extended section
  if (at + 10 > entry.size()) return std::nullopt;
  const std::size_t bools = count(at), numbers = count(at + 2), strings = count(at + 4);
  const std::size_t items = count(at + 6), table_size = count(at + 8);
  const std::size_t names = bools + numbers + strings;
  if (items != strings + names) return std::nullopt;
  at += 10 + bools;
  if (at % 2 == 1) ++at;
  at += numbers * width;
  const std::size_t offsets = at;
  const std::size_t table_at = offsets + items * 2;
  if (table_at > entry.size()) return std::nullopt;
  // tic may leave the last name's NUL out of the size; the bytes are there.
  const bytes_view table = entry.substr(table_at, std::min(table_size + 1, entry.size() - table_at));
  // The values come first in the table, the names after the last value.
  std::size_t names_at = 0;
  std::vector<int> value_at(strings);
  for (std::size_t i = 0; i < strings; ++i) {
    value_at[i] = signed_short_at(entry, offsets + i * 2);
    if (value_at[i] < 0) continue;
    const auto v = c_string(table, static_cast<std::size_t>(value_at[i]));
    if (!v) return std::nullopt;
    names_at = std::max(names_at, static_cast<std::size_t>(value_at[i]) + v->size() + 1);
  }
  for (std::size_t i = 0; i < strings; ++i) {
    const int name_at = signed_short_at(entry, offsets + (strings + bools + numbers + i) * 2);
    if (name_at < 0) return std::nullopt;
    auto name = c_string(table, names_at + static_cast<std::size_t>(name_at));
    if (!name) return std::nullopt;
    if (value_at[i] < 0) continue;
    out.emplace_back(std::move(*name), *c_string(table, static_cast<std::size_t>(value_at[i])));
  }
  return out;
}

result<std::string, std::string> terminfo_entry(const std::string& term, const std::vector<std::string>& dirs) {
  if (term.empty()) return failure{std::string("TERM is not set")};
  if (term.find('/') != std::string::npos || term == "." || term == "..")
    return failure{fmt::format("TERM \"{}\" is not a terminal name", term)};
  for (const auto& dir : dirs) {
    // ncurses files entries under their first letter, or (macOS) its hex code.
    for (const auto& sub : {std::string(1, term[0]), fmt::format("{:02x}", static_cast<unsigned char>(term[0]))}) {
      std::ifstream in(dir + "/" + sub + "/" + term, std::ios::binary);
      if (!in) continue;
      std::string raw;
      raw.resize(max_entry);
      in.read(raw.data(), static_cast<std::streamsize>(raw.size()));
      raw.resize(static_cast<std::size_t>(in.gcount()));
      return raw;
    }
  }
  return failure{fmt::format("TERM \"{}\" is not in the terminfo database", term)};
}

result<int, std::string> colors_of(const std::string& term, const std::vector<std::string>& dirs) {
  if (term.empty()) return failure{std::string("TERM is not set, so the terminal's colours are unknown")};
  auto raw = terminfo_entry(term, dirs);
  if (!raw) return failure{raw.error()};
  auto colors = terminfo_colors(*raw);
  if (!colors) return failure{fmt::format("the terminfo entry for TERM \"{}\" is damaged", term)};
  return *colors;
}

std::optional<terminal::terminfo_underline> underline_caps_of(const std::string& term,
                                                              const std::vector<std::string>& dirs) {
  auto raw = terminfo_entry(term, dirs);
  if (!raw) return std::nullopt;
  auto strings = terminfo_extended_strings(*raw);
  if (!strings) return std::nullopt;
  terminal::terminfo_underline caps;
  for (auto& [name, value] : *strings) {
    if (name == "Smulx") caps.smulx = std::move(value);
    else if (name == "Setulc") caps.setulc = std::move(value);
  }
  return caps;
}

}  // namespace mosh2::os

// Reading one number from a compiled terminfo entry (term(5): a header of six
// little-endian shorts, the names, the booleans, padding to an even offset, then the
// numbers; `colors` is number 13).

#include "mosh2/os/terminfo.hpp"

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

result<int, std::string> colors_of(const std::string& term, const std::vector<std::string>& dirs) {
  if (term.empty()) return failure{std::string("TERM is not set, so the terminal's colours are unknown")};
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
      auto colors = terminfo_colors(raw);
      if (!colors) return failure{fmt::format("the terminfo entry for TERM \"{}\" is damaged", term)};
      return *colors;
    }
  }
  return failure{fmt::format("TERM \"{}\" is not in the terminfo database", term)};
}

}  // namespace mosh2::os

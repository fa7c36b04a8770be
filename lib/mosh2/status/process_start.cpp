// A process's start time from /proc; see process_start.hpp.

#include "mosh2/status/process_start.hpp"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <string>

namespace mosh2::status {

std::optional<std::uint64_t> start_ticks_of_stat_line(std::string_view line) {
  const auto close = line.rfind(')');
  if (close == std::string_view::npos) return std::nullopt;
  std::string_view rest = line.substr(close + 1);
  // Fields 3..22 follow, one space before each.
  for (int field = 3; field <= 22; ++field) {
    const auto start = rest.find_first_not_of(' ');
    if (start == std::string_view::npos) return std::nullopt;
    rest = rest.substr(start);
    const auto end = std::min(rest.find(' '), rest.size());
    if (field == 22) {
      std::uint64_t ticks = 0;
      const auto [p, ec] = std::from_chars(rest.data(), rest.data() + end, ticks);
      if (ec != std::errc{} || p != rest.data() + end) return std::nullopt;
      return ticks;
    }
    rest = rest.substr(end);
  }
  return std::nullopt;
}

std::optional<std::uint64_t> process_start_ticks(pid_t pid) {
  std::ifstream stat_file("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat_file, line)) return std::nullopt;
  return start_ticks_of_stat_line(line);
}

}  // namespace mosh2::status

#pragma once
// When a process started, as the kernel counts it: clock ticks since boot, field 22 of
// /proc/PID/stat. Unlike a wall-clock time it does not move when the clock is stepped,
// and two processes that held the same pid have different values.

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string_view>

namespace mosh2::status {

/// Field 22 (starttime) of a /proc/PID/stat line; nothing when the line is not one.
/// The command name (field 2) may hold spaces and parentheses: fields resume after
/// the last ')'.
std::optional<std::uint64_t> start_ticks_of_stat_line(std::string_view line);

/// Process `pid`'s start in clock ticks since boot, if it exists.
std::optional<std::uint64_t> process_start_ticks(pid_t pid);

}  // namespace mosh2::status

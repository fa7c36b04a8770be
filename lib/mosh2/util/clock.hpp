#pragma once
// Time as the cores see it: a steady time_point passed in by the caller, never read
// from a global clock, so every core is testable with a fake clock.

#include <chrono>
#include <cstdint>

namespace mosh2 {

using steady = std::chrono::steady_clock;
using time_point = steady::time_point;
using std::chrono::milliseconds;
using namespace std::chrono_literals;

/// "Never": a deadline that a timer can wait for without overflowing.
inline constexpr time_point never = time_point::max() - std::chrono::hours(24 * 365);

/// Milliseconds since the steady epoch, as the 16-bit timestamps need.
inline std::uint64_t to_millis(time_point t) {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<milliseconds>(t.time_since_epoch()).count());
}

}  // namespace mosh2

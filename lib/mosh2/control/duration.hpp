#pragma once
// Durations on command lines (`90s`, `12h`, `7d`, `1h30m`): for `mosh2-status kill
// --detached-for` and `mosh2-server new --idle-timeout`. Pure: text in, seconds or a
// one-line reason out.

#include <chrono>
#include <string>
#include <string_view>

#include "mosh2/util/result.hpp"

namespace mosh2::control {

/// The longest duration accepted: ten years, far beyond any session, and small enough
/// that adding it to a steady time_point never overflows.
inline constexpr std::chrono::seconds max_duration{10LL * 365 * 24 * 3600};

/// Parses one or more `<digits><unit>` groups, unit `s`, `m`, `h` or `d` (a bare
/// number is seconds), e.g. `90s`, `12h`, `7d`, `1h30m`. Zero and anything over
/// max_duration are errors; the error names the text and says what is expected.
result<std::chrono::seconds, std::string> parse_duration(std::string_view text);

/// The largest whole units of `d` for people: `45s`, `3m12s`, `2h5m`, `7d3h`.
std::string format_duration(std::chrono::seconds d);

}  // namespace mosh2::control

#pragma once
// Shared by the ssp tests: two small synchronizable states, a fake clock in
// milliseconds, deterministic chaff, and a helper that ticks an endpoint over a span.

#include <algorithm>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "mosh2/ssp/endpoint.hpp"
#include "mosh2/ssp/sender.hpp"
#include "mosh2/ssp/state.hpp"
#include "mosh2/transport/instruction.hpp"
#include "mosh2/util/clock.hpp"

namespace mosh2::ssp::test {

/// An append-only string, the shape of the keystroke log: diff "+suffix".
struct string_log {
  std::string text;
  bytes diff_from(const string_log& older) const {
    if (older.text.size() >= text.size()) return {};
    // GCC 12 -O3: false -Wrestrict in "+" + std::string (GCC bug 105329).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wrestrict"
#endif
    return "+" + text.substr(older.text.size());
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
  }
  bool apply_diff(bytes_view d) {
    if (d.empty() || d[0] != '+') return false;
    text.append(d.substr(1));
    return true;
  }
  void subtract(const string_log& prefix) {
    text.erase(0, std::min(prefix.text.size(), text.size()));
  }
  bool operator==(const string_log&) const = default;
};

/// A value replaced as a whole, the shape of the terminal: diff "=value", subtract a no-op.
struct last_value {
  std::string value;
  bytes diff_from(const last_value& older) const {
    return value == older.value ? bytes{} : "=" + value;
  }
  bool apply_diff(bytes_view d) {
    if (d.empty() || d[0] != '=') return false;
    value = std::string(d.substr(1));
    return true;
  }
  void subtract(const last_value&) {}
  bool operator==(const last_value&) const = default;
};

static_assert(synchronizable_state<string_log>);
static_assert(synchronizable_state<last_value>);

/// The fake clock: milliseconds after an arbitrary, non-zero origin.
inline time_point at(std::int64_t ms) { return time_point(std::chrono::hours(1)) + milliseconds(ms); }
/// Inverse of at().
inline std::int64_t ms_of(time_point t) {
  return std::chrono::duration_cast<milliseconds>(t - at(0)).count();
}

/// Chaff from a seeded generator.
inline random_source seeded_random(std::uint32_t seed) {
  return [gen = std::mt19937(seed)](std::size_t n) mutable {
    bytes out(n, '\0');
    for (auto& c : out) c = static_cast<char>(gen() & 0xff);
    return out;
  };
}

/// Options for a client-side (peer known, 1 ms mindelay) or server-side sender.
inline sender_options client_options(std::uint32_t seed = 1) {
  return {client_send_mindelay, true, seeded_random(seed)};
}
inline sender_options server_options(std::uint32_t seed = 2) {
  return {server_send_mindelay, false, seeded_random(seed)};
}

/// An instruction and the fake-clock millisecond it went out.
struct sent_at {
  std::int64_t ms;
  transport::instruction inst;
};

/// Ticks `s` (anything with tick(time_point)) every millisecond of [from, to) and
/// returns what it sent.
template <class Ticker> std::vector<sent_at> run(Ticker& s, std::int64_t from, std::int64_t to) {
  std::vector<sent_at> out;
  for (std::int64_t t = from; t < to; ++t)
    if (auto inst = s.tick(at(t))) out.push_back({t, std::move(*inst)});
  return out;
}

/// An instruction as the peer's sender would build it.
inline transport::instruction make_inst(std::uint64_t old_num, std::uint64_t new_num,
                                        std::uint64_t ack_num, bytes diff = {},
                                        std::uint64_t throwaway_num = 0) {
  transport::instruction i;
  i.old_num = old_num;
  i.new_num = new_num;
  i.ack_num = ack_num;
  i.throwaway_num = throwaway_num;
  i.diff = std::move(diff);
  return i;
}

}  // namespace mosh2::ssp::test

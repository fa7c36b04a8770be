// The terminal_mode stream's items and the server's reporter. See terminal_mode.hpp.

#include "mosh2/session/terminal_mode.hpp"

#include <algorithm>

namespace mosh2::session {
namespace {

constexpr std::uint8_t flag_canonical = 1;
constexpr std::uint8_t flag_echo = 2;
constexpr std::uint8_t flag_isig = 4;
constexpr std::uint8_t flag_alternate = 8;

}  // namespace

bytes encode_terminal_mode(const terminal_mode& m) {
  std::uint8_t flags = 0;
  if (m.canonical) flags |= flag_canonical;
  if (m.echo) flags |= flag_echo;
  if (m.isig) flags |= flag_isig;
  if (m.alternate_screen) flags |= flag_alternate;
  bytes out;
  out.push_back(static_cast<char>(terminal_mode_version));
  out.push_back(static_cast<char>(flags));
  out.push_back(m.intr);
  out.push_back(m.quit);
  out.push_back(m.susp);
  return out;
}

std::optional<terminal_mode> decode_terminal_mode(bytes_view item) {
  if (item.size() < terminal_mode_item_size || static_cast<std::uint8_t>(item[0]) != terminal_mode_version)
    return std::nullopt;
  // Flag bits version 1 does not define are reserved for additions that keep its meaning.
  const auto flags = static_cast<std::uint8_t>(item[1]);
  terminal_mode m;
  m.canonical = (flags & flag_canonical) != 0;
  m.echo = (flags & flag_echo) != 0;
  m.isig = (flags & flag_isig) != 0;
  m.alternate_screen = (flags & flag_alternate) != 0;
  m.intr = item[2];
  m.quit = item[3];
  m.susp = item[4];
  return m;
}

overlay::echo_state echo_of(const terminal_mode& m) {
  if (m.echo) return overlay::echo_state::kernel;
  // Canonical input without echo is what every password prompt asks for; without
  // canonical input the program reads each key and may echo it itself (a line editor).
  return m.canonical ? overlay::echo_state::off : overlay::echo_state::program;
}

bool is_signal_char(const terminal_mode& m, char b) {
  return m.isig && b != '\0' && (b == m.intr || b == m.quit || b == m.susp);
}

void terminal_mode_reporter::report(const terminal_mode& now_mode, ssp::append_log& out) {
  if (sent_ == now_mode) return;
  if (out.held_data_bytes() + terminal_mode_item_size > terminal_mode_window) return;
  out.append(encode_terminal_mode(now_mode));
  sent_ = now_mode;
  ++items_sent_;
}

bool terminal_mode_receiver::take(const ssp::log_delivery& delivery) {
  if (delivery.items.empty()) return false;
  // Only the newest item matters; one that cannot be read makes the mode unknown, the
  // safe state (Mosh's rules), rather than leaving an older mode in force.
  auto newest = decode_terminal_mode(delivery.items.back().data);
  if (newest == mode_) return false;
  mode_ = newest;
  return true;
}

std::uint64_t terminal_mode_receiver::key() const {
  if (!mode_) return 0;
  std::uint64_t k = 0;
  for (char c : encode_terminal_mode(*mode_)) k = (k << 8) | static_cast<std::uint8_t>(c);
  return k;
}

bool terminal_mode_receiver::any_signal_char(bytes_view keys) const {
  const terminal_mode m = mode_.value_or(terminal_mode{});
  return std::any_of(keys.begin(), keys.end(), [&](char b) { return is_signal_char(m, b); });
}

}  // namespace mosh2::session

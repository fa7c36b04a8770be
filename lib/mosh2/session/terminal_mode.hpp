#pragma once
// The terminal_mode extension (docs/protocol.md, "terminal_mode"): a stream from server
// to client saying what the program on the pty asked its terminal for (canonical input,
// echo, signal characters) and whether the alternate screen is shown. The client's
// predictor uses it to show the first key of a line at once where an echo is expected,
// and never where echo is off. Pure: the server's stage reads termios, the cores carry
// the items.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "mosh2/overlay/prediction.hpp"
#include "mosh2/session/negotiation.hpp"
#include "mosh2/session/transport_core.hpp"
#include "mosh2/ssp/append_log.hpp"
#include "mosh2/util/bytes.hpp"

namespace mosh2::session {

/// The encoding this build writes (the item's first byte).
inline constexpr std::uint8_t terminal_mode_version = 1;
/// A version-1 item's size; longer ones carry later additions that version 1 ignores.
inline constexpr std::size_t terminal_mode_item_size = 5;
/// Unacknowledged mode bytes the server keeps at most: a program that flips its modes
/// in a loop costs the link nothing beyond this; the newest mode goes once there is room.
inline constexpr std::size_t terminal_mode_window = 1024;

/// What the program asked its terminal for.
struct terminal_mode {
  bool canonical = true;  ///< ICANON: the line discipline edits lines
  bool echo = true;       ///< ECHO: the line discipline echoes what is typed
  bool isig = true;       ///< ISIG: the characters below become signals
  char intr = '\x03';     ///< VINTR, VQUIT, VSUSP; '\0' = disabled (_POSIX_VDISABLE)
  char quit = '\x1c';
  char susp = '\x1a';
  bool alternate_screen = false;
  bool operator==(const terminal_mode&) const = default;
};

/// One item: version, flags, the three signal characters.
bytes encode_terminal_mode(const terminal_mode& m);
/// The mode in `item`, or nothing for an item of another version or too short (from a
/// hostile or newer peer: the client then treats the mode as unknown).
std::optional<terminal_mode> decode_terminal_mode(bytes_view item);

/// What the predictor may expect from typing in this mode.
overlay::echo_state echo_of(const terminal_mode& m);
/// Whether `b` typed now becomes a signal at the server.
bool is_signal_char(const terminal_mode& m, char b);

/// The server's side: appends the mode to the stream whenever it differs from what
/// was last appended, within terminal_mode_window.
class terminal_mode_reporter {
public:
  /// Appends `now_mode` if it is news and there is room; call once per turn.
  void report(const terminal_mode& now_mode, ssp::append_log& out);
  /// The stream was opened afresh (a new client): the next report sends the mode.
  void reset() { sent_.reset(); }
  std::uint64_t items_sent() const { return items_sent_; }

private:
  std::optional<terminal_mode> sent_;
  std::uint64_t items_sent_ = 0;
};

/// The client's side: the newest mode the server reported, if it could be read.
class terminal_mode_receiver {
public:
  /// Takes the stream's new items; true when what the predictor should know changed.
  bool take(const ssp::log_delivery& delivery);
  const std::optional<terminal_mode>& mode() const { return mode_; }
  overlay::echo_state echo() const { return mode_ ? echo_of(*mode_) : overlay::echo_state::unknown; }
  /// Tells modes apart for the predictor (equal modes, equal keys).
  std::uint64_t key() const;
  /// Whether `keys` hold a character the server turns into a signal; without a mode
  /// reported, the defaults (Ctrl-C, Ctrl-\, Ctrl-Z).
  bool any_signal_char(bytes_view keys) const;

private:
  std::optional<terminal_mode> mode_;
};

}  // namespace mosh2::session

#pragma once
// The history stream (docs/protocol.md, "History"): the server appends runs of the lines
// that scrolled off its main screen to the stream `extension::history`, within a window
// of unacknowledged bytes; the client turns the runs it receives into bytes that push
// those lines into its local terminal's own scrollback. Cores: no I/O.

#include <cstddef>
#include <cstdint>
#include <string>

#include "mosh2/ssp/append_log.hpp"
#include "mosh2/terminal/history.hpp"
#include "mosh2/terminal/terminal_profile.hpp"

namespace mosh2::session {

/// History bytes the server keeps unacknowledged at most: one window a round trip. A
/// lost instruction is sent again from the acknowledged state, so the window is also
/// the size of a resend (compressed: about 8 KB of `seq` lines); in the simulation at
/// 20 % loss and 100 ms each way, 8 KiB moved 50,000 lines in 60 s, 64 KiB in 20 s.
inline constexpr std::size_t history_window = 64 * 1024;
/// Bytes of one item (a run of lines) at most; a single longer line is an item alone.
inline constexpr std::size_t history_item_bytes = 1024;
/// Lines a new client gets from before it came (after a reattach).
inline constexpr std::size_t history_reattach_lines = 1000;

/// The server's side: which line the client gets next.
class history_sender {
public:
  /// A new client: it starts with at most the newest `recent` lines kept.
  void restart(const terminal::history& h, std::size_t recent);
  /// Appends runs from the next line on while `log` holds fewer than `window`
  /// unacknowledged bytes. Lines the bound dropped before they were sent are counted in
  /// the next item's skipped_before.
  void pump(const terminal::history& h, ssp::append_log& log, std::size_t window = history_window);
  /// The number of the next line to send.
  std::uint64_t next() const { return next_; }

private:
  std::uint64_t next_ = 0;
};

/// The client's side: bytes for the local terminal from the items the stream delivered.
class history_writer {
public:
  /// The bytes that write `items`' lines (and a marker line for lines never received)
  /// into the scrollback of a local terminal of `width` x `height` showing the screen:
  /// the screen is blanked without a full-screen erase (which some terminals move into
  /// their scrollback), the lines printed from the top and scrolled off it. The screen
  /// must then be repainted in full. Empty when the items hold no line.
  std::string take(const ssp::log_delivery& items, const terminal::terminal_profile& profile, int width, int height);
  /// Bytes that blank the screen and home the cursor without a full-screen erase.
  static std::string blank_screen() { return "\033[r\033[0m\033[2;1H\033[J\033[H\033[2K"; }
  /// Lines written so far, and items that did not decode (dropped).
  std::uint64_t lines() const { return lines_; }
  std::uint64_t skipped() const { return skipped_; }
  std::uint64_t bad_items() const { return bad_items_; }

private:
  std::uint64_t lines_ = 0;
  std::uint64_t skipped_ = 0;
  std::uint64_t bad_items_ = 0;
};

}  // namespace mosh2::session

#pragma once
// The server->client object (protocol §8.2): the terminal emulator plus the echo
// acknowledgement, diffed as a HostBuffers.HostMessage whose hoststring is the frame
// diff that the peer's emulator replays.

#include <cstddef>
#include <cstdint>

#include "mosh2/terminal/emulator.hpp"
#include "mosh2/util/bytes.hpp"

namespace mosh2::session {

/// The work (terminal::framebuffer::work) a host message of `bytes` bytes may cost the
/// client when the largest screen it leaves at any point has `cells` cells in `rows`
/// rows. A frame diff from a real server costs about a cell per byte of a repaint (a
/// repaint is at most a few screens of cells, however many bytes each cell takes), at
/// most one screen of copies and erases, and one line feed per row at the bottom of a
/// full screen (stock Mosh scrolls that way: rows squared); this allows several times
/// that. It grows with the screen, not with the message: REP, DECALN, line feeds or
/// resizes that decompress to 4 MiB buy no more than a repaint of the same screen.
/// Never more than terminal::host_message_work_budget(bytes).
std::uint64_t host_message_work_limit(std::uint64_t bytes, std::uint64_t cells, std::uint64_t rows);

class terminal_state {
public:
  terminal_state(int width, int height, terminal::emulator_options options = {})
      : emulator_(width, height, options) {}

  terminal::emulator& emulator() { return emulator_; }
  const terminal::emulator& emulator() const { return emulator_; }
  const terminal::framebuffer& fb() const { return emulator_.fb(); }

  /// Newest client state whose keystrokes reached the program at least 50 ms ago.
  std::uint64_t echo_ack() const { return echo_ack_; }
  void set_echo_ack(std::uint64_t n) { echo_ack_ = n; }

  /// Whether the frame diff may use the extended styles (the client negotiated them);
  /// not part of the state's equality.
  void set_extended_styles(bool on) { extended_styles_ = on; }
  bool extended_styles() const { return extended_styles_; }

  /// HostMessage: echoack if it changed, resize if the size changed, then the frame
  /// diff (wire profile) if the screens differ. Empty when nothing changed.
  bytes diff_from(const terminal_state& older) const;
  /// Applies a HostMessage; false (and unchanged) if it does not decode or would cost
  /// more work than host_message_work_limit allows. Of resizes with no
  /// screen output between them only the last is applied, clamped to the screen limits.
  /// Replies the emulator would owe a program are discarded: a hoststring must never
  /// cause one.
  bool apply_diff(bytes_view diff);
  /// The work the last apply_diff() did, accepted or refused (a refused one is undone,
  /// work counter included, so emulator().work() cannot tell).
  std::uint64_t last_apply_work() const { return last_apply_work_; }
  /// An upper bound of the memory this state holds, for the receiver's byte budget
  /// (rows shared with other states are counted in full).
  std::size_t approx_bytes() const;
  /// Nothing to trim: every state is a whole screen.
  void subtract(const terminal_state&) {}

  /// Screen equality (§9.2) and equal echo_ack; the parser state does not count.
  bool operator==(const terminal_state& o) const {
    return echo_ack_ == o.echo_ack_ && emulator_.fb() == o.emulator_.fb();
  }

private:
  terminal::emulator emulator_;
  std::uint64_t echo_ack_ = 0;
  std::uint64_t last_apply_work_ = 0;
  bool extended_styles_ = false;
};

}  // namespace mosh2::session

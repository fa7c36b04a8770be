#pragma once
// The server->client object (protocol §8.2): the terminal emulator plus the echo
// acknowledgement, diffed as a HostBuffers.HostMessage whose hoststring is the frame
// diff that the peer's emulator replays.

#include <cstddef>
#include <cstdint>

#include "mosh2/terminal/emulator.hpp"
#include "mosh2/util/bytes.hpp"

namespace mosh2::session {

class terminal_state {
public:
  terminal_state(int width, int height) : emulator_(width, height) {}

  terminal::emulator& emulator() { return emulator_; }
  const terminal::emulator& emulator() const { return emulator_; }
  const terminal::framebuffer& fb() const { return emulator_.fb(); }

  /// Newest client state whose keystrokes reached the program at least 50 ms ago.
  std::uint64_t echo_ack() const { return echo_ack_; }
  void set_echo_ack(std::uint64_t n) { echo_ack_ = n; }

  /// HostMessage: echoack if it changed, resize if the size changed, then the frame
  /// diff (wire profile) if the screens differ. Empty when nothing changed.
  bytes diff_from(const terminal_state& older) const;
  /// Applies a HostMessage; false (and unchanged) if it does not decode or would cost
  /// more work than terminal::host_message_work_budget allows. Of resizes with no
  /// screen output between them only the last is applied, clamped to the screen limits.
  /// Replies the emulator would owe a program are discarded: a hoststring must never
  /// cause one.
  bool apply_diff(bytes_view diff);
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
};

}  // namespace mosh2::session

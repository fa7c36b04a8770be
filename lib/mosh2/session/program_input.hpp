#pragma once
// What the server owes the program on its pty, in the order the user made it: typed
// bytes and window sizes in one queue, so a resize never overtakes earlier typing.
// Bytes are capped: once the program stops reading and the cap is reached, the
// server stops taking new client states (SSP holds them on the client and resends),
// so nothing the user typed is ever dropped and memory stays bounded. A core: no I/O.

#include <cstddef>
#include <deque>
#include <optional>
#include <utility>
#include <variant>

#include "mosh2/util/bytes.hpp"

namespace mosh2::session {

/// Bytes for the program's terminal.
struct pty_write {
  pty_write() = default;  // pipes need a default value
  explicit pty_write(bytes d) : data(std::move(d)) {}
  bytes data;
};
/// A new window size for the program's terminal (TIOCSWINSZ).
struct pty_resize {
  pty_resize(int w, int h) : width(w), height(h) {}
  int width;
  int height;
};
/// One thing to do to the pty, in order.
using program_op = std::variant<pty_write, pty_resize>;

/// Bytes waiting for the program beyond which the server takes no new client states.
/// One accepted state can add at most what the client sends in one (see
/// client_core's input window, or the transport's 4 MiB cap for another client).
/// Large enough that a stock Mosh 1.4 client, which has no input window and resends
/// everything unacknowledged in one instruction, never has to resend more than the
/// receiver's 4 MiB cap for a paste of up to 16 MiB into a program that is not reading.
inline constexpr std::size_t program_input_cap = 16 * 1024 * 1024;
/// Consecutive typed bytes are written in pieces of at most this size.
inline constexpr std::size_t program_write_chunk = 64 * 1024;

class program_input {
public:
  explicit program_input(std::size_t cap = program_input_cap) : cap_(cap) {}

  /// Queues typed bytes after everything queued so far.
  void push_bytes(bytes_view data) {
    queued_bytes_ += data.size();
    while (!data.empty()) {
      auto* tail = ops_.empty() || (in_flight_ && ops_.size() == 1) ? nullptr : std::get_if<pty_write>(&ops_.back());
      if (!tail || tail->data.size() >= program_write_chunk) {
        ops_.emplace_back(pty_write(bytes{}));
        tail = &std::get<pty_write>(ops_.back());
      }
      const std::size_t n = std::min(data.size(), program_write_chunk - tail->data.size());
      tail->data.append(data.substr(0, n));
      data.remove_prefix(n);
    }
  }
  /// Queues a window size; a size still waiting behind the same bytes is replaced.
  void push_resize(int width, int height) {
    const bool tail_waits = !ops_.empty() && !(in_flight_ && ops_.size() == 1);
    if (tail_waits) {
      if (auto* r = std::get_if<pty_resize>(&ops_.back())) {
        *r = pty_resize(width, height);
        return;
      }
    }
    ops_.emplace_back(pty_resize(width, height));
  }

  /// The next operation for the pty writer, once the previous one is done().
  std::optional<program_op> next() {
    if (in_flight_ || ops_.empty()) return std::nullopt;
    in_flight_ = true;
    return ops_.front();
  }
  /// The operation handed out by next() is carried out.
  void done() {
    if (!in_flight_) return;
    in_flight_ = false;
    if (auto* w = std::get_if<pty_write>(&ops_.front())) queued_bytes_ -= w->data.size();
    ops_.pop_front();
  }

  /// At or over the cap: take no new client state until the program reads.
  bool full() const { return queued_bytes_ >= cap_; }
  std::size_t cap() const { return cap_; }
  /// Bytes not yet written to the pty (including the piece being written).
  std::size_t queued_bytes() const { return queued_bytes_; }
  /// Nothing waits and nothing is being written.
  bool idle() const { return ops_.empty(); }

private:
  std::deque<program_op> ops_;
  std::size_t cap_;
  std::size_t queued_bytes_ = 0;
  bool in_flight_ = false;
};

}  // namespace mosh2::session

#pragma once
// What the server owes the program on its pty, in the order the user made it: typed
// bytes and window sizes in one queue, so a resize never overtakes earlier typing.
// The queue is capped by what it costs in memory (bytes, buffers and entries): once
// the program stops reading and the cap is reached, the server stops taking new client
// states (SSP holds them on the client and resends),
// so nothing the user typed is ever dropped and memory stays bounded. A core: no I/O.

#include <algorithm>
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
      auto* tail = waiting_tail<pty_write>();
      if (!tail || tail->data.size() >= program_write_chunk) {
        tail = &add<pty_write>(bytes{});
      }
      const std::size_t n = std::min(data.size(), program_write_chunk - tail->data.size());
      append(tail->data, data.substr(0, n));
      data.remove_prefix(n);
    }
  }
  /// Queues a window size. At most one size waits: an older one still waiting (behind
  /// the same bytes or earlier ones) is replaced, since the program only needs the last;
  /// the bytes typed before the new size still reach the program before it.
  void push_resize(int width, int height) {
    if (auto* r = waiting_tail<pty_resize>()) {
      *r = pty_resize(width, height);
      return;
    }
    for (std::size_t i = ops_.size(); i-- > first_waiting();) {
      if (std::holds_alternative<pty_resize>(ops_[i])) {
        drop_waiting(i);
        break;
      }
    }
    add<pty_resize>(width, height);
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
    cost_ -= cost_of(ops_.front());
    ops_.pop_front();
  }

  /// At or over the cap, counting what each queued entry really costs (its slot and its
  /// buffer, see cost()): take no new client state until the program reads.
  bool full() const { return cost_ >= cap_; }
  std::size_t cap() const { return cap_; }
  /// Bytes not yet written to the pty (including the piece being written).
  std::size_t queued_bytes() const { return queued_bytes_; }
  /// The memory the queue holds, an upper bound: per entry its deque slot and a block
  /// pointer's share, plus the capacity of its buffer.
  std::size_t cost() const { return cost_; }
  /// Entries queued (including the one being written).
  std::size_t entries() const { return ops_.size(); }
  /// Nothing waits and nothing is being written.
  bool idle() const { return ops_.empty(); }

private:
  static constexpr std::size_t slot_cost = sizeof(program_op) + sizeof(void*);
  static std::size_t cost_of(const program_op& op) {
    const auto* w = std::get_if<pty_write>(&op);
    return slot_cost + (w ? w->data.capacity() : 0);
  }
  // The first entry that may still change: everything but the one being written.
  std::size_t first_waiting() const { return in_flight_ ? 1 : 0; }
  template <class Op> Op* waiting_tail() {
    return ops_.size() > first_waiting() ? std::get_if<Op>(&ops_.back()) : nullptr;
  }
  template <class Op, class... Args> Op& add(Args&&... args) {
    auto& op = ops_.emplace_back(std::in_place_type<Op>, std::forward<Args>(args)...);
    cost_ += cost_of(op);
    return std::get<Op>(op);
  }
  // Grows a buffer geometrically but never past a piece, so its capacity stays close to
  // its size (the default growth could nearly double a piece).
  void append(bytes& buffer, bytes_view more) {
    const std::size_t before = buffer.capacity();
    const std::size_t needed = buffer.size() + more.size();
    if (needed > before) buffer.reserve(std::max(needed, std::min(2 * before, program_write_chunk)));
    buffer.append(more);
    cost_ += buffer.capacity() - before;
  }
  // Removes the waiting entry at `i` (a size) and joins the writes it separated.
  void drop_waiting(std::size_t i) {
    cost_ -= cost_of(ops_[i]);
    ops_.erase(ops_.begin() + static_cast<std::ptrdiff_t>(i));
    if (i == first_waiting() || i >= ops_.size()) return;
    auto* left = std::get_if<pty_write>(&ops_[i - 1]);
    auto* right = std::get_if<pty_write>(&ops_[i]);
    if (!left || !right || left->data.size() + right->data.size() > program_write_chunk) return;
    append(left->data, right->data);
    cost_ -= cost_of(ops_[i]);
    ops_.erase(ops_.begin() + static_cast<std::ptrdiff_t>(i));
  }

  std::deque<program_op> ops_;
  std::size_t cap_;
  std::size_t queued_bytes_ = 0;
  std::size_t cost_ = 0;
  bool in_flight_ = false;
};

}  // namespace mosh2::session

#pragma once
// The client->server object (protocol §8.1): an append-only log of typed bytes and
// window resizes, diffed as a ClientBuffers.UserMessage.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <variant>
#include <vector>

#include "mosh2/ssp/receiver.hpp"
#include "mosh2/ssp/state.hpp"
#include "mosh2/transport/messages.hpp"
#include "mosh2/util/bytes.hpp"

namespace mosh2::ssp {

/// One byte the user typed.
struct user_byte {
  char value = 0;  ///< the raw byte
  bool operator==(const user_byte&) const = default;
};

/// One event of the log: a byte or a resize (width = columns, height = rows).
using user_event = std::variant<user_byte, transport::resize>;

/// The keystroke log. Each numbered state is the log since the acknowledged prefix;
/// on the wire only "append these events" is ever said.
class user_stream {
public:
  /// Appends one typed byte.
  void push_byte(char c) { events_.emplace_back(user_byte{c}); }
  /// Appends each byte of `keys` as its own event.
  void push_bytes(bytes_view keys);
  /// Appends a window size change.
  void push_resize(std::int32_t width, std::int32_t height) {
    events_.emplace_back(transport::resize{width, height});
  }

  /// The events held (since the last subtract()).
  const std::deque<user_event>& events() const { return events_; }
  /// Number of events held.
  std::size_t size() const { return events_.size(); }
  /// True when no event is held.
  bool empty() const { return events_.empty(); }

  /// The events after `older`, which must be a prefix of this log.
  std::vector<user_event> events_since(const user_stream& older) const;
  /// The events after `older` as a UserMessage: runs of bytes coalesced into one
  /// keystroke instruction, one resize instruction per resize.
  transport::user_message message_since(const user_stream& older) const;
  /// message_since(older), encoded; empty when nothing is new.
  bytes diff_from(const user_stream& older) const;
  /// Appends the events of an encoded UserMessage; false (and unchanged) if malformed.
  bool apply_diff(bytes_view diff);
  /// Forgets the first prefix.size() events (the acknowledged prefix); tolerates
  /// `s.subtract(s)`.
  void subtract(const user_stream& prefix);

  /// Same events in the same order.
  bool operator==(const user_stream&) const = default;

  /// An upper bound of the memory this log holds, for the receiver's byte budget: each
  /// event's slot, a byte more per event for the deque's block pointers and a block's
  /// worth of slack at either end (libstdc++ and libc++ allocate at most 4 KiB a block).
  std::size_t approx_bytes() const {
    return sizeof(*this) + events_.size() * (sizeof(user_event) + 1) + 2 * 4096;
  }

private:
  std::deque<user_event> events_;
};

static_assert(synchronizable_state<user_stream>);
static_assert(sized_state<user_stream>);

/// The server's consumer API (§7.5): the user events in the receiver's newest state
/// that were not returned by the previous call; trims the held logs.
std::vector<user_event> take_new_events(receiver<user_stream>& r);

}  // namespace mosh2::ssp

// The keystroke log (protocol §8.1): event bookkeeping and the UserMessage diff.

#include "mosh2/ssp/user_stream.hpp"

#include <algorithm>
#include <iterator>
#include <utility>

namespace mosh2::ssp {

void user_stream::push_bytes(bytes_view keys) {
  for (char c : keys) push_byte(c);
}

std::vector<user_event> user_stream::events_since(const user_stream& older) const {
  // A log that is not an extension of `older` has nothing new (callers pass prefixes).
  const std::size_t skip = std::min(older.events_.size(), events_.size());
  return {events_.begin() + static_cast<std::ptrdiff_t>(skip), events_.end()};
}

transport::user_message user_stream::message_since(const user_stream& older) const {
  transport::user_message m;
  const std::size_t skip = std::min(older.events_.size(), events_.size());
  bool last_is_keystroke = false;
  for (auto it = events_.begin() + static_cast<std::ptrdiff_t>(skip); it != events_.end(); ++it) {
    if (const auto* b = std::get_if<user_byte>(&*it)) {
      if (!last_is_keystroke) m.instructions.emplace_back(transport::keystroke{});
      std::get<transport::keystroke>(m.instructions.back()).keys.push_back(b->value);
      last_is_keystroke = true;
    } else {
      m.instructions.emplace_back(std::get<transport::resize>(*it));
      last_is_keystroke = false;
    }
  }
  return m;
}

bytes user_stream::diff_from(const user_stream& older) const {
  if (older.events_.size() >= events_.size()) return {};
  return transport::encode(message_since(older));
}

bool user_stream::apply_diff(bytes_view diff) {
  auto message = transport::decode_user_message(diff);
  if (!message) return false;
  for (const auto& inst : message->instructions) {
    if (const auto* k = std::get_if<transport::keystroke>(&inst)) push_bytes(k->keys);
    else events_.emplace_back(std::get<transport::resize>(inst));
  }
  return true;
}

void user_stream::subtract(const user_stream& prefix) {
  const std::size_t n = std::min(prefix.events_.size(), events_.size());  // read before erasing
  events_.erase(events_.begin(), events_.begin() + static_cast<std::ptrdiff_t>(n));
}

std::vector<user_event> take_new_events(receiver<user_stream>& r) {
  return r.consume_new(
      [](const user_stream& newest, const user_stream& consumed) { return newest.events_since(consumed); });
}

}  // namespace mosh2::ssp

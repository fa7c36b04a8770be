#pragma once
// A further synchronized stream's object (docs/protocol.md, "Extensions"): an append-only
// log of opaque items with absolute numbers. The scrollback history, the terminal's mode
// and forwarded byte streams are all logs of this kind; SSP's own rules then deliver
// every item once, in order, whatever the network loses or reorders.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "mosh2/ssp/receiver.hpp"
#include "mosh2/ssp/state.hpp"
#include "mosh2/util/bytes.hpp"

namespace mosh2::ssp {

/// One item of a log and how many items its sender dropped unsent just before it
/// (a bounded history that the link could not keep up with).
struct log_item {
  std::uint64_t skipped_before = 0;
  bytes data;
  bool operator==(const log_item&) const = default;
};

/// What a consumer takes from the newest received log (see take_new_items).
struct log_delivery {
  std::vector<log_item> items;
  bool operator==(const log_delivery&) const = default;
};

/// The log. On the sending side a state holds the items not yet acknowledged; on the
/// receiving side, the items its last diff brought. A diff says "from item `start` on,
/// these items", so applying it needs only the base's `head()`; items are shared between
/// the copies SSP keeps, so a copy costs a pointer per item.
class append_log {
public:
  /// Appends one item; `skipped_before` counts items the owner dropped in front of it.
  void append(bytes data, std::uint64_t skipped_before = 0);

  /// The number the next appended item gets: how many items were ever appended.
  std::uint64_t head() const { return first_ + items_.size(); }
  /// The number of the first item held.
  std::uint64_t first() const { return first_; }
  /// Items held, from first().
  std::size_t size() const { return items_.size(); }
  /// The item numbered `first() + i`.
  const log_item& at(std::size_t i) const { return *items_[i]; }
  /// Bytes of item data held.
  std::size_t held_data_bytes() const { return data_bytes_; }
  /// An upper bound of the memory this copy holds (for the receiver's byte budget).
  std::size_t approx_bytes() const { return sizeof(*this) + items_.size() * (sizeof(log_item) + 32) + data_bytes_; }

  /// The items after `older.head()`; empty when there are none.
  bytes diff_from(const append_log& older) const;
  /// Takes the items of a diff made from a log with this head(); false (unchanged) if
  /// the diff is malformed or starts elsewhere.
  bool apply_diff(bytes_view diff);
  /// Forgets the items before `prefix.head()` (acknowledged).
  void subtract(const append_log& prefix);

  /// Logs are equal when they hold the same items up to the same head.
  bool operator==(const append_log& o) const { return head() == o.head() && first_ == o.first_; }

private:
  std::uint64_t first_ = 0;
  std::deque<std::shared_ptr<const log_item>> items_;
  std::size_t data_bytes_ = 0;
};

static_assert(synchronizable_state<append_log>);
static_assert(sized_state<append_log>);

/// The receiving side's consumer: the items of the newest received log after
/// `delivered` (the head the consumer had reached), which it advances. Call it after
/// every receive that made a new newest state: a newest state holds only the items of
/// its own diff. Then every item is returned once, in order; an item's skipped_before
/// tells of items never sent.
log_delivery take_new_items(const receiver<append_log>& r, std::uint64_t& delivered);

}  // namespace mosh2::ssp

// The append-only log of a further stream. See append_log.hpp; the diff's encoding is in
// docs/protocol.md, "Extensions".

#include "mosh2/ssp/append_log.hpp"

#include <algorithm>

#include "mosh2/transport/protobuf.hpp"

namespace mosh2::ssp {
namespace pb = transport::pb;

namespace {
constexpr std::uint32_t start_field = 1;
constexpr std::uint32_t item_field = 2;
constexpr std::uint32_t item_skipped_field = 1;
constexpr std::uint32_t item_data_field = 2;
}  // namespace

void append_log::append(bytes data, std::uint64_t skipped_before) {
  data_bytes_ += data.size();
  items_.push_back(std::make_shared<const log_item>(log_item{skipped_before, std::move(data)}));
}

bytes append_log::diff_from(const append_log& older) const {
  const std::uint64_t start = std::max(older.head(), first_);
  if (start >= head()) return {};
  bytes out;
  pb::put_uint_field(out, start_field, start);
  for (auto i = static_cast<std::size_t>(start - first_); i < items_.size(); ++i) {
    bytes item;
    if (items_[i]->skipped_before) pb::put_uint_field(item, item_skipped_field, items_[i]->skipped_before);
    pb::put_bytes_field(item, item_data_field, items_[i]->data);
    pb::put_bytes_field(out, item_field, item);
  }
  return out;
}

bool append_log::apply_diff(bytes_view diff) {
  std::uint64_t start = 0;
  bool have_start = false;
  std::deque<std::shared_ptr<const log_item>> items;
  std::size_t data_bytes = 0;
  pb::reader r(diff);
  while (!r.at_end()) {
    auto f = r.next();
    if (!f) return false;
    if (f->number == start_field) {
      if (f->type != pb::wire_type::varint) return false;
      start = f->value;
      have_start = true;
    } else if (f->number == item_field) {
      if (f->type != pb::wire_type::length_delimited) return false;
      log_item item;
      pb::reader ir(f->data);
      while (!ir.at_end()) {
        auto g = ir.next();
        if (!g) return false;
        if (g->number == item_skipped_field && g->type == pb::wire_type::varint) item.skipped_before = g->value;
        else if (g->number == item_data_field && g->type == pb::wire_type::length_delimited) item.data.assign(g->data);
        else if (g->number == item_skipped_field || g->number == item_data_field) return false;
      }
      data_bytes += item.data.size();
      items.push_back(std::make_shared<const log_item>(std::move(item)));
    }
  }
  // A diff is made from a base with this head: anything else is not ours to apply, and
  // a start beyond the head would silently lose items.
  if (!have_start || start != head()) return false;
  first_ = start;
  items_ = std::move(items);
  data_bytes_ = data_bytes;
  return true;
}

void append_log::subtract(const append_log& prefix) {
  while (!items_.empty() && first_ < prefix.head()) {
    data_bytes_ -= items_.front()->data.size();
    items_.pop_front();
    ++first_;
  }
}

log_delivery take_new_items(const receiver<append_log>& r, std::uint64_t& delivered) {
  log_delivery out;
  const append_log& newest = r.newest_state();
  if (newest.head() <= delivered) return out;
  std::size_t from = 0;
  std::uint64_t gap = 0;
  if (delivered >= newest.first()) from = static_cast<std::size_t>(delivered - newest.first());
  else gap = newest.first() - delivered;  // never expected; if it happens, say so rather than be silent
  for (std::size_t i = from; i < newest.size(); ++i) {
    log_item item = newest.at(i);
    if (i == from) item.skipped_before += gap;
    out.items.push_back(std::move(item));
  }
  delivered = newest.head();
  return out;
}

}  // namespace mosh2::ssp

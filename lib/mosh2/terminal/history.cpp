// The history ring and its encoding (docs/terminal.md, "History encoding"). A line is
// encoded once, when it scrolls off: the ring holds those bytes, so a consumer's run is
// a copy of stored bytes and a short line (most of them) fits in the string's own
// storage without a heap block.

#include "mosh2/terminal/history.hpp"

#include <algorithm>
#include <bit>
#include <cstddef>
#include <memory>
#include <cstring>

#include "mosh2/terminal/display.hpp"
#include "mosh2/terminal/utf8_decoder.hpp"

namespace mosh2::terminal {

namespace {

constexpr std::uint8_t tag_blank = 0x00;
constexpr std::uint8_t tag_long = 0x01;  // flags, length and text follow
constexpr std::uint8_t cell_wide = 1, cell_fallback = 2;
constexpr std::uint8_t line_wrapped = 1;

// Writes into a buffer known to be big enough (see encode_history_line's bound): the
// scroll path encodes every line, so no byte goes through a capacity check.
struct writer {
  char* p;
  void byte(std::uint8_t b) { *p++ = static_cast<char>(b); }
  void varint(std::uint64_t v) {
    while (v >= 0x80) {
      *p++ = static_cast<char>(0x80 | (v & 0x7F));
      v >>= 7;
    }
    *p++ = static_cast<char>(v);
  }
  void bytes(std::string_view t) {
    std::memcpy(p, t.data(), t.size());
    p += t.size();
  }
};

void put_varint(std::string& out, std::uint64_t v) {
  char buf[10];
  writer w{buf};
  w.varint(v);
  out.append(buf, static_cast<std::size_t>(w.p - buf));
}

// renditions{}, tested as two words that cover the 14 bytes of fields (0-7 and 6-13:
// no padding byte), all of them zero in the default.
bool default_rend(const renditions& r) {
  std::uint64_t lo, hi;
  std::memcpy(&lo, &r, 8);
  std::memcpy(&hi, reinterpret_cast<const char*>(&r) + 6, 8);
  return (lo | hi) == 0;
}
static_assert(renditions{}.fg.value() == 0 && renditions{}.bg.value() == 0 && renditions{}.ul.value() == 0 &&
              renditions{}.attrs == 0 && static_cast<int>(renditions{}.ul_style) == 0);

bool default_blank(const cell& c) {
  return c.blank() && !c.wide() && !c.fallback() && default_rend(c.rend());
}

// Equal renditions, compared as two words: the 14 bytes of fields (offsets asserted in
// the layout below) without the two padding bytes, which equal values may not share.
// On the scroll path this replaces five compares and branches per cell.
bool same_rend(const renditions& a, const renditions& b) {
  if constexpr (std::endian::native == std::endian::little) {
    std::uint64_t a0, a1, b0, b1;
    std::memcpy(&a0, &a, 8);
    std::memcpy(&b0, &b, 8);
    std::memcpy(&a1, reinterpret_cast<const char*>(&a) + 8, 8);
    std::memcpy(&b1, reinterpret_cast<const char*>(&b) + 8, 8);
    return a0 == b0 && ((a1 ^ b1) & 0x0000FFFFFFFFFFFFull) == 0;
  } else {
    return a == b;
  }
}
static_assert(offsetof(renditions, fg) == 0 && offsetof(renditions, bg) == 4 &&
              offsetof(renditions, ul) == 8 && offsetof(renditions, attrs) == 12 &&
              offsetof(renditions, ul_style) == 13 && sizeof(renditions) == 16);

// The renditions of a run, loaded once per run as two words like default_rend's, so
// that each further cell costs two loads and two compares.
struct rend_key {
  std::uint64_t lo = 0, hi = 0;
  renditions r;
};
rend_key key_of(const renditions& r) {
  rend_key k;
  k.r = r;
  std::memcpy(&k.lo, &r, 8);
  std::memcpy(&k.hi, reinterpret_cast<const char*>(&r) + 6, 8);
  return k;
}
bool matches(const renditions& r, const rend_key& k) {
  std::uint64_t lo, hi;
  std::memcpy(&lo, &r, 8);
  std::memcpy(&hi, reinterpret_cast<const char*>(&r) + 6, 8);
  return lo == k.lo && hi == k.hi;
}

constexpr std::size_t varint_size(std::uint32_t v) {
  return 1 + std::size_t{v >= 0x80} + std::size_t{v >= 0x4000} + std::size_t{v >= 0x200000} +
         std::size_t{v >= 0x10000000};
}
// Bytes put_rend writes for `r`.
std::size_t rend_size(const renditions& r) {
  return 2 + varint_size(r.fg.value()) + varint_size(r.bg.value()) + varint_size(r.ul.value());
}

template <class W>
void put_rend(W& out, const renditions& r) {
  out.byte(r.attrs);
  out.byte(static_cast<std::uint8_t>(r.ul_style));
  out.varint(r.fg.value());
  out.varint(r.bg.value());
  out.varint(r.ul.value());
}

template <class W>
void put_cell(W& out, const cell& c) {
  const std::string_view t = c.text();
  if (!c.wide() && !c.fallback()) {
    if (t.empty()) {
      out.byte(tag_blank);
      return;
    }
    if (t.size() == 1 && t[0] >= 0x20 && t[0] < 0x7F) {
      out.byte(static_cast<std::uint8_t>(t[0]));
      return;
    }
  }
  out.byte(tag_long);
  out.byte(static_cast<std::uint8_t>((c.wide() ? cell_wide : 0) | (c.fallback() ? cell_fallback : 0)));
  out.byte(static_cast<std::uint8_t>(t.size()));
  out.bytes(t);
}

// The most bytes one cell can take: a run header of its own (length, attributes, style,
// three colours of at most four varint bytes) and a long cell with full text.
constexpr std::size_t max_cell_bytes = 2 + 2 + 3 * 4 + 3 + cell::max_bytes;

// Reads the encoding; every read checks the bytes left.
class reader {
public:
  explicit reader(std::string_view b) : p_(b.data()), end_(b.data() + b.size()) {}
  bool done() const { return p_ == end_; }
  std::size_t left() const { return static_cast<std::size_t>(end_ - p_); }
  bool byte(std::uint8_t& v) {
    if (p_ == end_) return false;
    v = static_cast<std::uint8_t>(*p_++);
    return true;
  }
  bool varint(std::uint64_t& v) {
    v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      std::uint8_t b = 0;
      if (!byte(b)) return false;
      // The tenth byte may only carry the top bit of a 64-bit value.
      if (shift == 63 && b > 1) return false;
      v |= std::uint64_t{b & 0x7Fu} << shift;
      if (!(b & 0x80)) return true;
    }
    return false;
  }
  bool bytes(std::size_t n, std::string_view& out) {
    if (left() < n) return false;
    out = {p_, n};
    p_ += n;
    return true;
  }

private:
  const char* p_;
  const char* end_;
};

// Printable UTF-8 only: this text reaches the user's terminal, where a control
// character or a broken sequence could start an escape sequence.
bool printable_utf8(std::string_view t) {
  const auto* p = reinterpret_cast<const unsigned char*>(t.data());
  const auto* end = p + t.size();
  while (p < end) {
    if (*p < 0x80) {
      if (*p < 0x20 || *p == 0x7F) return false;
      ++p;
      continue;
    }
    char32_t cp = 0;
    const int n = decode_utf8_sequence(p, end, cp);
    if (n <= 0 || (cp >= 0x80 && cp < 0xA0)) return false;
    p += n;
  }
  return true;
}

enum class line_result { ok, truncated, bad_line, bad_text };

line_result read_rend(reader& in, renditions& r) {
  std::uint8_t attrs = 0, style = 0;
  std::uint64_t fg = 0, bg = 0, ul = 0;
  if (!in.byte(attrs) || !in.byte(style) || !in.varint(fg) || !in.varint(bg) || !in.varint(ul))
    return line_result::truncated;
  if (attrs & 0x80 || style > static_cast<std::uint8_t>(underline_style::dashed))
    return line_result::bad_line;
  if (style != 0 && !(attrs & renditions::underlined)) return line_result::bad_line;
  for (std::uint64_t v : {fg, bg, ul})
    if (v > 0xFFFFFFFFu || !color::valid_value(static_cast<std::uint32_t>(v))) return line_result::bad_line;
  r = renditions{};
  r.attrs = attrs;
  r.ul_style = static_cast<underline_style>(style);
  r.fg = color::from_value(static_cast<std::uint32_t>(fg));
  r.bg = color::from_value(static_cast<std::uint32_t>(bg));
  r.ul = color::from_value(static_cast<std::uint32_t>(ul));
  return line_result::ok;
}

line_result read_line(reader& in, history_line& line) {
  std::uint8_t flags = 0;
  std::uint64_t ncells = 0;
  if (!in.byte(flags) || !in.varint(ncells)) return line_result::truncated;
  if (flags & ~line_wrapped) return line_result::bad_line;
  // Every cell takes at least one byte, so a count beyond the bytes left is a lie
  // found before anything is allocated.
  if (ncells > std::uint64_t{max_screen_side} || ncells > in.left()) return line_result::bad_line;
  line.wrap = (flags & line_wrapped) != 0;
  line.cells.clear();
  line.cells.reserve(static_cast<std::size_t>(ncells));
  while (line.cells.size() < ncells) {
    std::uint64_t run = 0;
    if (!in.varint(run)) return line_result::truncated;
    if (run == 0 || run > ncells - line.cells.size()) return line_result::bad_line;
    renditions r;
    if (const auto res = read_rend(in, r); res != line_result::ok) return res;
    for (std::uint64_t i = 0; i < run; ++i) {
      std::uint8_t tag = 0;
      if (!in.byte(tag)) return line_result::truncated;
      cell c(r);
      if (tag >= 0x20 && tag < 0x7F) {
        const char ch = static_cast<char>(tag);
        c.set_ascii(ch, r);
      } else if (tag == tag_long) {
        std::uint8_t cf = 0, len = 0;
        std::string_view text;
        if (!in.byte(cf) || !in.byte(len)) return line_result::truncated;
        if (cf & ~(cell_wide | cell_fallback) || len > cell::max_bytes) return line_result::bad_line;
        if (!in.bytes(len, text)) return line_result::truncated;
        if (!printable_utf8(text)) return line_result::bad_text;
        c.set_text(text);
        c.set_wide(cf & cell_wide);
        c.set_fallback(cf & cell_fallback);
      } else if (tag != tag_blank) {
        return line_result::bad_line;
      }
      line.cells.push_back(c);
    }
  }
  // The encoder leaves out trailing default blanks; a line that has one is not its output.
  if (!line.cells.empty() && default_blank(line.cells.back())) return line_result::bad_line;
  return line_result::ok;
}

std::string thousands(std::uint64_t n) {
  std::string digits = std::to_string(n), out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

}  // namespace

namespace {

std::size_t trimmed(std::span<const cell> cells) {
  std::size_t n = cells.size();
  while (n > 0 && default_blank(cells[n - 1])) --n;
  return n;
}

constexpr std::size_t line_bound(std::size_t n) { return 12 + n * max_cell_bytes; }

// Writes the first `n` cells as one line through `w` (a writer into line_bound(n)
// bytes). The plain form of the encoding, for runs of decoded lines; the ring's lines go
// through encode_line_into, which must write the same bytes (history_test checks both
// on tricky lines).
template <class W>
void encode_line(std::span<const cell> cells, std::size_t n, bool wrap, W& w) {
  w.byte(wrap ? line_wrapped : 0);
  w.varint(n);
  std::size_t i = 0;
  while (i < n) {
    const renditions& r = cells[i].rend();
    std::size_t j = i + 1;
    while (j < n && same_rend(cells[j].rend(), r)) ++j;
    w.varint(j - i);
    put_rend(w, r);
    // Plain ASCII, the usual case, is one byte a cell.
    for (; i < j && cells[i].plain_ascii(); ++i) w.byte(static_cast<std::uint8_t>(cells[i].text()[0]));
    for (; i < j; ++i) put_cell(w, cells[i]);
  }
}

std::size_t encode_line(std::span<const cell> cells, std::size_t n, bool wrap, char* start) {
  writer w{start};
  encode_line(cells, n, wrap, w);
  return static_cast<std::size_t>(w.p - start);
}

// Lines of up to this many cells are encoded on the stack.
constexpr std::size_t stack_cells = (4096 - 12) / max_cell_bytes;

static_assert(max_screen_side < 0x4000, "a run's length takes at most two varint bytes");

// The scroll path's encoder: encode_line's bytes in one pass over the cells. Each run's
// cells are written as they are found and its length afterwards, into the byte kept
// for it (a run of 128 cells or more needs two: the rare case moves the run along by
// one). Writes into [p, end) and returns the line's end, or nullptr when the line does
// not fit (the bytes there are then unspecified). Space is checked once a run (its
// header and a byte for every cell left) and again only before a cell of more than one
// byte, so a plain ASCII cell costs a compare of its renditions, a test and a store.
char* encode_line_into(std::span<const cell> cells, std::size_t n, bool wrap, char* p, char* const end) {
  const auto room = [&end](const char* at) { return static_cast<std::size_t>(end - at); };
  if (room(p) < 1 + varint_size(static_cast<std::uint32_t>(n))) return nullptr;
  writer w{p};
  w.byte(wrap ? line_wrapped : 0);
  w.varint(n);
  std::size_t i = 0;
  while (i < n) {
    const rend_key key = key_of(cells[i].rend());
    // The run's length, its renditions (at most 14 bytes: counted exactly only when
    // that matters) and a byte for every cell left.
    if (room(w.p) < 16 + (n - i) && room(w.p) < 2 + rend_size(key.r) + (n - i)) return nullptr;
    char* const length_at = w.p++;
    put_rend(w, key.r);
    const cell* c = cells.data() + i;
    const cell* const last = cells.data() + n;
    for (;;) {
      // The plain ASCII cells of the run, the usual case, in a loop of their own.
      while (c != last && matches(c->rend(), key) && c->plain_ascii()) *w.p++ = (c++)->text()[0];
      if (c == last || !matches(c->rend(), key)) break;
      // Its flags, length and text instead of one byte, the cells after it, and the
      // run length's second byte.
      if (room(w.p) < 3 + c->text().size() + static_cast<std::size_t>(last - c - 1) + 1) return nullptr;
      put_cell(w, *c++);
    }
    const auto j = static_cast<std::size_t>(c - cells.data());
    const std::size_t run = j - i;
    if (run < 0x80) {
      *length_at = static_cast<char>(run);
    } else {
      std::memmove(length_at + 2, length_at + 1, static_cast<std::size_t>(w.p - (length_at + 1)));
      writer at{length_at};
      at.varint(run);
      ++w.p;
    }
    i = j;
  }
  return w.p;
}

constexpr std::size_t plain_line_cells = 23;

// The most bytes put_plain_line writes besides the cells: the line's flags and length,
// the run's length (two varint bytes each at most) and its renditions.
constexpr std::size_t plain_header_max = 1 + 2 + 2 + 2 + 3 * varint_size(0xFFFFFFFFu);

// encode_line's bytes for cells the emulator knows are plain (row::plain): plain ASCII
// in the first one's renditions, so one run and a byte a cell, read from each cell's
// first byte without looking at its flags or renditions. Writes at most
// plain_header_max + cells.size() bytes at `out`; returns the end.
char* put_plain_line(std::span<const cell> cells, bool wrap, char* out) {
  const std::size_t n = cells.size();
  writer w{out};
  w.byte(wrap ? line_wrapped : 0);
  w.varint(n);
  if (n == 0) return w.p;
  w.varint(n);
  put_rend(w, cells[0].rend());
  for (std::size_t i = 0; i < n; ++i) w.p[i] = cells[i].text()[0];
  return w.p + n;
}

}  // namespace

void encode_history_line(std::span<const cell> cells, bool wrap, std::string& out) {
  const std::size_t n = trimmed(cells);
  if (n <= stack_cells) {
    char stack[line_bound(stack_cells)];
    out.append(stack, encode_line(cells, n, wrap, stack));
    return;
  }
  const std::size_t old = out.size();
  out.resize(old + line_bound(n));
  out.resize(old + encode_line(cells, n, wrap, out.data() + old));
}

// ---------------------------------------------------------------------------------
// A stored line

std::string_view history::stored::view() const {
  return {in_big ? big.get() : small.data(), size};
}

void history::stored::assign(std::span<const cell> cells, bool wrap, std::vector<char>& scratch) {
  const std::size_t n = cells.size();
  // Most lines fit in the slot itself. A longer one goes straight into the block the
  // slot kept from an earlier line if it fits there, else through `scratch` into a
  // bigger block: encoding in place saves copying bytes just written one by one, which
  // stalls on store forwarding. A line takes at least 8 bytes more than its cells (its
  // header and one run's), so storage smaller than that is not tried.
  if (n + 8 <= small.size()) {
    if (const char* e = encode_line_into(cells, n, wrap, small.data(), small.data() + small.size())) {
      size = static_cast<std::uint32_t>(e - small.data());
      in_big = false;
      return;
    }
  }
  if (n + 8 <= big_capacity) {
    if (const char* e = encode_line_into(cells, n, wrap, big.get(), big.get() + big_capacity)) {
      size = static_cast<std::uint32_t>(e - big.get());
      in_big = true;
      return;
    }
  }
  const char* e = encode_line_into(cells, n, wrap, scratch.data(), scratch.data() + scratch.size());
  if (!e) {
    // line_bound(n) bytes always hold the line.
    scratch.resize(std::max(scratch.size(), line_bound(n)));
    e = encode_line_into(cells, n, wrap, scratch.data(), scratch.data() + scratch.size());
  }
  const auto len = static_cast<std::size_t>(e - scratch.data());
  // Rounded up (as malloc rounds anyway), so that a slot whose lines vary a little in
  // length soon stops needing a new block.
  reserve((len + 15) / 16 * 16);
  std::memcpy(big.get(), scratch.data(), len);
  size = static_cast<std::uint32_t>(len);
}

void history::stored::assign_plain(std::span<const cell> cells, bool wrap) {
  const std::size_t bound = plain_header_max + cells.size();
  char* out = small.data();
  if (bound <= small.size()) {
    in_big = false;
  } else {
    reserve((bound + 15) / 16 * 16);  // rounded up as in assign
    out = big.get();
  }
  size = static_cast<std::uint32_t>(put_plain_line(cells, wrap, out) - out);
}

void history::stored::reserve(std::size_t n) {
  if (big_capacity < n) {
    big = std::make_unique_for_overwrite<char[]>(n);
    big_capacity = static_cast<std::uint32_t>(n);
  }
  in_big = true;
}

// ---------------------------------------------------------------------------------
// The ring

history::history(std::size_t limit) : limit_(std::min(limit, max_history_lines)) {}

void history::set_limit(std::size_t limit) {
  limit = std::min(limit, max_history_lines);
  // Oldest first at index 0 again, so that the ring can grow or be cut at the end.
  std::rotate(ring_.begin(), ring_.begin() + static_cast<std::ptrdiff_t>(head_), ring_.end());
  head_ = 0;
  if (count_ > limit) {
    ring_.erase(ring_.begin(), ring_.begin() + static_cast<std::ptrdiff_t>(count_ - limit));
    count_ = limit;
  }
  ring_.resize(count_);
  ring_.shrink_to_fit();
  limit_ = limit;
}

void history::drop_newest(std::size_t n) {
  n = static_cast<std::size_t>(std::min<std::uint64_t>(n, end_ - withdrawable_from()));
  if (n == 0) return;
  // As set_limit: oldest first at index 0, then the newest cut off the end (the ring
  // then has room, so push() appends again).
  std::rotate(ring_.begin(), ring_.begin() + static_cast<std::ptrdiff_t>(head_), ring_.end());
  head_ = 0;
  count_ -= n;
  ring_.resize(count_);
  end_ -= n;
}

// The most common line, cut to at most plain_line_cells cells that are all plain ASCII
// in one rendition with colours below 128, as encode_line writes it (8 header bytes,
// then a byte a cell) into `out` (a slot's own storage): the header from plain_ (the
// last such line's, most often the same renditions) and a store per cell. Returns the
// line's length, or 0 when the line is not of that kind.
template <bool known_plain>
std::size_t history::encode_plain(std::span<const cell> cells, bool wrap, char* out) {
  const std::size_t n = cells.size();
  if (n == 0 || n > plain_line_cells) return 0;
  const rend_key key = key_of(cells[0].rend());
  if (key.lo != plain_.lo || key.hi != plain_.hi) {
    const renditions& r = key.r;
    if ((r.fg.value() | r.bg.value() | r.ul.value()) >= 0x80) return 0;
    plain_.lo = key.lo;
    plain_.hi = key.hi;
    plain_.bytes = {0, 0, 0, static_cast<char>(r.attrs), static_cast<char>(r.ul_style),
                    static_cast<char>(r.fg.value()), static_cast<char>(r.bg.value()),
                    static_cast<char>(r.ul.value())};
  }
  for (std::size_t j = 0; j < n; ++j) {
    const cell& c = cells[j];
    if (!known_plain && (!matches(c.rend(), key) || !c.plain_ascii())) return 0;
    out[8 + j] = c.text()[0];
  }
  std::memcpy(out, plain_.bytes.data(), 8);
  out[0] = static_cast<char>(wrap ? line_wrapped : 0);
  out[1] = static_cast<char>(n);  // cells, then the run's length: all of them
  out[2] = static_cast<char>(n);
  return 8 + n;
}

history::stored& history::grow() {
  // Doubling, but never past the bound: the ring holds at most limit_ slots.
  if (count_ == ring_.capacity()) ring_.reserve(std::min(limit_, std::max<std::size_t>(64, 2 * count_)));
  ++count_;
  return ring_.emplace_back();
}

void history::push(const row& r) {
  ++end_;
  if (limit_ == 0) return;
  // The ring holds count_ slots (ring_.size()); once full, a line takes the oldest one's.
  stored* s = nullptr;
  if (count_ < limit_) {
    s = &grow();
  } else {
    s = &ring_[head_];
    if (++head_ == count_) head_ = 0;
  }
  std::span<const cell> cells(r.cells);
  static_assert(std::tuple_size_v<decltype(s->small)> >= 8 + plain_line_cells);
  // A line of text that print_ascii wrote, the usual case: its cells need no checks.
  if (r.plain && r.blank_from <= cells.size() && (r.blank_from == cells.size() || default_rend(r.blank_rend))) {
    cells = cells.first(r.blank_from);
    if (const std::size_t len = encode_plain<true>(cells, r.wrap, s->small.data())) {
      s->size = static_cast<std::uint32_t>(len);
      s->in_big = false;
      return;
    }
    s->assign_plain(cells, r.wrap);
    return;
  }
  // Cells past blank_from are known default blanks: only those before it need looking at.
  if (r.blank_from < cells.size() && default_rend(r.blank_rend)) cells = cells.first(r.blank_from);
  cells = cells.first(trimmed(cells));
  if (const std::size_t len = encode_plain<false>(cells, r.wrap, s->small.data())) {
    s->size = static_cast<std::uint32_t>(len);
    s->in_big = false;
    return;
  }
  s->assign(cells, r.wrap, scratch_);
}

std::string_view history::encoded(std::uint64_t n) const {
  const std::uint64_t offset = n - first();
  return ring_[static_cast<std::size_t>((head_ + offset) % ring_.size())].view();
}

history_line history::line(std::uint64_t n) const {
  history_line out;
  reader in(encoded(n));
  // Our own encoding of our own cells: it always decodes.
  (void)read_line(in, out);
  return out;
}

history::span_from history::from(std::uint64_t n) const {
  span_from s;
  s.end = end_;
  s.first = std::clamp(n, first(), end_);
  s.skipped = s.first > n ? s.first - n : 0;
  return s;
}

std::string history::encode_from(std::uint64_t n, std::size_t max_lines, std::size_t max_bytes) const {
  const span_from s = from(n);
  std::size_t lines = 0, bytes = 0;
  for (std::uint64_t i = s.first; i < s.end && lines < max_lines; ++i) {
    const std::size_t size = encoded(i).size();
    if (lines > 0 && bytes + size > max_bytes) break;
    bytes += size;
    ++lines;
  }
  std::string out;
  out.reserve(bytes + 24);
  out.push_back(static_cast<char>(history_encoding_version));
  put_varint(out, s.first);
  put_varint(out, lines);
  for (std::uint64_t i = s.first; i < s.first + lines; ++i) out += encoded(i);
  return out;
}

std::size_t history::bytes() const {
  std::size_t total = ring_.capacity() * sizeof(stored) + scratch_.capacity();
  for (const auto& s : ring_) total += s.big_capacity;
  return total;
}

// ---------------------------------------------------------------------------------
// Runs

std::string encode_history(std::uint64_t first, std::span<const history_line> lines) {
  std::string out;
  out.push_back(static_cast<char>(history_encoding_version));
  put_varint(out, first);
  put_varint(out, lines.size());
  for (const auto& l : lines) encode_history_line(l.cells, l.wrap, out);
  return out;
}

std::string_view describe(history_error e) {
  switch (e) {
    case history_error::truncated: return "history run is truncated";
    case history_error::bad_version: return "history run has an unknown version";
    case history_error::too_many_lines: return "history run has too many lines";
    case history_error::bad_line: return "history line is malformed";
    case history_error::bad_text: return "history line holds text that is not printable UTF-8";
    case history_error::trailing_bytes: return "history run has bytes after its last line";
  }
  return "history run is malformed";
}

result<history_run, history_error> decode_history(std::string_view bytes) {
  reader in(bytes);
  std::uint8_t version = 0;
  std::uint64_t first = 0, count = 0;
  if (!in.byte(version)) return failure<history_error>{history_error::truncated};
  if (version != history_encoding_version) return failure<history_error>{history_error::bad_version};
  if (!in.varint(first) || !in.varint(count)) return failure<history_error>{history_error::truncated};
  if (count > max_decoded_lines) return failure<history_error>{history_error::too_many_lines};
  // A line takes at least two bytes.
  if (count > in.left() / 2) return failure<history_error>{history_error::truncated};
  history_run run;
  run.first = first;
  run.lines.resize(static_cast<std::size_t>(count));
  for (auto& line : run.lines) {
    switch (read_line(in, line)) {
      case line_result::ok: break;
      case line_result::truncated: return failure<history_error>{history_error::truncated};
      case line_result::bad_line: return failure<history_error>{history_error::bad_line};
      case line_result::bad_text: return failure<history_error>{history_error::bad_text};
    }
  }
  if (!in.done()) return failure<history_error>{history_error::trailing_bytes};
  return run;
}

// ---------------------------------------------------------------------------------
// Rendering into the local terminal

std::string render_history(std::span<const history_line> lines, const terminal_profile& profile) {
  std::string out;
  renditions cur;
  auto set = [&](const renditions& r) {
    if (r == cur) return;
    out += sgr_sequence(r, profile);
    cur = r;
  };
  for (const auto& line : lines) {
    for (std::size_t i = 0; i < line.cells.size(); ++i) {
      const cell& c = line.cells[i];
      set(c.rend());
      if (c.blank()) {
        out += ' ';
      } else {
        if (c.fallback()) out += "\xC2\xA0";
        out += c.text();
      }
      if (c.wide()) ++i;  // its right half is the next cell
    }
    if (!line.wrap) {
      // The line feed scrolls in a line of the current background: the default one.
      set(renditions{});
      out += "\r\n";
    }
  }
  set(renditions{});
  return out;
}

std::string render_skipped(std::uint64_t n) {
  return "\033[0m[mosh2: " + thousands(n) + (n == 1 ? " line" : " lines") + " skipped]\r\n";
}

}  // namespace mosh2::terminal

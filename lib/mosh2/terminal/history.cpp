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

// The writer for a buffer that may be too small: it stops writing at `end` and says so.
// Encoding a short line straight into its slot this way avoids copying it from a
// buffer just written byte by byte, which stalls on store forwarding.
struct checked_writer {
  char* p;
  char* end;
  bool ok = true;
  void byte(std::uint8_t b) {
    if (p < end) *p++ = static_cast<char>(b);
    else ok = false;
  }
  void varint(std::uint64_t v) {
    while (v >= 0x80) {
      byte(static_cast<std::uint8_t>(0x80 | (v & 0x7F)));
      v >>= 7;
    }
    byte(static_cast<std::uint8_t>(v));
  }
  void bytes(std::string_view t) {
    if (static_cast<std::size_t>(end - p) < t.size()) {
      ok = false;
      p = end;
      return;
    }
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

bool default_blank(const cell& c) {
  return c.blank() && !c.wide() && !c.fallback() && c.rend() == renditions{};
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
// bytes, or a checked_writer).
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

void history::stored::assign(std::span<const cell> cells, bool wrap) {
  const std::size_t n = trimmed(cells);
  if (n < small.size()) {
    checked_writer w{small.data(), small.data() + small.size()};
    encode_line(cells, n, wrap, w);
    if (w.ok) {
      size = static_cast<std::uint32_t>(w.p - small.data());
      in_big = false;
      return;
    }
  }
  if (n <= stack_cells) {
    char stack[line_bound(stack_cells)];
    const std::size_t len = encode_line(cells, n, wrap, stack);
    size = static_cast<std::uint32_t>(len);
    reserve(len);
    std::memcpy(big.get(), stack, len);
    return;
  }
  reserve(line_bound(n));
  size = static_cast<std::uint32_t>(encode_line(cells, n, wrap, big.get()));
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

void history::push(const row& r) {
  ++end_;
  if (limit_ == 0) return;
  stored* s = nullptr;
  if (ring_.size() < limit_) {
    s = &ring_.emplace_back();
    ++count_;
  } else {
    s = &ring_[head_];  // the oldest line's storage, reused
    if (++head_ == ring_.size()) head_ = 0;
  }
  std::span<const cell> cells(r.cells);
  // Cells past blank_from are known blanks: only those before it need looking at.
  if (r.blank_from != row::unknown_blanks && r.blank_rend == renditions{})
    cells = cells.first(std::min(r.blank_from, cells.size()));
  s->assign(cells, r.wrap);
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
  std::size_t total = ring_.capacity() * sizeof(stored);
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

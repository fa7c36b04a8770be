#pragma once
// The screen model that SSP synchronizes (protocol §9.2): a grid of cells, the draw
// state, and the window-level fields. Rows are shared copy-on-write, so copying a
// framebuffer (which SSP does for every state it keeps) costs one pointer per row.

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "mosh2/terminal/limits.hpp"

namespace mosh2::terminal {

/// A colour as the wire knows it: default, a 256-colour palette index (0-7 are the
/// basic colours, 8-15 the bright ones), or 24-bit true colour.
class color {
public:
  constexpr color() = default;
  static constexpr color indexed(std::uint8_t i) { return color(1u + i); }
  static constexpr color rgb(std::uint8_t r, std::uint8_t g, std::uint8_t b) {
    return color(truecolor_bit | (std::uint32_t{r} << 16) | (std::uint32_t{g} << 8) | b);
  }
  constexpr bool is_default() const { return v_ == 0; }
  constexpr bool is_indexed() const { return v_ != 0 && !(v_ & truecolor_bit); }
  constexpr bool is_rgb() const { return (v_ & truecolor_bit) != 0; }
  constexpr std::uint8_t index() const { return static_cast<std::uint8_t>(v_ - 1); }
  constexpr std::uint8_t red() const { return static_cast<std::uint8_t>(v_ >> 16); }
  constexpr std::uint8_t green() const { return static_cast<std::uint8_t>(v_ >> 8); }
  constexpr std::uint8_t blue() const { return static_cast<std::uint8_t>(v_); }
  /// The packed form: 0 = default, 1 + index, or bit 24 plus 0xRRGGBB.
  constexpr std::uint32_t value() const { return v_; }
  /// True for a value that value() can return.
  static constexpr bool valid_value(std::uint32_t v) {
    return v <= 256 || (v & ~std::uint32_t{0xFFFFFF}) == truecolor_bit;
  }
  /// The colour of a valid packed value (valid_value), default otherwise.
  static constexpr color from_value(std::uint32_t v) { return valid_value(v) ? color(v) : color(); }
  constexpr bool operator==(const color&) const = default;

private:
  static constexpr std::uint32_t truecolor_bit = 1u << 24;
  constexpr explicit color(std::uint32_t v) : v_(v) {}
  std::uint32_t v_ = 0;
};

/// Underline styles (SGR 4:1 to 4:5); meaningful only with the underlined attribute.
enum class underline_style : std::uint8_t { single = 0, double_line = 1, curly = 2, dotted = 3, dashed = 4 };

/// SGR state of a cell or of the cursor. Faint exists but SGR 2 is ignored, as in Mosh 1.4.
/// The underline style and colour are beyond Mosh 1.4 ("extended"): a stock peer is
/// shown the plain underline instead (plain()).
struct renditions {
  enum attr : std::uint8_t {
    bold = 1, faint = 2, italic = 4, underlined = 8, blink = 16, inverse = 32, invisible = 64
  };
  color fg;
  color bg;
  color ul;  ///< underline colour (SGR 58/59); default = the text colour
  std::uint8_t attrs = 0;
  /// single unless underlined: the style goes with the attribute.
  underline_style ul_style = underline_style::single;

  constexpr bool has(attr a) const { return (attrs & a) != 0; }
  constexpr void set(attr a, bool on) {
    attrs = on ? static_cast<std::uint8_t>(attrs | a) : static_cast<std::uint8_t>(attrs & ~a);
    if (a == underlined) ul_style = underline_style::single;
  }
  /// Underlined in the given style.
  constexpr void set_underline(underline_style s) {
    attrs = static_cast<std::uint8_t>(attrs | underlined);
    ul_style = s;
  }
  /// True when something here is beyond what Mosh 1.4 can show.
  constexpr bool extended() const { return ul_style != underline_style::single || !ul.is_default(); }
  /// What Mosh 1.4 can show of these renditions: the underline plain, in the text colour.
  constexpr renditions plain() const {
    renditions r = *this;
    r.ul_style = underline_style::single;
    r.ul = color{};
    return r;
  }
  constexpr bool operator==(const renditions&) const = default;
};

static_assert(sizeof(renditions) == 16, "renditions: three colours and two bytes");

/// One character cell: UTF-8 contents (a base character plus combining marks, empty =
/// blank), renditions, and whether it is the left half of a wide character or a
/// combining sequence with no base (drawn after U+00A0).
class cell {
public:
  static constexpr std::size_t max_bytes = 32;  ///< protocol cap on a cell's contents

  cell() = default;
  explicit cell(renditions r) : rend_(r) {}

  bool blank() const { return len_ == 0; }
  std::string_view text() const { return {text_.data(), len_}; }
  /// Replaces the contents; returns false (and changes nothing) past the byte cap.
  bool set_text(std::string_view s) {
    if (s.size() > max_bytes) return false;
    std::memcpy(text_.data(), s.data(), s.size());
    len_ = static_cast<std::uint8_t>(s.size());
    return true;
  }
  /// Appends a combining mark's bytes; returns false (and changes nothing) when full.
  bool append_text(std::string_view s) {
    if (len_ + s.size() > max_bytes) return false;
    std::memcpy(text_.data() + len_, s.data(), s.size());
    len_ = static_cast<std::uint8_t>(len_ + s.size());
    return true;
  }
  /// Blank with the given renditions (erase uses the current background).
  void reset(renditions r) {
    len_ = 0;
    flags_ = 0;
    rend_ = r;
  }
  /// Makes the cell hold one printable ASCII character (the emulator's fast path:
  /// no byte beyond the contents is touched, equality looks only at those).
  void set_ascii(char ch, renditions r) {
    text_[0] = ch;
    len_ = 1;
    flags_ = 0;
    rend_ = r;
  }
  /// set_ascii for a run of characters: `proto` went through set_ascii with the run's
  /// renditions, and this cell becomes a copy of it with its own character.
  void set_ascii_like(const cell& proto, char ch) {
    *this = proto;
    text_[0] = ch;
  }
  /// Makes the cell hold one character (UTF-8, at most 4 bytes) with the given width flag.
  void set_char(std::string_view utf8, renditions r, bool wide) {
    std::memcpy(text_.data(), utf8.data(), utf8.size());
    len_ = static_cast<std::uint8_t>(utf8.size());
    flags_ = wide ? wide_flag : 0;
    rend_ = r;
  }

  /// One printable ASCII character, narrow, no flags (what set_ascii makes).
  bool plain_ascii() const {
    return len_ == 1 && flags_ == 0 && text_[0] >= 0x20 && text_[0] < 0x7F;
  }
  const renditions& rend() const { return rend_; }
  renditions& rend() { return rend_; }
  bool wide() const { return (flags_ & wide_flag) != 0; }
  void set_wide(bool w) { flags_ = static_cast<std::uint8_t>(w ? flags_ | wide_flag : flags_ & ~wide_flag); }
  bool fallback() const { return (flags_ & fallback_flag) != 0; }
  void set_fallback(bool f) {
    flags_ = static_cast<std::uint8_t>(f ? flags_ | fallback_flag : flags_ & ~fallback_flag);
  }
  /// Columns the cell occupies on screen.
  int width() const { return wide() ? 2 : 1; }

  bool operator==(const cell& o) const {
    return len_ == o.len_ && rend_ == o.rend_ && flags_ == o.flags_ &&
           std::memcmp(text_.data(), o.text_.data(), len_) == 0;
  }

private:
  static constexpr std::uint8_t wide_flag = 1, fallback_flag = 2;
  std::array<char, max_bytes> text_{};
  std::uint8_t len_ = 0;
  std::uint8_t flags_ = 0;
  renditions rend_;
};

static_assert(std::is_trivially_copyable_v<cell>, "rows copy cells with memmove");
// Memory per cell is what the screen caps are sized by (limits.hpp): 48 bytes before
// the underline colour was added, 52 with it. Byte-aligned colours would keep 48, but
// gcc 12 then copies renditions through the stack, which halved the print path's speed.
static_assert(sizeof(cell) == 52, "a cell is 52 bytes");

/// One screen row. `wrap` means the text continued onto the next row by autowrap.
struct row {
  std::vector<cell> cells;
  bool wrap = false;
  /// Some cell may have extended renditions (renditions::extended). Set by every write
  /// of such a cell, never cleared by one: the frame diff toward a stock peer looks at
  /// the cells of flagged rows only.
  bool extended = false;
  /// Bumped on every change through framebuffer::mutable_row, so the frame diff can
  /// skip rows it has already compared without looking at their cells.
  std::uint64_t generation = 0;
  /// Cells from `blank_from` on are known to be blanks of renditions `blank_rend`; when
  /// unknown it is `unknown_blanks` (every path that may write anywhere sets that). It
  /// lets a row that leaves the screen be blanked again by resetting only the cells
  /// that were written, which is most of the cost of scrolling text (seq, logs).
  static constexpr std::size_t unknown_blanks = SIZE_MAX;
  std::size_t blank_from = unknown_blanks;
  renditions blank_rend;
  /// Every cell before `blank_from` (then known) is one printable ASCII character made
  /// by set_ascii, all in the first cell's renditions: what print_ascii leaves on a line
  /// of text (seq, logs), so the history encodes it from this without looking at each
  /// cell's flags and renditions. Only print_ascii (through mutable_row_ascii) and the
  /// blank row set it; every other write clears it.
  bool plain = false;

  /// Nothing is known about the cells any more (a write that may go anywhere).
  void forget_cells() {
    blank_from = unknown_blanks;
    plain = false;
  }

  row() = default;
  // Filling from one named blank avoids rebuilding a temporary per cell, which gcc 12
  // turns into a store-forwarding stall per cell.
  row(int cols, renditions r) : cells(static_cast<std::size_t>(cols)) {
    if (!(r == renditions{})) {
      const cell blank(r);
      std::fill(cells.begin(), cells.end(), blank);
    }
  }
  bool operator==(const row& o) const { return wrap == o.wrap && cells == o.cells; }
};

enum class mouse_reporting : std::uint16_t { none = 0, x10 = 9, vt220 = 1000, vt220_highlight = 1001, button_event = 1002, any_event = 1003 };
enum class mouse_encoding : std::uint16_t { none = 0, utf8 = 1005, sgr = 1006, urxvt = 1015 };

/// The parts of the draw state that the emulator keeps. Only the fields listed in
/// `same_synchronized` take part in equality (protocol §9.2).
struct draw_state {
  int width = 80;
  int height = 24;
  int cursor_row = 0;
  int cursor_col = 0;
  bool next_print_wraps = false;  ///< deferred wrap: the cursor sits on the last column
  bool origin_mode = false;
  bool auto_wrap = true;
  bool insert_mode = false;
  bool cursor_visible = true;
  bool reverse_video = false;
  bool bracketed_paste = false;
  bool application_cursor_keys = false;
  mouse_reporting mouse = mouse_reporting::none;
  bool mouse_focus_events = false;
  bool mouse_alternate_scroll = false;
  mouse_encoding mouse_enc = mouse_encoding::none;
  int scroll_top = 0;              ///< scrolling region, inclusive, 0-based
  int scroll_bottom = 23;
  std::vector<bool> tabs;          ///< tab stop per column
  renditions rend;                 ///< what the next printed character gets

  struct saved_cursor {
    int row = 0, col = 0;
    renditions rend;
    bool auto_wrap = true, origin_mode = false;
  } saved;

  /// The synchronized subset of the draw state.
  bool same_synchronized(const draw_state& o) const {
    return width == o.width && height == o.height && cursor_row == o.cursor_row &&
           cursor_col == o.cursor_col && cursor_visible == o.cursor_visible &&
           reverse_video == o.reverse_video && rend == o.rend &&
           bracketed_paste == o.bracketed_paste && mouse == o.mouse &&
           mouse_focus_events == o.mouse_focus_events &&
           mouse_alternate_scroll == o.mouse_alternate_scroll && mouse_enc == o.mouse_enc;
  }
};

/// The whole screen. Equality is what decides whether SSP has a new state to send.
class framebuffer {
public:
  framebuffer(int width = 80, int height = 24) { reset(width, height); }

  int width() const { return ds_.width; }
  int height() const { return ds_.height; }

  const row& row_at(int r) const { return *rows_[static_cast<std::size_t>(r)]; }
  const cell& cell_at(int r, int c) const { return row_at(r).cells[static_cast<std::size_t>(c)]; }
  /// Writable row: unshares it first (copy-on-write) and bumps its generation.
  row& mutable_row(int r) {
    row& w = writable(r);
    w.forget_cells();
    return w;
  }
  /// Writable row of which only the cells before column `end` will change (and `wrap`).
  row& mutable_row_before(int r, int end) {
    row& w = writable(r);
    if (end > 0) w.plain = false;
    if (w.blank_from != row::unknown_blanks)
      w.blank_from = std::max(w.blank_from, static_cast<std::size_t>(std::max(end, 0)));
    return w;
  }
  /// Writable row whose cells [col, col + n) the caller makes plain ASCII characters
  /// with renditions `rend` (set_ascii), and nothing else: the row stays `plain` when
  /// it was and the run continues its text in the same renditions with no blank gap.
  row& mutable_row_ascii(int r, int col, int n, const renditions& rend) {
    row& w = writable(r);
    const std::size_t c = static_cast<std::size_t>(col), e = c + static_cast<std::size_t>(n);
    if (w.blank_from == row::unknown_blanks) return w;  // and plain is false
    if (c == 0 && w.blank_from <= e) {
      w.plain = true;  // the run replaces every cell written before (seq, logs)
    } else if (w.plain) {
      // The run continues the text in its renditions (a plain row's are its first cell's)
      // with no blank gap before it.
      w.plain = c <= w.blank_from && w.blank_from > 0 && w.cells[0].rend() == rend;
    }
    w.blank_from = std::max(w.blank_from, e);
    return w;
  }
  cell& mutable_cell(int r, int c) { return mutable_row(r).cells[static_cast<std::size_t>(c)]; }
  /// True when both framebuffers share this row object (so it is certainly equal).
  bool shares_row(const framebuffer& o, int r) const {
    return rows_[static_cast<std::size_t>(r)] == o.rows_[static_cast<std::size_t>(r)];
  }

  using row_ptr = std::shared_ptr<row>;

  /// Puts row object `p` (of this width) at row `r`, as it is: for views of a screen
  /// (the frame diff's degraded copy) and for reflow.
  void replace_row(int r, row_ptr p) {
    auto& slot = rows_[static_cast<std::size_t>(r)];
    slot = std::move(p);
    ++work_;
  }

  /// Blanks row `r` with background `bg` (wrap cleared) by pointing it at the shared
  /// blank row: erasing a whole line costs no copy.
  void clear_row(int r, renditions bg) {
    auto& p = rows_[static_cast<std::size_t>(r)];
    retire(p);
    p = blank_row(bg);
    ++work_;
  }

  /// Points every row at one shared copy of `pattern` (wrap cleared): filling the
  /// screen costs one row and a pointer per row, and the first write to a row copies it.
  void fill_rows(const row& pattern) {
    auto shared = std::make_shared<row>(pattern);
    shared->wrap = false;
    shared->generation = ++generation_counter_;
    spare_.rows.clear();
    for (auto& p : rows_) p = shared;
    work_ += shared->cells.size() + rows_.size();
  }

  /// Swaps the whole grid with `other` (same size), for the alternate screen: the
  /// screen not shown lives outside the framebuffer and takes no part in equality.
  void exchange_rows(std::vector<row_ptr>& other) { rows_.swap(other); }
  /// A blank grid of the current size with background `r`, for exchange_rows.
  std::vector<row_ptr> blank_rows(renditions r) {
    std::vector<row_ptr> v(rows_.size());
    for (auto& p : v) p = blank_row(r);
    work_ += v.size();
    return v;
  }

  /// Moves rows [top, bottom] up by n (n > 0) or down (n < 0), filling with blanks
  /// of background `r`; rows are moved as pointers, not copied.
  void scroll(int top, int bottom, int n, renditions r) {
    if (top > bottom || n == 0) return;
    const int span = bottom - top + 1;
    work_ += static_cast<std::uint64_t>(span);
    auto first = rows_.begin() + top, last = rows_.begin() + bottom + 1;
    if (std::abs(n) >= span) {
      for (auto it = first; it != last; ++it) {
        retire(*it);
        *it = blank_row(r);
      }
      return;
    }
    // Moving (not std::rotate's swaps) keeps the per-line cost of a scroll low: the
    // rows that leave are dropped anyway (or kept as spares).
    if (n > 0) {
      for (auto it = first; it != first + n; ++it) retire(*it);
      std::move(first + n, last, first);
      for (auto it = last - n; it != last; ++it) *it = blank_row(r);
    } else {
      for (auto it = last + n; it != last; ++it) retire(*it);
      std::move_backward(first, last + n, last);
      for (auto it = first; it != first - n; ++it) *it = blank_row(r);
    }
  }

  /// A blank screen of the given size with default draw state; title and
  /// clipboard cleared; the bell counter is kept (ESC c semantics).
  void reset(int width, int height) {
    ds_ = draw_state{};
    ds_.width = width;
    ds_.height = height;
    ds_.scroll_bottom = height - 1;
    ds_.tabs.assign(static_cast<std::size_t>(width), false);
    for (int c = 8; c < width; c += 8) ds_.tabs[static_cast<std::size_t>(c)] = true;
    rows_.assign(static_cast<std::size_t>(height), nullptr);
    spare_.rows.clear();
    for (auto& p : rows_) p = blank_row({});
    title_.clear();
    icon_name_.clear();
    title_initialized_ = false;
    clipboard_.clear();
    work_ += static_cast<std::uint64_t>(width) + static_cast<std::uint64_t>(height);
  }

  /// Changes the size per protocol §9.3: rows added or removed at the bottom, each
  /// row cut or padded (padding uses the current background) and its wrap cleared.
  /// Rows that leave are dropped before any row is copied, and each kept row is copied
  /// once at its new width, so the cost is the new screen's, never the old one's.
  void resize(int width, int height) {
    if (width == ds_.width && height == ds_.height) return;
    spare_.rows.clear();
    const auto new_width = static_cast<std::size_t>(width);
    if (rows_.size() > static_cast<std::size_t>(height)) rows_.resize(static_cast<std::size_t>(height));
    if (width != ds_.width) {
      const cell pad(background());
      for (auto& p : rows_) {
        auto copy = std::make_shared<row>();
        copy->extended = p->extended;
        const auto kept = std::min(new_width, p->cells.size());
        copy->cells.reserve(new_width);
        copy->cells.assign(p->cells.begin(), p->cells.begin() + static_cast<std::ptrdiff_t>(kept));
        copy->cells.resize(new_width, pad);
        copy->generation = ++generation_counter_;
        p = std::move(copy);
        work_ += new_width;
      }
    }
    ds_.width = width;
    work_ += static_cast<std::uint64_t>(height);
    rows_.resize(static_cast<std::size_t>(height));
    for (auto& p : rows_)
      if (!p) p = blank_row(background());
    resize_state(width, height);
  }

  /// A resize whose rows the caller built (reflow): `rows` are `height` rows of `width`
  /// cells, the cursor goes to (cursor_row, cursor_col); the rest as in resize.
  void resize_to(int width, int height, std::vector<row_ptr> rows, int cursor_row, int cursor_col) {
    spare_.rows.clear();
    rows_ = std::move(rows);
    for (auto& p : rows_) p->generation = ++generation_counter_;
    work_ += static_cast<std::uint64_t>(height);
    ds_.width = width;
    ds_.cursor_row = cursor_row;
    ds_.cursor_col = cursor_col;
    resize_state(width, height);
  }

private:
  void resize_state(int width, int height) {
    const auto new_width = static_cast<std::size_t>(width);
    const auto old_width = ds_.tabs.size();
    ds_.tabs.resize(new_width, false);
    for (std::size_t c = (old_width + 7) / 8 * 8; c < ds_.tabs.size(); c += 8)
      if (c > 0) ds_.tabs[c] = true;
    ds_.width = width;
    ds_.height = height;
    ds_.scroll_top = 0;
    ds_.scroll_bottom = height - 1;
    ds_.cursor_row = std::min(ds_.cursor_row, height - 1);
    ds_.cursor_col = std::min(ds_.cursor_col, width - 1);
    ds_.next_print_wraps = false;
  }

public:

  /// Work done on this screen so far: cells written, copied or erased one by one, plus
  /// rows moved or replaced. A measure of CPU that tests can compare with what the input
  /// justifies, and that the client caps per host message. Not synchronized.
  std::uint64_t work() const { return work_; }
  /// Counts work done on the cells by the emulator.
  void add_work(std::uint64_t n) { work_ += n; }

  draw_state& ds() { return ds_; }
  const draw_state& ds() const { return ds_; }

  /// Renditions that erased cells get: the current background only (BCE).
  renditions background() const {
    renditions r;
    r.bg = ds_.rend.bg;
    return r;
  }

  const std::u32string& title() const { return title_; }
  const std::u32string& icon_name() const { return icon_name_; }
  bool title_initialized() const { return title_initialized_; }
  void set_title(std::u32string t) { title_ = std::move(t); title_initialized_ = true; }
  void set_icon_name(std::u32string t) { icon_name_ = std::move(t); title_initialized_ = true; }
  /// Used by overlays (e.g. the client's title prefix).
  void set_title_initialized(bool v) { title_initialized_ = v; }

  const std::string& clipboard() const { return clipboard_; }
  void set_clipboard(std::string c) { clipboard_ = std::move(c); }

  unsigned bell_count() const { return bell_count_; }
  void ring_bell() { ++bell_count_; }

  /// Synchronized equality (protocol §9.2): cells, title, clipboard, bell count and the
  /// synchronized part of the draw state. Shared rows compare in O(1).
  bool operator==(const framebuffer& o) const {
    if (!ds_.same_synchronized(o.ds_) || bell_count_ != o.bell_count_ || title_ != o.title_ ||
        clipboard_ != o.clipboard_ || rows_.size() != o.rows_.size())
      return false;
    for (std::size_t r = 0; r < rows_.size(); ++r)
      if (rows_[r] != o.rows_[r] && !(*rows_[r] == *o.rows_[r])) return false;
    return true;
  }

  /// Describes the first broken structural invariant (grid shape, cursor and scrolling
  /// region on screen, one tab flag per column), or returns nullptr. For tests and fuzzing.
  const char* invariant_violation() const {
    if (ds_.width < 1 || ds_.height < 1) return "empty screen";
    if (rows_.size() != static_cast<std::size_t>(ds_.height)) return "row count != height";
    for (const auto& p : rows_) {
      if (!p) return "missing row";
      if (p->cells.size() != static_cast<std::size_t>(ds_.width)) return "row length != width";
    }
    if (ds_.cursor_row < 0 || ds_.cursor_row >= ds_.height) return "cursor row off screen";
    if (ds_.cursor_col < 0 || ds_.cursor_col >= ds_.width) return "cursor column off screen";
    if (ds_.scroll_top < 0 || ds_.scroll_top > ds_.scroll_bottom || ds_.scroll_bottom >= ds_.height)
      return "scrolling region off screen";
    if (ds_.tabs.size() != static_cast<std::size_t>(ds_.width)) return "tab stops != width";
    return nullptr;
  }

private:
  // Blank rows are shared: scrolling or clearing hands out the same immutable blank
  // row (the cache keeps it shared, so the first write to it copies), which makes a
  // scrolled-in line cost a pointer until something is printed on it. A (row object,
  // generation) pair therefore always names the same contents.
  std::shared_ptr<row> blank_row(renditions r) {
    if (!blank_cache_ || blank_cache_->cells.size() != static_cast<std::size_t>(ds_.width) ||
        !(blank_cache_->cells.front().rend() == r)) {
      blank_cache_ = std::make_shared<row>(ds_.width, r);
      blank_cache_->blank_from = 0;
      blank_cache_->plain = true;
      blank_cache_->blank_rend = r;
      blank_cache_->generation = ++generation_counter_;
      work_ += static_cast<std::uint64_t>(ds_.width);
    }
    return blank_cache_;
  }

  // Copy-on-write of a shared row. A row that left the screen unshared (a spare) is
  // reused when there is one, which saves the allocation: the common case is a blank
  // line scrolled in and now printed on.
  void unshare(row_ptr& p) {
    if (spare_.rows.empty()) {
      p = std::make_shared<row>(*p);
      return;
    }
    row_ptr fresh = std::move(spare_.rows.back());
    spare_.rows.pop_back();
    if (fresh->cells.size() != p->cells.size()) {
      p = std::make_shared<row>(*p);
      return;
    }
    if (p->blank_from == 0 && fresh->blank_from <= fresh->cells.size() &&
        fresh->blank_rend == p->blank_rend) {
      // A blank line over a spare of the same background: only the cells the spare had
      // written need blanking again (a few for a line of scrolled text, not 80).
      const cell blank(p->blank_rend);
      std::fill_n(fresh->cells.begin(), fresh->blank_from, blank);
    } else {
      // Cells are trivially copyable: std::copy is one memmove, several times faster
      // than the element-wise loops of a copy construction or a fill.
      std::copy(p->cells.begin(), p->cells.end(), fresh->cells.begin());
    }
    fresh->wrap = p->wrap;
    fresh->extended = p->extended;
    fresh->blank_from = p->blank_from;
    fresh->blank_rend = p->blank_rend;
    fresh->plain = p->plain;
    p = std::move(fresh);
  }

  // The row to write to: unshared first (copy-on-write), its generation bumped.
  row& writable(int r) {
    auto& p = rows_[static_cast<std::size_t>(r)];
    if (p.use_count() > 1) {
      unshare(p);
      work_ += p->cells.size();
    }
    p->generation = ++generation_counter_;
    return *p;
  }

  // Keeps a row that is leaving the screen as a spare if nobody else holds it.
  void retire(row_ptr& p) {
    if (p.use_count() == 1 && spare_.rows.size() < max_spare_rows &&
        p->cells.size() == static_cast<std::size_t>(ds_.width))
      spare_.rows.push_back(std::move(p));
  }

  // The spares belong to this framebuffer alone: a copy starts without any (a shared
  // spare could be handed out twice).
  struct spare_rows {
    std::vector<row_ptr> rows;
    spare_rows() = default;
    spare_rows(const spare_rows&) {}
    spare_rows(spare_rows&&) noexcept = default;
    spare_rows& operator=(const spare_rows&) {
      rows.clear();  // they may not fit the new size
      return *this;
    }
    spare_rows& operator=(spare_rows&&) noexcept = default;
    ~spare_rows() = default;
  };
  static constexpr std::size_t max_spare_rows = 8;

  draw_state ds_;
  std::vector<std::shared_ptr<row>> rows_;
  std::uint64_t generation_counter_ = 0;
  std::shared_ptr<row> blank_cache_;  ///< see blank_row
  std::u32string title_;
  std::u32string icon_name_;
  bool title_initialized_ = false;
  std::string clipboard_;
  unsigned bell_count_ = 0;
  std::uint64_t work_ = 0;  ///< see work()
  spare_rows spare_;
};

}  // namespace mosh2::terminal

// Interpretation of parser actions on the framebuffer (protocol §9.3), with the
// printable-ASCII fast path that keeps the server's CPU cost low.

#include "mosh2/terminal/emulator.hpp"

#include <algorithm>
#include <array>

#include "mosh2/terminal/char_width.hpp"

namespace mosh2::terminal {

namespace {

// DEC special graphics for GL 0x5F-0x7E (VT100 "line drawing" set), as Unicode.
constexpr std::array<char32_t, 32> dec_graphics = {
    0x00A0, 0x25C6, 0x2592, 0x2409, 0x240C, 0x240D, 0x240A, 0x00B0,  // _ ` a b c d e f
    0x00B1, 0x2424, 0x240B, 0x2518, 0x2510, 0x250C, 0x2514, 0x253C,  // g h i j k l m n
    0x23BA, 0x23BB, 0x2500, 0x23BC, 0x23BD, 0x251C, 0x2524, 0x2534,  // o p q r s t u v
    0x252C, 0x2502, 0x2264, 0x2265, 0x03C0, 0x2260, 0x00A3, 0x00B7,  // w x y z { | } ~
};


}  // namespace

emulator::emulator(int width, int height, emulator_options options)
    : fb_(clamp_screen_size(width, height).width, clamp_screen_size(width, height).height),
      program_output_(options.program_output) {
  set_history_limit(options.history_lines);
}

void emulator::set_history_limit(std::size_t lines) {
  if (lines == 0) history_.reset();
  else if (history_) history_->set_limit(lines);
  else history_ = std::make_shared<terminal::history>(lines);
}

std::string emulator::take_replies() {
  std::string r;
  r.swap(replies_);
  return r;
}

void emulator::write(std::string_view bytes) {
  const char* p = bytes.data();
  const char* const end = p + bytes.size();
  while (p < end) {
    if (work_limit_reached()) return;
    if (parser_.in_ground() && utf8_.idle()) {
      const char* q = p;
      while (q < end && static_cast<unsigned char>(*q) >= 0x20 && static_cast<unsigned char>(*q) < 0x7F)
        ++q;
      if (q != p) {
        print_ascii(p, q);
        p = q;
        continue;
      }
      // A whole well-formed character from U+00A0 up is a print in the ground state
      // (§9.1): straight to print(), as the decoder and the parser would send it.
      char32_t cp = 0;
      const int n = decode_utf8_sequence(reinterpret_cast<const unsigned char*>(p),
                                         reinterpret_cast<const unsigned char*>(end), cp);
      if (n > 0 && cp >= 0xA0) {
        print(cp);
        p += n;
        continue;
      }
    }
    utf8_.feed(static_cast<std::uint8_t>(*p++), [this](char32_t cp) { handle(cp); });
  }
}

void emulator::handle(char32_t cp) {
  switch (parser_.feed(cp)) {
    case parser::action::none:
      return;
    case parser::action::print:
      print(parser_.ch());
      return;
    case parser::action::execute:
      execute(parser_.ch());
      break;
    case parser::action::esc_dispatch:
      esc_dispatch();
      break;
    case parser::action::csi_dispatch:
      csi_dispatch();
      // REP repeats the character printed just before it, so only REP keeps it.
      if (parser_.ch() == 'b' && parser_.intermediates().empty()) return;
      break;
    case parser::action::osc_dispatch:
      osc_dispatch();
      parser_.clear_osc();
      break;
  }
  last_graphic_ = 0;
}

// ---------------------------------------------------------------------------------
// Printing

void emulator::print_ascii(const char* p, const char* end) {
  if (graphics_active()) {
    while (p < end) print(static_cast<unsigned char>(*p++));
    return;
  }
  auto& ds = fb_.ds();
  const renditions rend = ds.rend;
  last_graphic_ = static_cast<unsigned char>(end[-1]);
  while (p < end) {
    if (ds.next_print_wraps) {
      if (ds.auto_wrap) {
        fb_.mutable_row_before(ds.cursor_row, 0).wrap = true;
        ds.cursor_col = 0;
        line_feed();
      } else {
        // Without autowrap every character lands on the last column: only the last
        // one of the run survives.
        row& r = fb_.mutable_row(ds.cursor_row);
        if (rend.extended()) r.extended = true;
        r.cells[static_cast<std::size_t>(ds.cursor_col)].set_ascii(end[-1], rend);
        combine_row_ = ds.cursor_row;
        combine_col_ = ds.cursor_col;
        return;
      }
    }
    const int col = ds.cursor_col;
    const int n = static_cast<int>(std::min<std::ptrdiff_t>(end - p, ds.width - col));
    row& r = ds.insert_mode ? fb_.mutable_row(ds.cursor_row) : fb_.mutable_row_ascii(ds.cursor_row, col, n, rend);
    fb_.add_work(static_cast<std::uint64_t>(n));
    // Inserting one blank before each character of the run is the same as inserting
    // the run's length once: the run never leaves this row.
    if (ds.insert_mode) insert_cells(r, col, n);
    cell* c = r.cells.data() + col;
    // Over the right half of a wide character: the left half goes too (xterm, tmux).
    if (program_output_ && col > 0 && c[-1].wide()) c[-1].reset(fb_.background());
    if (rend.extended()) r.extended = true;
    // The first cell is the pattern of the rest: copies from the row, not from a local,
    // which gcc 12 would rebuild on the stack for every cell (a store-forwarding stall).
    c[0].set_ascii(p[0], rend);
    for (int i = 1; i < n; ++i) c[i].set_ascii_like(c[0], p[i]);
    p += n;
    combine_row_ = ds.cursor_row;
    combine_col_ = col + n - 1;
    if (col + n >= ds.width) {
      ds.cursor_col = ds.width - 1;
      ds.next_print_wraps = true;
    } else {
      ds.cursor_col = col + n;
    }
  }
}

void emulator::print(char32_t cp) {
  if (cp >= 0x5F && cp <= 0x7E && graphics_active()) cp = dec_graphics[cp - 0x5F];
  const int w = char_width(cp);
  if (w < 0) return;
  if (w == 0) {
    combine(cp);
    return;
  }
  last_graphic_ = cp;
  auto& ds = fb_.ds();
  if (ds.auto_wrap && ds.next_print_wraps) {
    fb_.mutable_row_before(ds.cursor_row, 0).wrap = true;
    ds.cursor_col = 0;
    line_feed();
  } else if (w == 2 && ds.cursor_col == ds.width - 1) {
    // A wide character never straddles rows: the last column stays blank. Mosh 1.4
    // does this even with autowrap off (stock recording corpus/stock-1.4/autowrap-off).
    row& r = fb_.mutable_row(ds.cursor_row);
    r.cells[static_cast<std::size_t>(ds.cursor_col)].reset(fb_.background());
    r.wrap = false;
    ds.cursor_col = 0;
    line_feed();
  }
  const int col = ds.cursor_col;
  row& r = fb_.mutable_row(ds.cursor_row);
  fb_.add_work(static_cast<std::uint64_t>(w));
  if (ds.insert_mode) insert_cells(r, col, w);
  if (program_output_ && col > 0 && r.cells[static_cast<std::size_t>(col) - 1].wide())
    r.cells[static_cast<std::size_t>(col) - 1].reset(fb_.background());
  if (ds.rend.extended()) r.extended = true;
  char buf[4];
  r.cells[static_cast<std::size_t>(col)].set_char({buf, encode_utf8(cp, buf)}, ds.rend, w == 2);
  if (w == 2 && col + 1 < ds.width) r.cells[static_cast<std::size_t>(col) + 1].reset(fb_.background());
  combine_row_ = ds.cursor_row;
  combine_col_ = col;
  advance(w);
}

void emulator::combine(char32_t cp) {
  auto& ds = fb_.ds();
  int r = combine_row_, c = combine_col_;
  if (r < 0) {  // no character printed since the cursor last moved: use the cursor cell
    r = ds.cursor_row;
    c = ds.cursor_col;
  }
  char buf[4];
  const std::string_view bytes{buf, encode_utf8(cp, buf)};
  fb_.add_work(1);
  if (fb_.cell_at(r, c).blank()) {
    // A mark with no base is drawn after U+00A0 by the display (the fallback flag).
    cell& target = fb_.mutable_cell(r, c);
    target.set_fallback(true);
    target.append_text(bytes);
    combine_row_ = r;
    combine_col_ = c;
    advance(1);
  } else if (fb_.cell_at(r, c).text().size() + bytes.size() <= cell::max_bytes) {
    fb_.mutable_cell(r, c).append_text(bytes);
  }
}

void emulator::advance(int n) {
  auto& ds = fb_.ds();
  if (ds.cursor_col + n >= ds.width) {
    ds.cursor_col = ds.width - 1;
    ds.next_print_wraps = true;
  } else {
    ds.cursor_col += n;
    ds.next_print_wraps = false;
  }
}

// ---------------------------------------------------------------------------------
// Cursor motion and editing

void emulator::move_to(int row, int col) {
  auto& ds = fb_.ds();
  ds.cursor_row = std::clamp(row, 0, ds.height - 1);
  ds.cursor_col = std::clamp(col, 0, ds.width - 1);
  ds.next_print_wraps = false;
  combine_row_ = -1;
}

int emulator::home_row() const { return fb_.ds().origin_mode ? fb_.ds().scroll_top : 0; }

void emulator::line_feed() {
  auto& ds = fb_.ds();
  if (ds.cursor_row == ds.scroll_bottom) {
    // Only a line that leaves the whole screen is history: not one of the alternate
    // screen, nor one leaving a region below the top.
    if (history_ && ds.scroll_top == 0 && !alt_active_) history_->push(fb_.row_at(0));
    fb_.scroll(ds.scroll_top, ds.scroll_bottom, 1, fb_.background());
  }
  else if (ds.cursor_row < ds.height - 1)
    ++ds.cursor_row;
  ds.next_print_wraps = false;
  combine_row_ = -1;
}

void emulator::reverse_index() {
  auto& ds = fb_.ds();
  if (ds.cursor_row == ds.scroll_top)
    fb_.scroll(ds.scroll_top, ds.scroll_bottom, -1, fb_.background());
  else if (ds.cursor_row > 0)
    --ds.cursor_row;
  ds.next_print_wraps = false;
  combine_row_ = -1;
}

void emulator::erase_cells(int row_index, int from, int to) {
  const int width = fb_.width();
  from = std::clamp(from, 0, width);
  to = std::clamp(to, 0, width);
  if (from >= to) return;
  const renditions bg = fb_.background();
  if (from == 0 && to == width) {
    fb_.clear_row(row_index, bg);
    return;
  }
  row& r = fb_.mutable_row(row_index);
  fb_.add_work(static_cast<std::uint64_t>(to - from));
  for (int c = from; c < to; ++c) r.cells[static_cast<std::size_t>(c)].reset(bg);
  // The wrap flag lives on the last cell (§9.2): erasing that cell clears it.
  if (to == width) r.wrap = false;
}

void emulator::erase_rows(int from, int to) {
  for (int r = std::max(from, 0); r < std::min(to, fb_.height()); ++r) erase_cells(r, 0, fb_.width());
}

void emulator::insert_cells(row& r, int col, int n) {
  const int width = static_cast<int>(r.cells.size());
  n = std::min(n, width - col);
  if (n <= 0) return;
  fb_.add_work(static_cast<std::uint64_t>(width - col));
  auto first = r.cells.begin() + col;
  std::move_backward(first, r.cells.end() - n, r.cells.end());
  std::fill(first, first + n, cell(fb_.background()));
  r.wrap = false;
}

void emulator::delete_cells(int n) {
  auto& ds = fb_.ds();
  n = std::min(n, ds.width - ds.cursor_col);
  row& r = fb_.mutable_row(ds.cursor_row);
  fb_.add_work(static_cast<std::uint64_t>(ds.width - ds.cursor_col));
  auto first = r.cells.begin() + ds.cursor_col;
  std::move(first + n, r.cells.end(), first);
  std::fill(r.cells.end() - n, r.cells.end(), cell(fb_.background()));
  r.wrap = false;
}

void emulator::insert_lines(int n) {
  auto& ds = fb_.ds();
  if (ds.cursor_row >= ds.scroll_top && ds.cursor_row <= ds.scroll_bottom)
    fb_.scroll(ds.cursor_row, ds.scroll_bottom, -std::min(n, ds.height), fb_.background());
  move_to(ds.cursor_row, 0);
}

void emulator::delete_lines(int n) {
  auto& ds = fb_.ds();
  if (ds.cursor_row >= ds.scroll_top && ds.cursor_row <= ds.scroll_bottom)
    fb_.scroll(ds.cursor_row, ds.scroll_bottom, std::min(n, ds.height), fb_.background());
  move_to(ds.cursor_row, 0);
}

void emulator::tab_forward(int n) {
  auto& ds = fb_.ds();
  int col = ds.cursor_col;
  for (int i = 0; i < n && col < ds.width - 1; ++i) {
    ++col;
    while (col < ds.width - 1 && !ds.tabs[static_cast<std::size_t>(col)]) ++col;
  }
  fb_.add_work(static_cast<std::uint64_t>(col - ds.cursor_col));
  ds.cursor_col = col;
  combine_row_ = -1;
}

void emulator::tab_backward(int n) {
  auto& ds = fb_.ds();
  int col = ds.cursor_col;
  for (int i = 0; i < n && col > 0; ++i) {
    --col;
    while (col > 0 && !ds.tabs[static_cast<std::size_t>(col)]) --col;
  }
  fb_.add_work(static_cast<std::uint64_t>(ds.cursor_col - col));
  ds.cursor_col = col;
  combine_row_ = -1;
}

void emulator::save_cursor() {
  auto& ds = fb_.ds();
  ds.saved.row = ds.cursor_row;
  ds.saved.col = ds.cursor_col;
  ds.saved.rend = ds.rend;
  ds.saved.auto_wrap = ds.auto_wrap;
  ds.saved.origin_mode = ds.origin_mode;
  saved_charsets_ = {g0_graphics_, g1_graphics_, shift_out_};
}

void emulator::restore_cursor() {
  auto& ds = fb_.ds();
  ds.rend = ds.saved.rend;
  ds.auto_wrap = ds.saved.auto_wrap;
  ds.origin_mode = ds.saved.origin_mode;
  g0_graphics_ = saved_charsets_.g0;
  g1_graphics_ = saved_charsets_.g1;
  shift_out_ = saved_charsets_.shift_out;
  move_to(ds.saved.row, ds.saved.col);  // snapped into the screen
}

void emulator::full_reset() {
  fb_.reset(fb_.width(), fb_.height());
  parser_.reset();
  g0_graphics_ = g1_graphics_ = shift_out_ = false;
  saved_charsets_ = {};
  alt_active_ = false;
  hidden_rows_.clear();
  combine_row_ = -1;
  last_graphic_ = 0;
}

void emulator::soft_reset() {
  auto& ds = fb_.ds();
  ds.insert_mode = false;
  ds.origin_mode = false;
  ds.cursor_visible = true;
  ds.application_cursor_keys = false;
  ds.scroll_top = 0;
  ds.scroll_bottom = ds.height - 1;
  ds.rend = renditions{};
  ds.saved = draw_state::saved_cursor{};
  g0_graphics_ = g1_graphics_ = shift_out_ = false;
  saved_charsets_ = {};
}

void emulator::switch_screen(bool alternate, bool clear_alternate) {
  if (alternate == alt_active_) {
    if (alternate && clear_alternate) erase_rows(0, fb_.height());
    return;
  }
  if (alternate) {
    if (hidden_rows_.size() != static_cast<std::size_t>(fb_.height()) || clear_alternate)
      hidden_rows_ = fb_.blank_rows(fb_.background());
    fb_.exchange_rows(hidden_rows_);
  } else {
    fb_.exchange_rows(hidden_rows_);
  }
  alt_active_ = alternate;
  combine_row_ = -1;
}

void emulator::resize(int width, int height) {
  if (width < 1 || height < 1 || work_limit_reached()) return;
  const screen_size size = clamp_screen_size(width, height);
  width = size.width;
  height = size.height;
  if (width == fb_.width() && height == fb_.height()) return;
  if (!hidden_rows_.empty()) {
    // The hidden screen follows the same rules as the shown one (§9.3), and like it
    // drops the rows that leave before copying the rest.
    const renditions bg = fb_.background();
    const cell pad(bg);
    const auto new_width = static_cast<std::size_t>(width);
    if (hidden_rows_.size() > static_cast<std::size_t>(height))
      hidden_rows_.resize(static_cast<std::size_t>(height));
    for (auto& p : hidden_rows_) {
      auto copy = std::make_shared<row>();
      copy->extended = p->extended;
      const auto kept = std::min(new_width, p->cells.size());
      copy->cells.reserve(new_width);
      copy->cells.assign(p->cells.begin(), p->cells.begin() + static_cast<std::ptrdiff_t>(kept));
      copy->cells.resize(new_width, pad);
      p = std::move(copy);
      fb_.add_work(new_width);
    }
    if (hidden_rows_.size() < static_cast<std::size_t>(height)) {
      const auto blank = std::make_shared<row>(width, bg);  // shared: copied on first write
      fb_.add_work(new_width + static_cast<std::size_t>(height));
      hidden_rows_.resize(static_cast<std::size_t>(height), blank);
    }
  }
  if (program_output_ && !alt_active_ && width != fb_.width()) reflow(width, height);
  else fb_.resize(width, height);
  combine_row_ = -1;
}

// Re-wraps the main screen at a new width: rows joined by their wrap flags form
// logical lines, which are cut again at the new width (a wide character that would
// straddle the edge moves to the next row), the cursor stays on the same character,
// and rows that no longer fit above it scroll into the history. The history's newest
// lines that no consumer was handed yet (history::withdrawable_from), as many as can
// come back onto the screen, are taken back first and re-wrapped with it as rows above
// it: a line that wrapped off the top comes back whole when the screen widens. Lines
// already handed out stay as they are (the local terminal holds them and re-wraps its
// own scrollback), and so do deeper ones: a consumer prints wrapped rows without a line
// break, so their width is never seen.
void emulator::reflow(int width, int height) {
  const int old_w = fb_.width(), old_h = fb_.height();
  const auto& ds = fb_.ds();
  const auto blank_default = [](const cell& c) {
    return c.blank() && !c.wide() && !c.fallback() && c.rend() == renditions{};
  };
  // The history's unsent tail as rows above the screen: enough to refill the screen
  // (lines are taken back until those complete below make `height` rows at the new
  // width, at least max(1, sum of cells / width) rows a logical line), so a taken
  // line always starts a logical line, and within reflow_history_cells (a longer line
  // comes back only in part: its older rows stay wrapped as they are).
  std::vector<row> taken;
  if (history_) {
    const auto w = static_cast<std::size_t>(width);
    std::size_t cells = 0, rows = 0, line_rows = 0;
    bool line_open = false;  // pieces taken after the last line end seen
    for (std::uint64_t n = history_->end(); n > history_->withdrawable_from(); --n) {
      history_line l = history_->line(n - 1);
      if (!l.wrap) {
        // `l` ends a logical line: the pieces taken after it make a whole one.
        if (line_open) rows += std::max<std::size_t>(1, line_rows);
        line_rows = 0;
        if (rows >= static_cast<std::size_t>(height)) break;
      }
      if (cells + l.cells.size() > reflow_history_cells) break;
      cells += l.cells.size();
      line_rows += l.cells.size() / w;
      line_open = true;
      row& r = taken.emplace_back();
      r.cells = std::move(l.cells);
      r.wrap = l.wrap;
    }
    std::reverse(taken.begin(), taken.end());
    history_->drop_newest(taken.size());
    fb_.add_work(taken.size() + cells);
  }
  const int top = static_cast<int>(taken.size());
  const auto src = [&](int k) -> const row& {
    return k < top ? taken[static_cast<std::size_t>(k)] : fb_.row_at(k - top);
  };
  const int cur_r = ds.cursor_row + top, cur_c = ds.cursor_col;
  // The last row worth keeping: the cursor's, or one below it with something on it.
  int last = cur_r;
  for (int r = old_h - 1 + top; r > cur_r; --r) {
    const row& rw = src(r);
    if (rw.wrap || !std::all_of(rw.cells.begin(), rw.cells.end(), blank_default)) {
      last = r;
      break;
    }
  }
  std::vector<framebuffer::row_ptr> out;
  int new_cr = 0, new_cc = 0;
  std::vector<cell> line;
  const cell pad{};
  for (int r = 0; r <= last;) {
    // One logical line: rows r..e, joined while the wrap flag is set.
    int e = r;
    while (e < last && src(e).wrap) ++e;
    line.clear();
    std::size_t cursor_at = 0;
    for (int k = r; k <= e; ++k) {
      const auto& cells = src(k).cells;
      if (k == cur_r) cursor_at = line.size() + static_cast<std::size_t>(cur_c);
      // The blank that a wide character left at the edge of a wrapped row (when it
      // moved to the next one) is not part of the text. (A history row has lost its
      // trailing blanks already.)
      const bool pad = k < e && !cells.empty() && blank_default(cells.back()) && !src(k + 1).cells.empty() &&
                       src(k + 1).cells.front().wide() && !(cur_r == k && cur_c == old_w - 1);
      line.insert(line.end(), cells.begin(), pad ? cells.end() - 1 : cells.end());
    }
    const bool end_wrap = src(e).wrap;
    std::size_t len = line.size();
    while (len > 0 && blank_default(line[len - 1])) --len;
    const bool has_cursor = cur_r >= r && cur_r <= e;
    if (has_cursor) len = std::max(len, cursor_at + 1);  // the cursor's cell is kept
    len = std::min(len, line.size());
    fb_.add_work(line.size());
    // Cut into rows of the new width.
    std::size_t i = 0;
    bool first_row = true;
    while (first_row || i < len) {
      first_row = false;
      auto nr = std::make_shared<row>(width, renditions{});
      nr->extended = false;
      int c = 0;
      while (i < len && c < width) {
        const cell& x = line[i];
        if (x.wide() && c == width - 1 && width > 1) break;  // never straddles the edge
        if (has_cursor && i == cursor_at) {
          new_cr = static_cast<int>(out.size());
          new_cc = c;
        }
        if (x.rend().extended()) nr->extended = true;
        nr->cells[static_cast<std::size_t>(c)] = x;
        ++c;
        ++i;
        if (x.wide() && c < width) {
          // The right half travels with it.
          if (i < line.size()) nr->cells[static_cast<std::size_t>(c)] = line[i];
          else nr->cells[static_cast<std::size_t>(c)] = pad;
          ++c;
          ++i;
        }
      }
      nr->wrap = i < len || end_wrap;
      out.push_back(std::move(nr));
    }
    out.back()->wrap = end_wrap;
    r = e + 1;
  }
  // Rows that do not fit: off the top into the history (while the cursor stays on
  // screen), then off the bottom.
  std::size_t drop_top = 0;
  if (out.size() > static_cast<std::size_t>(height))
    drop_top = std::min(out.size() - static_cast<std::size_t>(height), static_cast<std::size_t>(new_cr));
  for (std::size_t k = 0; k < drop_top; ++k)
    if (history_) history_->push(*out[k]);
  out.erase(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(drop_top));
  new_cr -= static_cast<int>(drop_top);
  if (out.size() > static_cast<std::size_t>(height)) out.resize(static_cast<std::size_t>(height));
  while (out.size() < static_cast<std::size_t>(height)) out.push_back(std::make_shared<row>(width, renditions{}));
  fb_.add_work(static_cast<std::uint64_t>(width) * static_cast<std::uint64_t>(height));
  fb_.resize_to(width, height, std::move(out), std::clamp(new_cr, 0, height - 1),
                std::clamp(new_cc, 0, width - 1));
}

// ---------------------------------------------------------------------------------
// Controls and sequences

void emulator::execute(char32_t c) {
  auto& ds = fb_.ds();
  bool keeps_wrap = false;
  switch (c) {
    case 0x07:
      fb_.ring_bell();
      break;
    case 0x08:
      move_to(ds.cursor_row, ds.cursor_col - 1);
      break;
    case 0x09:
      tab_forward(1);
      keeps_wrap = true;
      break;
    case 0x0A:
    case 0x0B:
    case 0x0C:
    case 0x84:  // IND
      line_feed();
      break;
    case 0x0D:
      move_to(ds.cursor_row, 0);
      break;
    case 0x0E:  // SO: G1 into GL
      shift_out_ = true;
      break;
    case 0x0F:  // SI: G0 into GL
      shift_out_ = false;
      break;
    case 0x85:  // NEL
      move_to(ds.cursor_row, 0);
      line_feed();
      break;
    case 0x88:  // HTS
      ds.tabs[static_cast<std::size_t>(ds.cursor_col)] = true;
      break;
    case 0x8D:  // RI
      reverse_index();
      break;
    default:
      break;
  }
  if (!keeps_wrap) ds.next_print_wraps = false;
}

void emulator::esc_dispatch() {
  const std::string_view im = parser_.intermediates();
  const char32_t f = parser_.ch();
  if (im.empty()) {
    if (f == '7') save_cursor();
    else if (f == '8') restore_cursor();
    else if (f == 'c') full_reset();
  } else if (im == "#" && f == '8') {
    // DECALN: the screen alignment pattern. Unlike DEC terminals, Mosh 1.4 leaves the
    // cursor and the margins alone (stock recording corpus/stock-1.4/decaln).
    // One row of E's shared by every row: the fill costs a row, not a screen.
    row pattern(fb_.width(), renditions{});
    for (auto& c : pattern.cells) c.set_ascii('E', renditions{});
    fb_.fill_rows(pattern);
  } else if (im == "(") {
    g0_graphics_ = f == '0';
  } else if (im == ")") {
    g1_graphics_ = f == '0';
  }
  fb_.ds().next_print_wraps = false;
}

// One row of the CSI table: the final byte, the intermediates (private markers
// included) and the handler of that function's family. A handler returns true when the
// function keeps the deferred-wrap flag (SGR, tabs, DECSET, REP), as xterm does.
struct emulator::csi_function {
  char32_t final_byte;
  std::string_view intermediates;
  bool (emulator::*handler)(char32_t final_byte);
};

// Most frequent first: the table is searched in order.
const emulator::csi_function emulator::csi_table[] = {
    {'m', "", &emulator::csi_sgr},
    {'H', "", &emulator::csi_cursor},     {'f', "", &emulator::csi_cursor},
    {'K', "", &emulator::csi_erase},      {'J', "", &emulator::csi_erase},
    {'X', "", &emulator::csi_erase},
    {'A', "", &emulator::csi_cursor},     {'B', "", &emulator::csi_cursor},
    {'C', "", &emulator::csi_cursor},     {'D', "", &emulator::csi_cursor},
    {'E', "", &emulator::csi_cursor},     {'F', "", &emulator::csi_cursor},  // CNL, CPL (beyond 1.4)
    {'G', "", &emulator::csi_cursor},     {'`', "", &emulator::csi_cursor},
    {'d', "", &emulator::csi_cursor},
    {'@', "", &emulator::csi_edit},       {'P', "", &emulator::csi_edit},
    {'L', "", &emulator::csi_edit},       {'M', "", &emulator::csi_edit},
    {'S', "", &emulator::csi_scroll},     {'T', "", &emulator::csi_scroll},
    {'r', "", &emulator::csi_scroll},
    {'I', "", &emulator::csi_tabs},       {'Z', "", &emulator::csi_tabs},
    {'g', "", &emulator::csi_tabs},
    {'h', "", &emulator::csi_modes},      {'l', "", &emulator::csi_modes},
    {'h', "?", &emulator::csi_modes},     {'l', "?", &emulator::csi_modes},
    {'c', "", &emulator::csi_reports},    {'n', "", &emulator::csi_reports},
    {'c', ">", &emulator::csi_reports},
    {'b', "", &emulator::csi_repeat},     // REP (beyond 1.4)
    {'p', "!", &emulator::csi_soft_reset},
    {'s', "", &emulator::csi_save_restore}, {'u', "", &emulator::csi_save_restore},  // SCOSC, SCORC
};

void emulator::csi_dispatch() {
  const std::string_view im = parser_.intermediates();
  const char32_t f = parser_.ch();
  // Sub-parameters mean something only to SGR; elsewhere the sequence is ignored as a
  // whole, as Mosh 1.4 ignores any sequence with a colon.
  if (parser_.has_sub_params() && !(f == 'm' && im.empty())) return;
  bool keeps_wrap = false;
  for (const auto& row : csi_table) {
    if (row.final_byte == f && row.intermediates == im) {
      keeps_wrap = (this->*row.handler)(f);
      break;
    }
  }
  if (!keeps_wrap) fb_.ds().next_print_wraps = false;
}

bool emulator::csi_cursor(char32_t f) {
  auto& ds = fb_.ds();
  const parser& p = parser_;
  const int n = p.param(0, 1);
  // CUU, CUD, CNL and CPL stop at the margins when the cursor starts inside them.
  const int up_limit = ds.cursor_row >= ds.scroll_top ? ds.scroll_top : 0;
  const int down_limit = ds.cursor_row <= ds.scroll_bottom ? ds.scroll_bottom : ds.height - 1;
  switch (f) {
    case 'A': move_to(std::max(ds.cursor_row - n, up_limit), ds.cursor_col); break;
    case 'B': move_to(std::min(ds.cursor_row + n, down_limit), ds.cursor_col); break;
    case 'C': move_to(ds.cursor_row, ds.cursor_col + n); break;
    case 'D': move_to(ds.cursor_row, ds.cursor_col - n); break;
    case 'E': move_to(std::min(ds.cursor_row + n, down_limit), 0); break;
    case 'F': move_to(std::max(ds.cursor_row - n, up_limit), 0); break;
    case 'G':
    case '`': move_to(ds.cursor_row, n - 1); break;
    case 'H':
    case 'f': {
      const int row = p.param(0, 1) - 1, col = p.param(1, 1) - 1;
      if (ds.origin_mode) move_to(std::min(ds.scroll_top + row, ds.scroll_bottom), col);
      else move_to(row, col);
      break;
    }
    case 'd':
      if (ds.origin_mode) move_to(std::min(ds.scroll_top + n - 1, ds.scroll_bottom), ds.cursor_col);
      else move_to(n - 1, ds.cursor_col);
      break;
    default: break;
  }
  return false;
}

bool emulator::csi_erase(char32_t f) {
  auto& ds = fb_.ds();
  const int what = parser_.param(0, 0);
  if (f == 'J') {
    if (what == 0) {
      erase_cells(ds.cursor_row, ds.cursor_col, ds.width);
      erase_rows(ds.cursor_row + 1, ds.height);
    } else if (what == 1) {
      erase_rows(0, ds.cursor_row);
      erase_cells(ds.cursor_row, 0, ds.cursor_col + 1);
    } else if (what == 2) {
      erase_rows(0, ds.height);
    }
  } else if (f == 'K') {
    if (what == 0) erase_cells(ds.cursor_row, ds.cursor_col, ds.width);
    else if (what == 1) erase_cells(ds.cursor_row, 0, ds.cursor_col + 1);
    else if (what == 2) erase_cells(ds.cursor_row, 0, ds.width);
  } else {  // ECH
    erase_cells(ds.cursor_row, ds.cursor_col, ds.cursor_col + std::min(parser_.param(0, 1), ds.width));
  }
  return false;
}

bool emulator::csi_edit(char32_t f) {
  auto& ds = fb_.ds();
  const int n = parser_.param(0, 1);
  switch (f) {
    case '@': insert_cells(fb_.mutable_row(ds.cursor_row), ds.cursor_col, n); break;
    case 'P': delete_cells(n); break;
    case 'L': insert_lines(n); break;
    case 'M': delete_lines(n); break;
    default: break;
  }
  return false;
}

bool emulator::csi_scroll(char32_t f) {
  auto& ds = fb_.ds();
  const parser& p = parser_;
  if (f == 'r') {  // DECSTBM
    const int top = p.param(0, 1) - 1;
    const int bottom = std::min(p.param(1, ds.height), ds.height) - 1;
    if (top < bottom) {
      ds.scroll_top = top;
      ds.scroll_bottom = bottom;
      move_to(home_row(), 0);
    }
    return false;
  }
  const int n = std::min(p.param(0, 1), ds.height);
  fb_.scroll(ds.scroll_top, ds.scroll_bottom, f == 'S' ? n : -n, fb_.background());
  combine_row_ = -1;
  return false;
}

bool emulator::csi_tabs(char32_t f) {
  auto& ds = fb_.ds();
  if (f == 'I') {
    tab_forward(parser_.param(0, 1));
  } else if (f == 'Z') {
    tab_backward(parser_.param(0, 1));
  } else {  // TBC
    const int what = parser_.param(0, 0);
    if (what == 0) {
      ds.tabs[static_cast<std::size_t>(ds.cursor_col)] = false;
    } else if (what == 3) {
      std::fill(ds.tabs.begin(), ds.tabs.end(), false);
      fb_.add_work(ds.tabs.size());
    }
  }
  return true;
}

bool emulator::csi_sgr(char32_t) {
  sgr();
  return true;
}

bool emulator::csi_modes(char32_t f) {
  const parser& p = parser_;
  const bool dec = !p.intermediates().empty();
  for (std::size_t i = 0; i < p.param_count(); ++i) {
    if (dec) set_dec_mode(p.param(i, 0), f == 'h');
    else set_mode(p.param(i, 0), f == 'h');
  }
  return dec;  // DECSET keeps the deferred wrap, SM/RM do not
}

bool emulator::csi_reports(char32_t f) {
  const parser& p = parser_;
  const auto& ds = fb_.ds();
  if (!p.intermediates().empty()) {  // secondary DA
    if (p.param(0, 0) == 0) replies_ += "\033[>1;10;0c";
  } else if (f == 'c') {
    if (p.param(0, 0) == 0) replies_ += "\033[?62c";
  } else if (p.param(0, 0) == 5) {
    replies_ += "\033[0n";
  } else if (p.param(0, 0) == 6) {
    replies_ += "\033[" + std::to_string(ds.cursor_row + 1) + ";" +
                std::to_string(ds.cursor_col + 1) + "R";
  }
  return false;
}

bool emulator::csi_repeat(char32_t) {
  if (last_graphic_ == 0) return false;
  repeat_last(parser_.param(0, 1));
  return true;  // a print, not a function: the deferred-wrap flag stays as printed
}

// Only without parameters: with them, `CSI s` is DECSLRM (left and right margins, not
// implemented) and `CSI u` belongs to other protocols.
bool emulator::csi_save_restore(char32_t f) {
  if (parser_.param_count() > 0) return false;
  if (f == 's') save_cursor();
  else restore_cursor();
  return false;
}

bool emulator::csi_soft_reset(char32_t) {
  soft_reset();
  return false;
}

void emulator::set_mode(int mode, bool on) {
  if (mode == 4) fb_.ds().insert_mode = on;
}

void emulator::set_dec_mode(int mode, bool on) {
  auto& ds = fb_.ds();
  switch (mode) {
    case 1:
      ds.application_cursor_keys = on;
      break;
    case 3:  // DECCOLM: no column change, but the screen is cleared and homed
      erase_rows(0, ds.height);
      move_to(0, 0);
      break;
    case 5:
      ds.reverse_video = on;
      break;
    case 6:
      // Mosh 1.4 homes before switching, so the home follows the old mode (stock
      // recording corpus/stock-1.4/origin-mode-homes).
      move_to(home_row(), 0);
      ds.origin_mode = on;
      break;
    case 7:
      ds.auto_wrap = on;
      break;
    case 25:
      ds.cursor_visible = on;
      break;
    case 9:
    case 1000:
    case 1001:
    case 1002:
    case 1003:
      ds.mouse = on ? static_cast<mouse_reporting>(mode) : mouse_reporting::none;
      break;
    case 1004:
      ds.mouse_focus_events = on;
      break;
    case 1005:
    case 1006:
    case 1015:
      ds.mouse_enc = on ? static_cast<mouse_encoding>(mode) : mouse_encoding::none;
      break;
    case 1007:
      ds.mouse_alternate_scroll = on;
      break;
    case 2004:
      ds.bracketed_paste = on;
      break;
    // The alternate screen (beyond 1.4), with xterm's semantics.
    case 47:
      switch_screen(on, false);
      break;
    case 1047:
      if (!on && alt_active_) erase_rows(0, ds.height);
      switch_screen(on, false);
      break;
    case 1048:
      if (on) save_cursor();
      else restore_cursor();
      break;
    case 1049:
      if (on) {
        save_cursor();
        switch_screen(true, true);
      } else {
        switch_screen(false, false);
        restore_cursor();
      }
      break;
    default:
      break;
  }
}

namespace {

// A colour from the parameters after 38, 48 or 58 (`kind` at `i`): `5;n` / `2;r;g;b`
// with semicolons, or in the colon form `5:n`, `2:r:g:b` and `2::r:g:b` (an empty
// colour-space identifier), where `subs` is how many sub-parameters follow the 38.
// Returns the parameters it used; leaves `target` alone if the colour is out of range.
std::size_t parse_color(const parser& p, std::size_t i, std::size_t subs, color& target) {
  const int kind = p.param(i + 1, 0);
  if (subs > 0) {
    if (kind == 5 && subs >= 2) {
      const int idx = p.param(i + 2, 0);
      if (idx <= 255) target = color::indexed(static_cast<std::uint8_t>(idx));
    } else if (kind == 2 && subs >= 4) {
      const std::size_t at = subs >= 5 ? i + 3 : i + 2;  // past the colour space
      const int r = p.param(at, 0), g = p.param(at + 1, 0), b = p.param(at + 2, 0);
      if (r <= 255 && g <= 255 && b <= 255)
        target = color::rgb(static_cast<std::uint8_t>(r), static_cast<std::uint8_t>(g),
                            static_cast<std::uint8_t>(b));
    }
    return subs;
  }
  if (kind == 5 && i + 2 < p.param_count()) {
    const int idx = p.param(i + 2, 0);
    if (idx <= 255) target = color::indexed(static_cast<std::uint8_t>(idx));
    return 2;
  }
  if (kind == 2 && i + 4 < p.param_count()) {
    const int r = p.param(i + 2, 0), g = p.param(i + 3, 0), b = p.param(i + 4, 0);
    if (r <= 255 && g <= 255 && b <= 255)
      target = color::rgb(static_cast<std::uint8_t>(r), static_cast<std::uint8_t>(g),
                          static_cast<std::uint8_t>(b));
    return 4;
  }
  return 0;
}

}  // namespace

void emulator::sgr() {
  const parser& p = parser_;
  auto& rend = fb_.ds().rend;
  const std::size_t count = std::max<std::size_t>(p.param_count(), 1);
  for (std::size_t i = 0; i < count; ++i) {
    const int v = p.param(i, 0);
    std::size_t subs = 0;  // sub-parameters after this one (colon form)
    while (p.param_is_sub(i + 1 + subs)) ++subs;
    switch (v) {
      case 0: rend = renditions{}; break;
      case 1: rend.set(renditions::bold, true); break;
      case 3: rend.set(renditions::italic, true); break;
      case 4:
        if (subs == 0) {
          rend.set(renditions::underlined, true);
        } else {
          // 4:0 none, 4:1 single, 4:2 double, 4:3 curly, 4:4 dotted, 4:5 dashed.
          const int style = p.param(i + 1, 0);
          if (style == 0) rend.set(renditions::underlined, false);
          else if (style <= 5) rend.set_underline(static_cast<underline_style>(style - 1));
        }
        break;
      case 5: rend.set(renditions::blink, true); break;
      case 7: rend.set(renditions::inverse, true); break;
      case 8: rend.set(renditions::invisible, true); break;
      // ECMA-48's "doubly underlined", as xterm and tmux read it (not "bold off").
      case 21: rend.set_underline(underline_style::double_line); break;
      case 22: rend.set(renditions::bold, false); break;
      case 23: rend.set(renditions::italic, false); break;
      case 24: rend.set(renditions::underlined, false); break;
      case 25: rend.set(renditions::blink, false); break;
      case 27: rend.set(renditions::inverse, false); break;
      case 28: rend.set(renditions::invisible, false); break;
      case 39: rend.fg = color{}; break;
      case 49: rend.bg = color{}; break;
      case 59: rend.ul = color{}; break;
      case 38: i += parse_color(p, i, subs, rend.fg); subs = 0; break;
      case 48: i += parse_color(p, i, subs, rend.bg); subs = 0; break;
      case 58: i += parse_color(p, i, subs, rend.ul); subs = 0; break;
      default:
        if (v >= 30 && v <= 37) rend.fg = color::indexed(static_cast<std::uint8_t>(v - 30));
        else if (v >= 40 && v <= 47) rend.bg = color::indexed(static_cast<std::uint8_t>(v - 40));
        else if (v >= 90 && v <= 97) rend.fg = color::indexed(static_cast<std::uint8_t>(v - 90 + 8));
        else if (v >= 100 && v <= 107) rend.bg = color::indexed(static_cast<std::uint8_t>(v - 100 + 8));
        break;
    }
    i += subs;  // sub-parameters of anything else are skipped with it
  }
}

// REP with a count cut to what can still change the screen. Once the repeats have
// covered the rest of the cursor's row and then every row below it (scrolling the
// region full of the character), each further row's worth of repeats leaves the same
// screen, cursor and pending wrap as before: only the count modulo a row's worth
// matters beyond that point. So one REP costs at most a screen and two rows of prints,
// never 65,535 (test/terminal/robustness_test.cpp checks REP against plain prints).
void emulator::repeat_last(int n) {
  const char32_t g = last_graphic_;
  const auto& ds = fb_.ds();
  const int per_row = char_width(g) == 2 ? std::max(1, ds.width / 2) : ds.width;
  const std::int64_t saturated = std::int64_t{ds.height + 2} * per_row;
  std::int64_t times = n;
  if (times > saturated) times = saturated + (times - saturated) % per_row;
  for (std::int64_t i = 0; i < times && !work_limit_reached(); ++i) print(g);
}

bool is_base64(std::string_view s) {
  if (s.size() % 4 != 0) return false;
  auto in_alphabet = [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '+' || c == '/';
  };
  std::size_t padding = 0;
  while (padding < 2 && padding < s.size() && s[s.size() - 1 - padding] == '=') ++padding;
  for (std::size_t i = 0; i + padding < s.size(); ++i)
    if (!in_alphabet(s[i])) return false;
  return true;
}

void emulator::osc_dispatch() {
  const std::u32string& s = parser_.osc();
  constexpr std::size_t title_cap = 256;  // code points, counting the "N;" prefix
  auto starts = [&s](std::u32string_view prefix) {
    return s.size() >= prefix.size() && std::u32string_view(s).substr(0, prefix.size()) == prefix;
  };
  std::size_t skip = 0;
  bool icon = false, title = false;
  if (starts(U"0;") || starts(U"1;") || starts(U"2;")) {
    skip = 2;
    icon = s[0] != U'2';
    title = s[0] != U'1';
  } else if (starts(U";")) {
    skip = 1;
    icon = title = true;
  } else if (starts(U"52;c;")) {
    // Only a set request is kept: a query ("?") or anything else that is not base64
    // would reach the user's terminal through the client's display.
    std::string payload = to_utf8(std::u32string_view(s).substr(5));
    if (is_base64(payload)) fb_.set_clipboard(std::move(payload));
    return;
  } else {
    return;
  }
  const std::u32string_view cut = std::u32string_view(s).substr(0, std::min(s.size(), title_cap));
  std::u32string text(cut.substr(skip));
  if (icon) fb_.set_icon_name(text);
  if (title) fb_.set_title(std::move(text));
}

// ---------------------------------------------------------------------------------
// Input translation

std::string emulator::translate_input(std::string_view user_bytes) const {
  if (fb_.ds().application_cursor_keys) return std::string(user_bytes);
  std::string out;
  out.reserve(user_bytes.size());
  for (std::size_t i = 0; i < user_bytes.size(); ++i) {
    if (user_bytes[i] == '\033' && i + 2 < user_bytes.size() && user_bytes[i + 1] == 'O' &&
        user_bytes[i + 2] >= 'A' && user_bytes[i + 2] <= 'D') {
      out += '\033';
      out += '[';
      out += user_bytes[i + 2];
      i += 2;
    } else {
      out += user_bytes[i];
    }
  }
  return out;
}

}  // namespace mosh2::terminal

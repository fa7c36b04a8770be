// The frame diff (protocol §9.4). The writer replays every byte it emits through a
// private emulator (the "shadow") that starts out as the receiver's screen. Each
// decision is taken against what the receiver really holds at that moment, which is
// what keeps the byte-saving choices exact, and the finished diff can be checked
// against the target before it leaves.

#include "mosh2/terminal/display.hpp"

#include <array>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "mosh2/terminal/emulator.hpp"
#include "mosh2/terminal/tparm.hpp"
#include "mosh2/terminal/utf8_decoder.hpp"

namespace mosh2::terminal {

namespace {

constexpr std::string_view csi = "\033[";
constexpr std::string_view nbsp = "\xC2\xA0";

std::string utf8(const std::u32string& s) { return to_utf8(s); }

// `CSI <n> <final>`, leaving out n when it equals the default of 1.
std::string csi_n(int n, char final_byte) {
  std::string s(csi);
  if (n != 1) s += std::to_string(n);
  s += final_byte;
  return s;
}

std::string dec_mode(int mode, bool on) {
  return std::string(csi) + "?" + std::to_string(mode) + (on ? "h" : "l");
}

// Printed spaces and erased cells look the same on a real screen.
bool blankish(const cell& c) {
  return c.blank() || (!c.wide() && !c.fallback() && c.text() == " ");
}

// What an erase (ECH, EL, ED) leaves: the current background and nothing else.
bool erased_form(const renditions& r) { return r.attrs == 0 && r.fg.is_default(); }

void add_code(std::string& s, std::string_view code) {
  if (!s.empty()) s += ';';
  s += code;
}

void add_color(std::string& s, color c, bool fg, bool bright_codes) {
  if (c.is_default()) {
    add_code(s, fg ? "39" : "49");
  } else if (c.is_indexed()) {
    const int i = c.index();
    if (i < 8)
      add_code(s, std::to_string((fg ? 30 : 40) + i));
    else if (i < 16 && bright_codes)  // the 1.4 emulator stores 90-97 as indices 8-15
      add_code(s, std::to_string((fg ? 90 : 100) + i - 8));
    else
      add_code(s, std::string(fg ? "38;5;" : "48;5;") + std::to_string(i));
  } else {
    add_code(s, std::string(fg ? "38;2;" : "48;2;") + std::to_string(c.red()) + ";" +
                    std::to_string(c.green()) + ";" + std::to_string(c.blue()));
  }
}

// An underline colour in the colon form that Setulc uses (and the only one xterm
// documents for 58): `58:5:n` or `58:2::r:g:b`.
void add_underline_color(std::string& s, color c) {
  if (c.is_default()) {
    add_code(s, "59");
  } else if (c.is_indexed()) {
    add_code(s, "58:5:" + std::to_string(c.index()));
  } else {
    add_code(s, "58:2::" + std::to_string(c.red()) + ":" + std::to_string(c.green()) + ":" +
                    std::to_string(c.blue()));
  }
}

std::string underline_code(const renditions& r) {
  if (r.ul_style == underline_style::single) return "4";
  return "4:" + std::to_string(static_cast<int>(r.ul_style) + 1);
}

// The local terminal's own strings (terminfo Smulx, Setulc), when the profile has them,
// draw the underline's style and a true-colour underline colour after the SGR that sets
// the rest; the SGR then has the plain underline, and an indexed colour keeps 58:5:n
// (Setulc only defines the RGB form; every terminal known to have it reads 58:5:n).
bool terminfo_style(const renditions& r, const terminal_profile& p) {
  return !p.terminfo.smulx.empty() && r.has(renditions::underlined) && r.ul_style != underline_style::single;
}
bool terminfo_colour(const renditions& r, const terminal_profile& p) {
  return !p.terminfo.setulc.empty() && r.ul.is_rgb();
}
std::string sgr_underline_code(const renditions& r, const terminal_profile& p) {
  return terminfo_style(r, p) ? std::string("4") : underline_code(r);
}
void add_sgr_underline_color(std::string& s, const renditions& r, const terminal_profile& p) {
  if (!terminfo_colour(r, p)) add_underline_color(s, r.ul);
}
std::string terminfo_part(const renditions& r, const terminal_profile& p, bool style, bool colour) {
  std::string out;
  if (style && terminfo_style(r, p)) {
    const long n = static_cast<int>(r.ul_style) + 1;
    out += tparm(p.terminfo.smulx, std::span(&n, 1));
  }
  if (colour && terminfo_colour(r, p)) {
    const long rgb = (long{r.ul.red()} << 16) | (long{r.ul.green()} << 8) | long{r.ul.blue()};
    out += tparm(p.terminfo.setulc, std::span(&rgb, 1));
  }
  return out;
}

struct attr_code {
  renditions::attr a;
  std::string_view on, off;
};
// Mosh's order: bold, italic, underline, blink, inverse, invisible.
constexpr std::array<attr_code, 6> attr_codes = {{
    {renditions::bold, "1", "22"},
    {renditions::italic, "3", "23"},
    {renditions::underlined, "4", "24"},
    {renditions::blink, "5", "25"},
    {renditions::inverse, "7", "27"},
    {renditions::invisible, "8", "28"},
}};

/// A scroll of rows [top, bottom] by n (n > 0: the contents move up) done before the
/// rows are drawn.
struct scroll_plan {
  int top = 0, bottom = -1, n = 0;
};

enum class move_kind {
  normal,  ///< any way of getting there
  print,   ///< a print follows: a pending autowrap into a soft-wrapped row will do
  real,    ///< must be a cursor motion even when already there (resets the combining target)
};

class frame_writer {
public:
  frame_writer(const framebuffer& last, const framebuffer& target, const terminal_profile& p,
               bool initialized, scroll_plan plan, bool force_repaint,
               std::size_t budget = std::string::npos)
      : last_(last), t_(target), p_(p), initialized_(initialized), plan_(plan),
        fresh_(!initialized || force_repaint || last.width() != target.width() ||
               last.height() != target.height()),
        w_(target.width()), h_(target.height()), budget_(budget), sh_(1, 1) {
    // The receiver's unsynchronized modes are the defaults: no hoststring ever changes them.
    sh_.fb() = last;
    auto& ds = sh_.fb().ds();
    ds.origin_mode = false;
    ds.auto_wrap = true;
    ds.insert_mode = false;
    ds.scroll_top = 0;
    ds.scroll_bottom = last.height() - 1;
    ds.next_print_wraps = false;
  }

  /// The diff; empty and aborted() when it grew past the budget.
  std::string run();
  bool aborted() const { return aborted_; }
  /// True when the shadow ended equal to the target (bell counts aside).
  bool exact() const;

private:
  const framebuffer& s() const { return sh_.fb(); }
  const cell& tcell(int r, int c) const { return t_.cell_at(r, c); }
  const cell& scell(int r, int c) const { return sh_.fb().cell_at(r, c); }

  void emit(std::string_view bytes) {
    out_ += bytes;
    sh_.write(bytes);
  }

  bool same_cell(const cell& shadow, const cell& target) const;
  bool row_same(int r) const;
  bool wrap_clear_needed(int r) const { return s().row_at(r).wrap && !t_.row_at(r).wrap; }
  bool dirty(int r, int c) const {
    return !same_cell(scell(r, c), tcell(r, c)) || (c == w_ - 1 && wrap_clear_needed(r));
  }
  int next_dirty(int r, int c) const {
    while (c < w_ && !dirty(r, c)) ++c;
    return c;
  }
  bool is_erase_cell(const cell& t) const { return p_.mosh_emulator ? t.blank() : blankish(t); }

  std::string plan_move(int r, int c, move_kind kind) const;
  void move_to(int r, int c, move_kind kind = move_kind::normal);
  void hide_cursor();
  std::string sgr_change(const renditions& from, const renditions& to) const;
  void set_rend(const renditions& want);
  void ensure_bg(color bg);

  void title_and_clipboard();
  void scroll();
  void fix_row(int r, bool keep_wrap);
  void reprint_gap(int r, int c);
  int erase_run(int r, int c, bool keep_wrap);
  void draw_cell(int r, int c);
  void draw_fallback(int r, int c);
  void fix_wrap(int r);
  void print_last_column(int r);
  void print_carrier(int r);
  bool tail_blank(int r, const renditions& rend) const;
  void modes();

  const framebuffer& last_;
  const framebuffer& t_;
  const terminal_profile& p_;
  const bool initialized_;
  const scroll_plan plan_;
  const bool fresh_;
  const int w_, h_;
  const std::size_t budget_;  // give up past this many bytes: a shorter diff is known
  bool aborted_ = false;
  emulator sh_;
  std::string out_;
  // The receiver's cursor may sit on the last column with a pending autowrap we cannot
  // see (its deferred-wrap flag is not synchronized), so only absolute moves are safe.
  bool col_uncertain_ = false;
  // A combining mark would attach to the last printed cell; unknown at the start.
  bool combine_armed_ = true;
  bool region_ = false;  // a partial scrolling region is set: only CUP moves are safe
};

bool frame_writer::same_cell(const cell& a, const cell& b) const {
  if (a == b) return true;
  if (p_.mosh_emulator || a.rend() != b.rend()) return false;
  if (blankish(a) && blankish(b)) return true;
  // A fallback cell is drawn as U+00A0 followed by its marks.
  return b.fallback() && !a.fallback() && !a.wide() && a.text().size() == b.text().size() + 2 &&
         a.text().substr(0, 2) == nbsp && a.text().substr(2) == b.text();
}

bool frame_writer::row_same(int r) const {
  if (s().shares_row(t_, r)) return true;
  const row& a = s().row_at(r);
  const row& b = t_.row_at(r);
  if (p_.mosh_emulator) return a == b;
  if (a.wrap != b.wrap) return false;
  for (int c = 0; c < w_; ++c)
    if (!same_cell(a.cells[static_cast<std::size_t>(c)], b.cells[static_cast<std::size_t>(c)]))
      return false;
  return true;
}

// ---------------------------------------------------------------------------------
// Cursor motion

std::string frame_writer::plan_move(int r, int c, move_kind kind) const {
  const auto& ds = s().ds();
  const int cr = ds.cursor_row, cc = ds.cursor_col;
  const bool uncertain = col_uncertain_ || ds.next_print_wraps;
  if (kind != move_kind::real && !uncertain && cr == r && cc == c) return {};
  // The receiver autowraps the next print into the following row and marks this one
  // soft-wrapped, which is what the target wants.
  if (kind == move_kind::print && ds.next_print_wraps && !col_uncertain_ && !region_ && c == 0 &&
      r == cr + 1 && t_.row_at(cr).wrap)
    return {};

  auto vertical = [](int d) -> std::string {
    if (d > 0) return d <= 4 ? std::string(static_cast<std::size_t>(d), '\n') : csi_n(d, 'B');
    if (d == -1) return "\033M";  // RI: never at the top of the (full) region here
    if (d < 0) return csi_n(-d, 'A');
    return {};
  };
  auto horizontal = [](int d) -> std::string {
    if (d > 0) return csi_n(d, 'C');
    if (d < 0) return -d <= 4 ? std::string(static_cast<std::size_t>(-d), '\b') : csi_n(-d, 'D');
    return {};
  };

  std::string best(csi);
  if (r > 0) best += std::to_string(r + 1);
  if (c > 0) best += ";" + std::to_string(c + 1);
  best += 'H';
  if (region_) return best;  // LF and CUD/CUU would stop at, or scroll, the region

  auto consider = [&best](std::string m) {
    if (m.size() < best.size()) best = std::move(m);
  };
  // CR is safe whatever the column: it also cancels a pending autowrap.
  // Built by appending: gcc 12 at -O3 warns falsely (-Wrestrict) on "literal" + string&&.
  std::string cr_move(1, '\r');
  cr_move += vertical(r - cr);
  if (c > 0) cr_move += horizontal(c);
  consider(std::move(cr_move));
  if (r == cr) consider(c > 0 ? csi_n(c + 1, 'G') : std::string(csi) + "G");
  if (!uncertain) {
    if (r != cr || c != cc) {
      consider(vertical(r - cr) + horizontal(c - cc));
    } else {
      if (c > 0) consider("\b" + csi_n(1, 'C'));
      if (c < w_ - 1) consider(csi_n(1, 'C') + "\b");
    }
  }
  return best;
}

void frame_writer::move_to(int r, int c, move_kind kind) {
  std::string m = plan_move(r, c, kind);
  if (m.empty()) return;
  hide_cursor();
  emit(m);
  col_uncertain_ = false;
  combine_armed_ = false;
}

void frame_writer::hide_cursor() {
  // Only a real screen shows the cursor jumping about; the wire receiver is not seen.
  if (!p_.mosh_emulator && s().ds().cursor_visible) emit("\033[?25l");
}

// ---------------------------------------------------------------------------------
// Renditions

std::string frame_writer::sgr_change(const renditions& from, const renditions& to) const {
  const bool compact = p_.mosh_emulator;
  std::string codes;
  for (const auto& a : attr_codes)
    if (to.has(a.a)) add_code(codes, a.a == renditions::underlined ? sgr_underline_code(to, p_) : std::string(a.on));
  if (!to.fg.is_default()) add_color(codes, to.fg, true, compact);
  if (!to.bg.is_default()) add_color(codes, to.bg, false, compact);
  if (!to.ul.is_default()) add_sgr_underline_color(codes, to, p_);
  // From a reset, as Mosh does; an empty first parameter means 0 to the 1.4 parser.
  std::string full(csi);
  if (codes.empty()) full += compact ? "" : "0";
  else full += (compact ? ";" : "0;") + codes;
  full += 'm';
  full += terminfo_part(to, p_, true, true);

  // Or only what changed. Real terminals get no "attribute off" codes (22-28), which
  // older consoles lack.
  std::string delta;
  bool removes = false;
  bool restyled = false;
  for (const auto& a : attr_codes) {
    const bool changed = to.has(a.a) && (!from.has(a.a) || (a.a == renditions::underlined && from.ul_style != to.ul_style));
    if (changed && a.a == renditions::underlined) {
      restyled = true;
      if (!terminfo_style(to, p_)) add_code(delta, underline_code(to));  // else Smulx sets it
    } else if (changed) {
      add_code(delta, a.on);
    }
    if (!to.has(a.a) && from.has(a.a)) {
      add_code(delta, a.off);
      removes = true;
    }
  }
  if (from.fg != to.fg) add_color(delta, to.fg, true, compact);
  if (from.bg != to.bg) add_color(delta, to.bg, false, compact);
  if (from.ul != to.ul) {
    add_sgr_underline_color(delta, to, p_);
    removes = removes || to.ul.is_default();
  }
  const std::string extra = terminfo_part(to, p_, restyled, from.ul != to.ul);
  if ((removes && !compact) || (delta.empty() && extra.empty())) return full;
  std::string incr = (delta.empty() ? std::string() : std::string(csi) + delta + "m") + extra;
  return incr.size() < full.size() ? incr : full;
}

void frame_writer::set_rend(const renditions& want) {
  const renditions& cur = s().ds().rend;
  if (cur == want) return;
  emit(sgr_change(cur, want));
}

void frame_writer::ensure_bg(color bg) {
  const renditions cur = s().ds().rend;
  if (cur.bg == bg) return;
  renditions plain;
  plain.bg = bg;
  renditions keep = cur;
  keep.bg = bg;
  std::string a = sgr_change(cur, plain), b = sgr_change(cur, keep);
  emit(a.size() < b.size() ? a : b);
}

// ---------------------------------------------------------------------------------
// The frame

std::string frame_writer::run() {
  // 1. Bell: once, however many rang (Mosh does the same; the count itself only
  // decides whether the client rings).
  if (t_.bell_count() != last_.bell_count()) emit("\a");
  // 2-3. Title and clipboard.
  title_and_clipboard();
  // 4. Reverse video.
  if (!initialized_ || s().ds().reverse_video != t_.ds().reverse_video)
    emit(dec_mode(5, t_.ds().reverse_video));
  // 5. A full repaint starts from a cleared screen of the new size.
  if (fresh_) {
    if (last_.width() != w_ || last_.height() != h_) sh_.resize(w_, h_);
    emit("\033[r\033[0m\033[H\033[2J");
    col_uncertain_ = false;
  } else {
    col_uncertain_ = last_.ds().cursor_col >= w_ - 1;
  }
  // 6. Nothing is known about the cursor of an uninitialized terminal: hide it.
  if (!initialized_) emit("\033[?25l");
  // 7. Scroll.
  if (!fresh_ && plan_.n != 0) scroll();
  // 8. Rows.
  for (int r = 0; r < h_; ++r) {
    if (row_same(r)) continue;
    fix_row(r, false);
    fix_wrap(r);
    if (out_.size() > budget_) {
      aborted_ = true;
      return {};
    }
  }
  // 10. Cursor. A pending autowrap on the right cell is fine: nothing prints before
  // the next diff, which treats the last column as uncertain anyway.
  if (s().ds().cursor_row != t_.ds().cursor_row || s().ds().cursor_col != t_.ds().cursor_col) {
    reprint_gap(t_.ds().cursor_row, t_.ds().cursor_col);
    move_to(t_.ds().cursor_row, t_.ds().cursor_col);
  }
  // 11. Cursor visibility.
  if (s().ds().cursor_visible != t_.ds().cursor_visible)
    emit(dec_mode(25, t_.ds().cursor_visible));
  // 12. Current renditions.
  set_rend(t_.ds().rend);
  // 13-16. Modes.
  modes();
  return std::move(out_);
}

void frame_writer::title_and_clipboard() {
  if (p_.has_title) {
    const bool changed = t_.title() != last_.title() || t_.icon_name() != last_.icon_name();
    // The wire receiver's title must also follow a reset (ESC c) that uninitializes it.
    const bool send = t_.title_initialized() ? (!initialized_ || changed)
                                             : (p_.mosh_emulator && t_.title() != last_.title());
    if (send) {
      if (t_.icon_name() == t_.title()) {
        emit("\033]0;" + utf8(t_.title()) + "\a");
      } else {
        emit("\033]1;" + utf8(t_.icon_name()) + "\a");
        emit("\033]2;" + utf8(t_.title()) + "\a");
      }
    }
  }
  // The emulator keeps only base64 set requests; checked again here because this is
  // the last step before the user's terminal, where a query would answer with the
  // user's clipboard.
  if (t_.clipboard() != last_.clipboard() && is_base64(t_.clipboard()))
    emit("\033]52;c;" + t_.clipboard() + "\a");
}

void frame_writer::scroll() {
  hide_cursor();
  // The rows scrolled in get the current background: make it the default one.
  ensure_bg(color{});
  const bool full = plan_.top == 0 && plan_.bottom == h_ - 1;
  if (!full) {
    std::string region(csi);
    if (plan_.top > 0) region += std::to_string(plan_.top + 1);
    if (plan_.bottom < h_ - 1) region += ";" + std::to_string(plan_.bottom + 1);
    emit(region + "r");  // also homes the cursor
    region_ = true;
  }
  const int k = std::abs(plan_.n);
  // A whole-screen scroll by line feeds at the bottom row (or reverse indexes at the
  // top) can be shorter than SU/SD, and leaves the cursor where the new rows start.
  std::string by_moves;
  if (full) {
    const int edge = plan_.n > 0 ? h_ - 1 : 0;
    const auto& ds = s().ds();
    if (ds.cursor_row == edge && !col_uncertain_ && !ds.next_print_wraps) by_moves.clear();
    else by_moves = plan_move(edge, 0, move_kind::normal);
    for (int i = 0; i < k; ++i) by_moves += plan_.n > 0 ? "\n" : "\033M";
  }
  const std::string su = csi_n(k, plan_.n > 0 ? 'S' : 'T');
  if (p_.has_scroll && (!full || su.size() <= by_moves.size())) {
    emit(su);
  } else if (full) {
    emit(by_moves);
    col_uncertain_ = false;
  } else if (plan_.n > 0) {
    move_to(plan_.bottom, 0);
    emit(std::string(static_cast<std::size_t>(k), '\n'));
  } else {
    move_to(plan_.top, 0);
    for (int i = 0; i < k; ++i) emit("\033M");
  }
  if (!full) {
    emit("\033[r");  // homes the cursor
    region_ = false;
    col_uncertain_ = false;
  }
  combine_armed_ = false;
}

void frame_writer::fix_row(int r, bool keep_wrap) {
  for (int c = next_dirty(r, 0); c < w_; c = next_dirty(r, c)) {
    reprint_gap(r, c);
    const cell& t = tcell(r, c);
    if (is_erase_cell(t)) {
      c = erase_run(r, c, keep_wrap);
      continue;
    }
    if (c == w_ - 1 && wrap_clear_needed(r)) {
      // Only erasing the last cell clears a soft wrap; the cell is drawn right after.
      move_to(r, c);
      emit("\033[K");
    }
    if (p_.mosh_emulator && t.fallback())
      draw_fallback(r, c);
    else
      draw_cell(r, c);
    ++c;
  }
}

// Printing a few unchanged cells can be shorter than moving over them.
void frame_writer::reprint_gap(int r, int c) {
  const auto& ds = s().ds();
  if (col_uncertain_ || ds.next_print_wraps || region_ || ds.cursor_row != r) return;
  const int from = ds.cursor_col;
  if (from >= c || c - from > 8) return;
  std::string text;
  for (int k = from; k < c; ++k) {
    const cell& sc = scell(r, k);
    if (sc.wide() || sc.fallback() || sc.rend() != ds.rend) return;
    if (sc.blank()) {
      if (p_.mosh_emulator) return;  // a printed space is not an erased cell there
      text += ' ';
    } else {
      text += sc.text();
    }
  }
  if (text.size() >= plan_move(r, c, move_kind::normal).size()) return;
  emit(text);
  combine_armed_ = true;
}

int frame_writer::erase_run(int r, int c, bool keep_wrap) {
  const row& tr = t_.row_at(r);
  const renditions x = tcell(r, c).rend();
  int e = c;
  while (e + 1 < w_ && is_erase_cell(tcell(r, e + 1)) && tcell(r, e + 1).rend() == x) ++e;
  int d = e;
  while (d > c && !dirty(r, d)) --d;
  const bool erasable = erased_form(x) && (p_.has_bce || x.bg.is_default());
  // EL clears a soft wrap, so keep it for rows that stay wrapped unless the last cell
  // has to be erased anyway.
  const bool el = erasable && e == w_ - 1 && (d == w_ - 1 || (!tr.wrap && !keep_wrap));
  if (el) {
    move_to(r, c);
    ensure_bg(x.bg);
    emit(tail_blank(r + 1, x) ? "\033[J" : "\033[K");
    return e + 1;
  }
  if (e == w_ - 1 && wrap_clear_needed(r)) {
    move_to(r, w_ - 1);
    emit("\033[K");
    d = e;
    while (d > c && !dirty(r, d)) --d;
  }
  const int n = d - c + 1;
  if (erasable && p_.has_ech && (p_.mosh_emulator || n > 4)) {
    move_to(r, c);
    ensure_bg(x.bg);
    emit(csi_n(n, 'X'));
    return e + 1;
  }
  // Spaces: Mosh's choice for short runs on real terminals, and the only choice when the
  // terminal cannot erase in this colour (on the wire that leaves spaces, not blanks).
  move_to(r, c, move_kind::print);
  set_rend(x);
  emit(std::string(static_cast<std::size_t>(n), ' '));
  combine_armed_ = true;
  return e + 1;
}

void frame_writer::draw_cell(int r, int c) {
  const cell& t = tcell(r, c);
  move_to(r, c, move_kind::print);
  set_rend(t.rend());
  if (t.wide() && c == w_ - 1) {
    // Only a narrower resize leaves a wide character in the last column, and no print
    // can put one there: Mosh 1.4 moves it to the next row even with autowrap off.
    emit(" ");
  } else {
    if (t.fallback()) emit(nbsp);  // only on real terminals: the wire uses draw_fallback
    emit(t.text());
  }
  combine_armed_ = true;
}

// A combining mark printed on an empty cell right after a cursor motion lands in that
// cell with the fallback flag, exactly as the target got it.
void frame_writer::draw_fallback(int r, int c) {
  const cell& t = tcell(r, c);
  move_to(r, c, combine_armed_ ? move_kind::real : move_kind::normal);
  const cell& sc = scell(r, c);
  if (!sc.blank() || sc.rend() != t.rend()) {
    ensure_bg(t.rend().bg);
    emit(csi_n(1, 'X'));
  }
  emit(t.text());
  combine_armed_ = true;
}

bool frame_writer::tail_blank(int r, const renditions& rend) const {
  for (; r < h_; ++r) {
    const row& tr = t_.row_at(r);
    if (tr.wrap) return false;
    for (const cell& c : tr.cells)
      if (!is_erase_cell(c) || c.rend() != rend) return false;
  }
  return true;
}

// A soft wrap is recorded only by printing past the last column, so a row that must
// end wrapped gets its last column printed and the next print carried into the row
// below (which that row's own drawing then corrects if needed).
void frame_writer::fix_wrap(int r) {
  if (!t_.row_at(r).wrap || s().row_at(r).wrap) return;
  if (r == h_ - 1) {
    // Carrying out of the bottom row would scroll. With the region ending one row
    // higher, the carried print lands back in this row's first column instead.
    if (h_ < 3) return;
    emit(std::string(csi) + ";" + std::to_string(h_ - 1) + "r");
    region_ = true;
    col_uncertain_ = false;
    combine_armed_ = false;
    print_last_column(r);
    print_carrier(r);
    emit("\033[r");
    region_ = false;
    combine_armed_ = false;
    fix_row(r, true);
    return;
  }
  const auto& ds = s().ds();
  if (!(ds.next_print_wraps && !col_uncertain_ && ds.cursor_row == r)) print_last_column(r);
  print_carrier(r + 1);
  fix_row(r, true);
}

void frame_writer::print_last_column(int r) {
  const int last = w_ - 1;
  const cell& t = tcell(r, last);
  const bool plain = !t.blank() && !t.wide() && !(p_.mosh_emulator && t.fallback());
  if (plain) {
    move_to(r, last);
    set_rend(t.rend());
    if (t.fallback()) emit(nbsp);
    emit(t.text());
  } else if (t.blank() && last > 0 && tcell(r, last - 1).wide() && !tcell(r, last - 1).fallback()) {
    const cell& wide = tcell(r, last - 1);
    move_to(r, last - 1);
    set_rend(wide.rend());
    emit(wide.text());
  } else if (last > 0) {
    // The last cell must end up empty (or hold something only the second pass can
    // draw) without an erase, which would clear the wrap again: a wide character in
    // the column before blanks it with the current background and leaves the cursor
    // pending. The second pass then redraws that column.
    move_to(r, last - 1);
    ensure_bg(t.rend().bg);
    emit("\xE3\x80\x80");  // U+3000 IDEOGRAPHIC SPACE, two columns wide
  } else {
    move_to(r, last);
    emit(" ");
  }
  combine_armed_ = true;
}

// The print that follows a pending autowrap: the target's cell when it can be printed.
void frame_writer::print_carrier(int r) {
  const cell& t = tcell(r, 0);
  if (!t.blank() && !t.fallback() && !(t.wide() && w_ < 2)) {
    set_rend(t.rend());
    emit(t.text());
  } else {
    emit(" ");
  }
  combine_armed_ = true;
}

void frame_writer::modes() {
  const bool force = !initialized_;
  // Real terminals get Mosh's sequences; the wire receiver keeps one mouse mode and one
  // encoding, so setting the new one (or resetting the old one) is enough.
  const bool minimal = p_.mosh_emulator && !force;
  const auto& sd = s().ds();
  const auto& td = t_.ds();
  if (force || sd.bracketed_paste != td.bracketed_paste) emit(dec_mode(2004, td.bracketed_paste));
  if (force || sd.mouse != td.mouse) {
    std::string m;
    if (td.mouse == mouse_reporting::none) {
      if (minimal) {
        m = dec_mode(static_cast<int>(sd.mouse), false);
      } else {
        m = "\033[?1003l\033[?1002l\033[?1001l\033[?1000l";
        if (sd.mouse == mouse_reporting::x10 && !p_.mosh_emulator) m += "\033[?9l";
      }
    } else {
      if (force) m = "\033[?1003l\033[?1002l\033[?1001l\033[?1000l";
      else if (!minimal && sd.mouse != mouse_reporting::none) m = dec_mode(static_cast<int>(sd.mouse), false);
      m += dec_mode(static_cast<int>(td.mouse), true);
    }
    emit(m);
  }
  if (force || sd.mouse_focus_events != td.mouse_focus_events)
    emit(dec_mode(1004, td.mouse_focus_events));
  if (force || sd.mouse_enc != td.mouse_enc) {
    std::string m;
    if (td.mouse_enc == mouse_encoding::none) {
      m = minimal ? dec_mode(static_cast<int>(sd.mouse_enc), false)
                  : std::string("\033[?1015l\033[?1006l\033[?1005l");
    } else {
      if (force) m = "\033[?1015l\033[?1006l\033[?1005l";
      else if (!minimal && sd.mouse_enc != mouse_encoding::none) m = dec_mode(static_cast<int>(sd.mouse_enc), false);
      m += dec_mode(static_cast<int>(td.mouse_enc), true);
    }
    emit(m);
  }
  // Mosh 1.4 never sends 1007 although it is synchronized; the wire receiver takes it.
  if (p_.mosh_emulator && (force || sd.mouse_alternate_scroll != td.mouse_alternate_scroll))
    emit(dec_mode(1007, td.mouse_alternate_scroll));
}

bool frame_writer::exact() const {
  if (!p_.mosh_emulator) return true;
  const framebuffer& a = s();
  if (!a.ds().same_synchronized(t_.ds()) || a.clipboard() != t_.clipboard()) return false;
  if (p_.has_title && a.title() != t_.title()) return false;
  for (int r = 0; r < h_; ++r)
    if (!row_same(r)) return false;
  return true;
}

// ---------------------------------------------------------------------------------
// Scroll detection

std::uint64_t row_hash(const row& rw) {
  std::uint64_t h = 1469598103934665603ull;
  auto mix = [&h](std::uint64_t v) {
    h ^= v;
    h *= 1099511628211ull;
  };
  mix(rw.wrap);
  for (const cell& c : rw.cells) {
    for (char ch : c.text()) mix(static_cast<unsigned char>(ch));
    const auto& rd = c.rend();
    mix(rd.attrs | (c.wide() ? 0x100u : 0u) | (c.fallback() ? 0x200u : 0u) | 0x400u |
        (std::uint64_t{static_cast<std::uint8_t>(rd.ul_style)} << 11));
    for (const color& col : {rd.fg, rd.bg, rd.ul})
      mix((col.is_rgb() ? 1u << 24 : 0u) | (std::uint64_t{col.red()} << 16) |
          (std::uint64_t{col.green()} << 8) | col.blue() | (col.is_default() ? 1ull << 32 : 0));
  }
  return h;
}

// The best scroll up and the best scroll down: the longest block of target rows that
// equal shifted rows of `last`, counted by the rows it saves from being redrawn.
std::vector<scroll_plan> scroll_candidates(const framebuffer& last, const framebuffer& target) {
  const int h = target.height();
  std::vector<std::uint64_t> hl(static_cast<std::size_t>(h)), ht(static_cast<std::size_t>(h));
  std::vector<char> changed(static_cast<std::size_t>(h));
  int any = 0;
  for (int r = 0; r < h; ++r) {
    const auto i = static_cast<std::size_t>(r);
    changed[i] = !(last.shares_row(target, r) || last.row_at(r) == target.row_at(r));
    any += changed[i];
  }
  if (any < 2) return {};  // one changed row never pays for a scroll
  for (int r = 0; r < h; ++r) {
    hl[static_cast<std::size_t>(r)] = row_hash(last.row_at(r));
    ht[static_cast<std::size_t>(r)] = row_hash(target.row_at(r));
  }
  std::vector<scroll_plan> out;
  for (int dir : {1, -1}) {
    scroll_plan best;
    int best_gain = 0;
    for (int n = 1; n < h; ++n) {
      // Target row i shows old row i + dir * n.
      const int lo = dir > 0 ? 0 : n, hi = dir > 0 ? h - 1 - n : h - 1;
      int start = -1, gain = 0;
      for (int i = lo; i <= hi + 1; ++i) {
        const bool match = i <= hi && ht[static_cast<std::size_t>(i)] ==
                                          hl[static_cast<std::size_t>(i + dir * n)];
        if (match) {
          if (start < 0) start = i, gain = 0;
          gain += changed[static_cast<std::size_t>(i)];
        } else if (start >= 0) {
          if (gain > best_gain) {
            best_gain = gain;
            best = dir > 0 ? scroll_plan{start, i - 1 + n, n} : scroll_plan{start - n, i - 1, -n};
          }
          start = -1;
        }
      }
    }
    if (best_gain > 0) out.push_back(best);
  }
  return out;
}

// What the receiver can show of renditions: extended ones it lacks the sequences for
// become the plain underline, in the text colour.
renditions shown(const renditions& r, const terminal_profile& p) {
  renditions out = r;
  if (!p.styled_underline) out.ul_style = underline_style::single;
  if (!p.underline_color) out.ul = color{};
  return out;
}

// The screen as a receiver without some extended renditions sees it: the rows that
// may hold such cells (row::extended) replaced by copies that show what it can. A row
// shared by both screens of one diff gets one copy (`copies`), so it stays shared.
class shown_screen {
public:
  using copies = std::vector<std::pair<const row*, framebuffer::row_ptr>>;
  shown_screen(const framebuffer& fb, const terminal_profile& p, copies& made) : original_(fb) {
    for (int r = 0; r < fb.height(); ++r) {
      const row& src = fb.row_at(r);
      if (!src.extended) continue;
      if (!view_) view_ = fb;
      framebuffer::row_ptr copy;
      for (const auto& [from, to] : made)
        if (from == &src) copy = to;
      if (!copy) {
        copy = std::make_shared<row>(src);
        for (cell& c : copy->cells) c.rend() = shown(c.rend(), p);
        copy->extended = false;
        copy->forget_cells();
        made.emplace_back(&src, copy);
      }
      view_->replace_row(r, std::move(copy));
    }
    if (view_) view_->ds().rend = shown(fb.ds().rend, p);
    else if (fb.ds().rend.extended()) {
      view_ = fb;
      view_->ds().rend = shown(fb.ds().rend, p);
    }
  }
  const framebuffer& get() const { return view_ ? *view_ : original_; }

private:
  const framebuffer& original_;
  std::optional<framebuffer> view_;
};

std::string diff(const framebuffer& last, const framebuffer& target,
                 const terminal_profile& profile, bool initialized);

}  // namespace

framebuffer as_shown(const framebuffer& fb, const terminal_profile& profile) {
  shown_screen::copies made;
  return shown_screen(fb, profile, made).get();
}

std::string sgr_sequence(const renditions& r, const terminal_profile& profile) {
  const renditions s = shown(r, profile);
  std::string codes("0");
  for (const auto& a : attr_codes)
    if (s.has(a.a)) add_code(codes, a.a == renditions::underlined ? sgr_underline_code(s, profile) : std::string(a.on));
  if (!s.fg.is_default()) add_color(codes, s.fg, true, false);
  if (!s.bg.is_default()) add_color(codes, s.bg, false, false);
  if (!s.ul.is_default()) add_sgr_underline_color(codes, s, profile);
  return std::string(csi) + codes + "m" + terminfo_part(s, profile, true, true);
}

std::string new_frame(const framebuffer& last, const framebuffer& target,
                      const terminal_profile& profile, bool initialized) {
  if (profile.styled_underline && profile.underline_color) return diff(last, target, profile, initialized);
  shown_screen::copies made;
  const shown_screen a(last, profile, made), b(target, profile, made);
  return diff(a.get(), b.get(), profile, initialized);
}

namespace {

std::string diff(const framebuffer& last, const framebuffer& target,
                 const terminal_profile& profile, bool initialized) {
  const bool same_size = last.width() == target.width() && last.height() == target.height();
  std::string best;
  bool have = false, best_exact = false;
  // Scrolled candidates first: when one is short, drawing without a scroll stops early.
  std::vector<scroll_plan> plans;
  if (initialized && same_size) plans = scroll_candidates(last, target);
  if (!profile.scroll_off_top) std::erase_if(plans, [](const scroll_plan& p) { return p.top == 0; });
  plans.push_back({});
  for (const scroll_plan& plan : plans) {
    const std::size_t budget = have && best_exact ? best.size() : std::string::npos;
    frame_writer fw(last, target, profile, initialized, plan, false, budget);
    std::string s = fw.run();
    if (fw.aborted()) continue;
    const bool ok = fw.exact();
    if (!have || (ok && !best_exact) || (ok == best_exact && s.size() <= best.size())) {
      best = std::move(s);
      best_exact = ok;
      have = true;
    }
  }
  if (!best_exact) {
    // Should not happen; a repaint from a cleared screen is the safest thing left.
    frame_writer fw(last, target, profile, initialized, {}, true);
    std::string s = fw.run();
    if (fw.exact()) best = std::move(s);
  }
  return best;
}

}  // namespace

std::string display::open(bool term_init) const {
  return (term_init ? profile_.smcup : std::string{}) + "\033[?1h";
}

std::string display::close(bool term_init) const {
  // Bracketed paste too (?2004l): the server's program may have turned it on through
  // us, and a shell after the session would get every paste wrapped (stock 1.4 leaves it).
  return "\033[?1l\033[0m\033[?25h\033[?1003l\033[?1002l\033[?1001l\033[?1000l"
         "\033[?1015l\033[?1006l\033[?1005l\033[?2004l" +
         (term_init ? profile_.rmcup : std::string{});
}

}  // namespace mosh2::terminal

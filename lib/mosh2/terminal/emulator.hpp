#pragma once
// The terminal emulator: host output (UTF-8 bytes) in, framebuffer and replies out
// (protocol §9.1-§9.3), plus the server-side input translation of §8.4.

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "mosh2/terminal/framebuffer.hpp"
#include "mosh2/terminal/history.hpp"
#include "mosh2/terminal/parser.hpp"
#include "mosh2/terminal/utf8_decoder.hpp"

namespace mosh2::terminal {

/// How an emulator behaves beyond Mosh 1.4's (docs/terminal.md, "Beyond Mosh 1.4").
struct emulator_options {
  /// Lines of history kept from what scrolls off the top of the main screen; 0: none.
  std::size_t history_lines = 0;
  /// The emulator reads a program's output (the server's pty), not a frame diff: a
  /// narrow character printed over half of a wide one blanks the other half, and a
  /// width change re-wraps the main screen. A frame diff's writer assumes Mosh 1.4's
  /// semantics in its receiver, so the client and the diff's own shadow keep them.
  bool program_output = false;

  /// The server's emulator: program output, with a history of `lines` lines.
  static emulator_options server(std::size_t lines = default_history_lines) { return {lines, true}; }
};

/// Cells a reflow takes back from the history at most, whatever the lines' length:
/// 1,000 lines of 160 columns (8 MB of cells while the resize runs).
inline constexpr std::size_t reflow_history_cells = 160000;

/// Interprets host output like Mosh 1.4's emulator, plus the alternate screen and DEC
/// special graphics (docs/terminal.md). Copying is cheap: the framebuffer shares rows.
class emulator {
public:
  /// A screen of the given size, clamped to the limits (clamp_screen_size).
  emulator(int width, int height, emulator_options options = {});

  /// Feeds host output (UTF-8 bytes from the pty or a hoststring) through parser and
  /// framebuffer. Once work() passes the work limit, the rest of `bytes` is dropped.
  void write(std::string_view bytes);
  /// Work done so far (framebuffer::work): cells written or copied, rows moved.
  std::uint64_t work() const { return fb_.work(); }
  /// write() and resize() stop doing anything once work() passes `limit`; for input
  /// from the network, whose cost must stay bounded (terminal_state::apply_diff).
  void set_work_limit(std::uint64_t limit) { work_limit_ = limit; }
  /// Removes the work limit.
  void clear_work_limit() { work_limit_ = std::numeric_limits<std::uint64_t>::max(); }
  /// True once work() passed the limit: some input was dropped.
  bool work_limit_reached() const { return fb_.work() > work_limit_; }
  /// Replies the terminal owes the program (DA, DSR, CPR), in order; clears them.
  std::string take_replies();
  /// Changes the screen size (§9.3), clamped to the limits (clamp_screen_size); the
  /// hidden screen, if any, follows. A width or height below 1 is ignored.
  void resize(int width, int height);
  /// The screen as synchronized.
  const framebuffer& fb() const { return fb_; }
  /// Writable screen, for overlays and tests.
  framebuffer& fb() { return fb_; }
  /// Server-side input translation (§8.4): ESC O A-D -> ESC [ A-D unless DECCKM is set.
  std::string translate_input(std::string_view user_bytes) const;

  /// The lines that scrolled off the top of the main screen, or nullptr when history
  /// is off. Copies of an emulator share it: it is the session's, not a state's (SSP
  /// copies the emulator for every state it keeps, and only the newest one writes).
  const terminal::history* history() const { return history_.get(); }
  /// The same, to settle the lines a consumer was handed (history::settle).
  terminal::history* history() { return history_.get(); }
  /// Changes the history bound (0 turns it off and drops what is kept).
  void set_history_limit(std::size_t lines);

  /// True while the alternate screen (DECSET 47/1047/1049) is shown. Not synchronized.
  bool alternate_screen() const { return alt_active_; }
  /// True while a second screen is held (the alternate one, or the normal one while
  /// the alternate is shown).
  bool has_hidden_screen() const { return !hidden_rows_.empty(); }
  /// Heap memory the parser holds: an OSC string still being received, which stays
  /// with the state until it ends (up to parser::max_osc_chars code points).
  std::size_t parser_heap_bytes() const { return parser_.osc().capacity() * sizeof(char32_t); }

private:
  void handle(char32_t cp);
  void print(char32_t cp);
  void print_ascii(const char* p, const char* end);
  void combine(char32_t cp);
  void execute(char32_t c);
  void esc_dispatch();
  void csi_dispatch();
  // CSI handlers by family, found through csi_table; each returns whether the
  // function keeps the deferred-wrap flag.
  bool csi_cursor(char32_t final_byte);
  bool csi_erase(char32_t final_byte);
  bool csi_edit(char32_t final_byte);
  bool csi_scroll(char32_t final_byte);
  bool csi_tabs(char32_t final_byte);
  bool csi_sgr(char32_t final_byte);
  bool csi_modes(char32_t final_byte);
  bool csi_reports(char32_t final_byte);
  bool csi_repeat(char32_t final_byte);
  bool csi_soft_reset(char32_t final_byte);
  bool csi_save_restore(char32_t final_byte);
  struct csi_function;
  static const csi_function csi_table[];
  void repeat_last(int n);
  void osc_dispatch();
  void sgr();
  void set_mode(int mode, bool on);
  void set_dec_mode(int mode, bool on);

  void advance(int n);
  void move_to(int row, int col);
  void line_feed();
  void reverse_index();
  void erase_cells(int row, int from, int to);  // [from, to)
  void erase_rows(int from, int to);            // [from, to)
  void insert_cells(row& r, int col, int n);
  void delete_cells(int n);
  void insert_lines(int n);
  void delete_lines(int n);
  void tab_forward(int n);
  void tab_backward(int n);
  void reflow(int width, int height);
  void save_cursor();
  void restore_cursor();
  void full_reset();
  void soft_reset();
  void switch_screen(bool alternate, bool clear_alternate);
  bool graphics_active() const { return shift_out_ ? g1_graphics_ : g0_graphics_; }
  int home_row() const;

  framebuffer fb_;
  parser parser_;
  utf8_decoder utf8_;
  std::string replies_;

  // Cell that a combining character attaches to; row -1 after cursor motion.
  int combine_row_ = -1;
  int combine_col_ = 0;
  char32_t last_graphic_ = 0;  ///< for REP; 0 once anything but a print intervenes

  bool g0_graphics_ = false;  ///< G0 designated as DEC special graphics (ESC ( 0)
  bool g1_graphics_ = false;  ///< G1 designated as DEC special graphics (ESC ) 0)
  bool shift_out_ = false;    ///< SO: G1 is mapped into GL
  struct saved_charsets {
    bool g0 = false, g1 = false, shift_out = false;
  } saved_charsets_;

  bool alt_active_ = false;
  std::vector<framebuffer::row_ptr> hidden_rows_;  ///< the screen not shown
  std::uint64_t work_limit_ = std::numeric_limits<std::uint64_t>::max();  ///< see set_work_limit
  bool program_output_ = false;                ///< see emulator_options
  std::shared_ptr<terminal::history> history_;  ///< see history()
};

/// True for a valid base64 string (RFC 4648 alphabet, padded, possibly empty): the only
/// OSC 52 payload that is a request to set the clipboard. Anything else, "?" above all
/// (a query, which would make the user's terminal type the clipboard back into the
/// session), is never stored or forwarded.
bool is_base64(std::string_view s);

}  // namespace mosh2::terminal

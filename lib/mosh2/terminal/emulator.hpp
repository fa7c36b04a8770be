#pragma once
// The terminal emulator: host output (UTF-8 bytes) in, framebuffer and replies out
// (protocol §9.1-§9.3), plus the server-side input translation of §8.4.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mosh2/terminal/framebuffer.hpp"
#include "mosh2/terminal/parser.hpp"
#include "mosh2/terminal/utf8_decoder.hpp"

namespace mosh2::terminal {

/// Interprets host output like Mosh 1.4's emulator, plus the alternate screen and DEC
/// special graphics (docs/terminal.md). Copying is cheap: the framebuffer shares rows.
class emulator {
public:
  emulator(int width, int height);

  /// Feeds host output (UTF-8 bytes from the pty or a hoststring) through parser and framebuffer.
  void write(std::string_view bytes);
  /// Replies the terminal owes the program (DA, DSR, CPR), in order; clears them.
  std::string take_replies();
  /// Changes the screen size (§9.3); the hidden screen, if any, follows.
  void resize(int width, int height);
  /// The screen as synchronized.
  const framebuffer& fb() const { return fb_; }
  /// Writable screen, for overlays and tests.
  framebuffer& fb() { return fb_; }
  /// Server-side input translation (§8.4): ESC O A-D -> ESC [ A-D unless DECCKM is set.
  std::string translate_input(std::string_view user_bytes) const;

  /// True while the alternate screen (DECSET 47/1047/1049) is shown. Not synchronized.
  bool alternate_screen() const { return alt_active_; }

private:
  void handle(char32_t cp);
  void print(char32_t cp);
  void print_ascii(const char* p, const char* end);
  void combine(char32_t cp);
  void execute(char32_t c);
  void esc_dispatch();
  void csi_dispatch();
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
};

}  // namespace mosh2::terminal

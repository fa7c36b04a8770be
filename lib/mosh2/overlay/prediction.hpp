#pragma once
// The client's predictive local echo (protocol §10.1-§10.6): guesses what each keystroke
// will do to the screen, checks those guesses against the frames the server sends, and
// draws the ones it trusts over a copy of the server's frame. A core: no I/O, and time
// is passed in.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mosh2/terminal/framebuffer.hpp"
#include "mosh2/terminal/parser.hpp"
#include "mosh2/terminal/utf8_decoder.hpp"
#include "mosh2/util/clock.hpp"

namespace mosh2::overlay {

/// MOSH_PREDICTION_DISPLAY / --predict (§10.6).
enum class prediction_mode : std::uint8_t {
  adaptive,      ///< shown only under the SRTT or glitch triggers (the default)
  always,        ///< shown whenever its epoch is confirmed, whatever the round trip
  never,         ///< the engine does nothing at all
  experimental,  ///< shown at once, never held back by epochs; wrong cells dropped one by one
};

/// What the program on the server's terminal does with typed keys, as the server last
/// said (docs/protocol.md, "terminal_mode"); `unknown` without the extension.
enum class echo_state : std::uint8_t {
  unknown,  ///< nothing said (a stock server, or not yet): Mosh's rules alone
  kernel,   ///< the line discipline echoes (ECHO on)
  program,  ///< each key goes to the program, which may echo it itself (a line editor)
  off,      ///< canonical input without echo (a password prompt): nothing is drawn
};

/// "adaptive", "always", "never" or "experimental"; nothing for anything else.
std::optional<prediction_mode> parse_prediction_mode(std::string_view name);
/// The name parse_prediction_mode() reads back.
std::string_view to_string(prediction_mode mode);

// Thresholds of §10.4 and Appendix A. The "SRTT" triggers compare the SSP send
// interval, clamp(ceil(SRTT/2), 20, 250) ms, so 30 ms here means SRTT ≈ 60 ms.
inline constexpr auto srtt_trigger_on_above = 30ms;   ///< show predictions when send interval > this
inline constexpr auto srtt_trigger_off_at = 20ms;     ///< ...and stop at ≤ this with none active
inline constexpr auto flagging_on_above = 80ms;       ///< underline when send interval > this
inline constexpr auto flagging_off_at = 50ms;         ///< ...and stop at ≤ this
inline constexpr auto glitch_threshold = 250ms;       ///< pending this long: show predictions
inline constexpr auto glitch_flag_threshold = 5000ms; ///< pending this long: show and underline
inline constexpr auto glitch_repair_spacing = 150ms;  ///< quick confirmations count once per this
inline constexpr int glitch_show_level = 10;          ///< glitch_trigger after a 250 ms glitch
inline constexpr int glitch_flag_level = 20;          ///< glitch_trigger after a 5 s glitch
inline constexpr int glitch_flag_above = 10;          ///< flagging turns on above this level
/// Distinct contents remembered per predicted cell. A cell that has shown more while its
/// prediction waited changes too often to tell our echo from the program's own output:
/// it earns no credit, and memory stays bounded however long the echo stalls.
inline constexpr std::size_t max_cell_originals = 8;
inline constexpr auto prediction_recheck = 50ms;      ///< wake-up period while triggers may change
inline constexpr std::size_t paste_threshold = 100;   ///< more bytes per read = a paste (§8.5)
inline constexpr auto initial_send_interval = 250ms;  ///< §10.1: before any RTT sample
inline constexpr std::size_t max_echoing_modes = 8;   ///< program modes remembered as echoing

/// The prediction engine. The client feeds it keystrokes (new_user_input), every server
/// frame (cull, after updating set_echo_ack), and draws with apply().
class prediction_engine {
public:
  /// `overwrite` is MOSH_PREDICTION_OVERWRITE=yes / -o: typing and backspace replace
  /// in place instead of shifting the rest of the row.
  explicit prediction_engine(prediction_mode mode = prediction_mode::adaptive, bool overwrite = false)
      : mode_(mode), overwrite_(overwrite) {}

  // §10.1 inputs.
  /// Number of the newest client state already sent, sampled before a keyboard batch:
  /// that batch travels in state `n + 1`, its predictions' expiration frame.
  void set_local_frame_sent(std::uint64_t n) { local_frame_sent_ = n; }
  /// The server's echo_ack from its newest state (§8.3); never goes back.
  void set_echo_ack(std::uint64_t n) { echo_ack_ = std::max(echo_ack_, n); }
  /// The client's SSP send interval, which every trigger threshold is compared with.
  void set_send_interval(milliseconds interval) { send_interval_ = interval; }
  /// The same from the smoothed RTT: clamp(ceil(SRTT/2), 20, 250) ms (§7.1).
  void set_srtt(double srtt_ms);
  /// The program's newest reported mode; call on every change. While it says an echo
  /// is expected, the line after a carriage return is shown without waiting for the
  /// server to confirm its first key; while it says `off`, nothing is drawn at all.
  /// `mode_key` tells the program's modes apart (equal keys, equal modes): a program
  /// seen echoing in one mode is trusted to echo again whenever that mode returns, so a
  /// shell's line editor stays trusted across the commands it runs.
  void set_echo_state(echo_state s, std::uint64_t mode_key = 0);
  /// A new server frame arrived. The mode and the frame travel separately and the mode
  /// may follow a little later, so a line is vouched for only once the screen has been
  /// still for two send intervals: a prompt drawn just now may be asking for a password.
  void screen_changed(time_point now) { last_screen_change_ = now; }

  // §10.3: making predictions.
  /// One keyboard byte. `local_frame` is the frame last drawn (server frame with the
  /// overlays applied, §10); a plain server frame works too, it only lags further.
  void new_user_byte(char byte, const terminal::framebuffer& local_frame, time_point now);
  /// One read from the keyboard: a paste (> 100 bytes) resets and predicts nothing (§8.5).
  void new_user_input(std::string_view bytes, const terminal::framebuffer& local_frame, time_point now);

  // §10.4: validation.
  /// Judges the predictions against the newest server frame (call set_echo_ack first).
  void cull(const terminal::framebuffer& server_frame, time_point now);
  /// Forgets every prediction and starts a hidden epoch (resize, paste).
  void reset();

  // §10.5: display.
  /// Draws the predictions it trusts over `frame`, a copy of the culled server frame.
  void apply(terminal::framebuffer& frame) const;
  /// When cull() should run again without a new frame (glitch timers), or `never`.
  time_point next_deadline(time_point now) const;

  // State, for the client's status and for tests.
  prediction_mode mode() const { return mode_; }
  /// What the engine did so far, for the status file: cells predicted, predictions the
  /// server's screen confirmed, and predictions it contradicted.
  struct counts {
    std::uint64_t made = 0;
    std::uint64_t confirmed = 0;
    std::uint64_t wrong = 0;
  };
  const counts& stats() const { return counts_; }
  /// True when some cell or cursor prediction is still waiting to be judged.
  bool active() const;
  /// Contents remembered by the cell predictions held (bounded by max_cell_originals each).
  std::size_t originals_held() const;
  /// True when apply() would draw anything it holds (the mode and triggers allow it).
  bool displaying() const;
  bool srtt_trigger() const { return srtt_trigger_; }
  bool flagging() const { return flagging_; }
  int glitch_trigger() const { return glitch_trigger_; }
  std::uint64_t prediction_epoch() const { return prediction_epoch_; }
  std::uint64_t confirmed_epoch() const { return confirmed_epoch_; }
  echo_state echo() const { return echo_; }
  /// Whether the mode says typed keys come back: the kernel echoes, or the program
  /// reads keys one by one and this engine has seen it echo them since the mode changed.
  bool echo_expected() const;

private:
  struct stamp {                      // what every new or modified prediction gets (§10.3)
    std::uint64_t expiration = 0;     ///< judged once echo_ack reaches this client state
    time_point made{};
    std::uint64_t epoch = 0;          ///< tentative_until_epoch: hidden while > confirmed_epoch
  };
  struct cell_prediction {
    bool active = false;
    bool unknown = false;             ///< the cell will change, to what we do not know
    terminal::cell replacement;
    std::vector<std::string> originals;  ///< contents seen here: matching one earns no credit
    bool too_many_originals = false;     ///< more than max_cell_originals seen: never credit
    stamp when;
  };
  struct cursor_prediction {
    int row = 0;
    int col = 0;
    stamp when;
  };
  enum class verdict : std::uint8_t { pending, correct, correct_no_credit, incorrect };
  struct position {
    int row, col;
  };

  void act(char32_t cp, const terminal::framebuffer& fb, time_point now);
  void type_char(char32_t cp, const terminal::framebuffer& fb, time_point now);
  void backspace(const terminal::framebuffer& fb, time_point now);
  void predict_newline(int row, const terminal::framebuffer& fb, time_point now);
  void move_cursor(position to, time_point now);
  cell_prediction& predict_cell(int row, int col, const terminal::framebuffer& fb, time_point now);
  terminal::cell predicted_or_actual(int row, int col, const terminal::framebuffer& fb) const;
  position cursor_position(const terminal::framebuffer& fb) const;
  stamp new_stamp(time_point now) const { return {local_frame_sent_ + 1, now, prediction_epoch_}; }

  void check_size(const terminal::framebuffer& fb);
  void update_triggers();
  verdict judge(const cell_prediction& p, int row, int col, const terminal::framebuffer& fb) const;
  void cull_cells(const terminal::framebuffer& fb, time_point now);
  void cull_cursor(const terminal::framebuffer& fb);
  void kill_epoch(std::uint64_t epoch);
  void become_tentative();
  bool tentative(const stamp& s) const {
    return s.epoch > confirmed_epoch_ &&
           !(s.epoch == vouched_epoch_ && s.expiration > vouched_from_ && echo_expected());
  }
  void vouch_new_line();

  prediction_mode mode_;
  counts counts_;
  bool overwrite_;

  std::map<int, std::vector<cell_prediction>> rows_;  ///< screen row -> one slot per column
  std::vector<cursor_prediction> cursors_;            ///< oldest first, at most one per epoch
  std::uint64_t prediction_epoch_ = 1;
  std::uint64_t confirmed_epoch_ = 0;
  // The epoch begun by a carriage return while an echo was expected: shown before any
  // of it is confirmed, for keys typed once the screen after that return is seen
  // (echo_ack at least vouched_from_). 0 = none.
  std::uint64_t vouched_epoch_ = 0;
  std::uint64_t vouched_from_ = 0;
  bool vouch_fresh_ = false;  ///< nothing typed in the vouched epoch yet
  echo_state echo_ = echo_state::unknown;
  std::uint64_t mode_key_ = 0;
  std::optional<time_point> last_screen_change_;
  std::vector<std::uint64_t> echoing_modes_;  ///< `program` modes seen echoing, oldest first

  std::uint64_t local_frame_sent_ = 0;
  std::uint64_t echo_ack_ = 0;
  milliseconds send_interval_ = initial_send_interval;
  int width_ = 0;   ///< screen size last seen; 0 before the first frame
  int height_ = 0;

  bool srtt_trigger_ = false;
  bool flagging_ = false;
  int glitch_trigger_ = 0;
  std::optional<time_point> last_repair_;  ///< the last quick confirmation that lowered the glitch level

  // The keyboard's own byte stream, parsed like host output (§10.3).
  terminal::utf8_decoder utf8_;
  terminal::parser parser_;
  bool after_esc_ = false;  ///< the previous byte was ESC: an 'O' now is read as '['
};

}  // namespace mosh2::overlay

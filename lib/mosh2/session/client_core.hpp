#pragma once
// The client's session as a core (protocol §8.5, §10): events in (keystrokes,
// datagrams, window sizes, signals, the time), actions out (datagrams, whether to
// send them from a fresh socket, bytes for the screen, suspend, the end). No I/O and
// no Asio; the stages in client_session.cpp carry the actions out. test/session runs
// it against the server core over a simulated link.

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "mosh2/crypto/session_key.hpp"
#include "mosh2/overlay/notification_bar.hpp"
#include "mosh2/session/core_events.hpp"
#include "mosh2/overlay/prediction.hpp"
#include "mosh2/session/escape_key.hpp"
#include "mosh2/status/session_status.hpp"
#include "mosh2/session/terminal_mode.hpp"
#include "mosh2/session/history_stream.hpp"
#include "mosh2/session/path_choice.hpp"
#include "mosh2/session/reach_advice.hpp"
#include "mosh2/session/terminal_state.hpp"
#include "mosh2/session/transport_core.hpp"
#include "mosh2/ssp/user_stream.hpp"
#include "mosh2/terminal/display.hpp"

namespace mosh2::session {

/// Keystrokes the server has not acknowledged yet, at most: the rest waits here, so
/// that a huge paste goes out in instructions far below the receiver's 4 MiB cap and
/// a server that holds back (its program is not reading) never sees one it refuses.
inline constexpr std::size_t client_input_window = 64 * 1024;
/// A typed interrupt, quit or suspend character (the server's, with the terminal_mode
/// extension; else the defaults: Ctrl-C, Ctrl-\, Ctrl-Z)
/// behind waiting input widens the window to this, so that it reaches the server,
/// which delivers it to a program that is not reading (protocol.md: flow control).
inline constexpr std::size_t client_urgent_window = 2 * 1024 * 1024;
/// After this long without a word from the server, the notice about UDP appears...
inline constexpr auto connecting_notice_after = 250ms;
/// ...and after this long the client gives up.
inline constexpr auto connect_give_up_after = std::chrono::seconds(15);
/// ...later when the byte stream through ssh is being tried, which is slower to start.
inline constexpr auto stream_give_up_after = std::chrono::seconds(30);

struct client_core_config {
  explicit client_core_config(crypto::session_key k) : key(std::move(k)) {}
  crypto::session_key key;
  peer_address server;
  int width = 80;
  int height = 24;
  escape_key escape;
  bool term_init = true;     ///< false with MOSH_NO_TERM_INIT: no smcup/rmcup
  bool title_prefix = true;  ///< false with MOSH_TITLE_NOPREFIX
  std::string term;          ///< $TERM, for the local terminal profile
  /// What TERM's terminfo entry says about underline styles and colours, when the
  /// client could read it (terminal_profile::from_term); nothing: the built-in table.
  std::optional<terminal::terminfo_underline> terminfo_underline;
  overlay::prediction_mode predict = overlay::prediction_mode::adaptive;
  bool predict_overwrite = false;
  ssp::random_source random{};  ///< chaff; empty = the kernel's
  extension_config extensions;  ///< what this client announces
  /// Silence over UDP for this long from the start: say what is wrong (reach_advice).
  std::chrono::seconds udp_timeout = default_udp_timeout;
  std::string ssh_host;  ///< what ssh reached to start the server (the launcher says); empty = unknown
  transport_mode transport = transport_mode::automatic;  ///< --transport (see path_choice)
  bool stream_possible = false;  ///< the stages can start the byte-stream path (over ssh)
};

/// Bytes read from the keyboard.
struct keyboard_input {
  bytes_view data;
};
/// The keyboard closed (end of file or a read error).
struct keyboard_ended {};
/// A datagram that came over the byte-stream path rather than UDP.
struct stream_datagram {
  incoming_datagram d;
};
/// The byte-stream path ended (its ssh exited or the connection broke), and why.
struct stream_ended {
  std::string reason;
};
/// A datagram for the stream was dropped: the stream's queue was full. The stream then
/// loses datagrams after all, so the session gives it SSP's lossy timing until its next start.
struct stream_dropped {};
/// The local terminal changed size.
struct window_resized {
  int width = 80;
  int height = 24;
};
/// Back from a suspend (or SIGCONT): the whole screen must be drawn again.
struct screen_resumed {};

using client_event = std::variant<incoming_datagram, keyboard_input, keyboard_ended, window_resized, signal_received,
                                  screen_resumed, send_result, turn, stream_datagram, stream_ended, stream_dropped>;

/// What the client must do after an event.
struct client_actions : common_actions {
  bool new_socket = false;  ///< open a fresh socket before sending (port hop, §4.5)
  std::string screen;       ///< bytes that bring the terminal up to date
  bool suspend = false;     ///< the user pressed the escape key and Ctrl-Z
  bool start_stream = false;  ///< start the byte-stream path (again)
  bool stop_stream = false;   ///< stop it: the session is back on UDP
  bool to_stream = false;     ///< the datagrams go over the stream...
  bool also_udp = false;      ///< ...and, as a probe, over UDP too
};

class client_core {
public:
  client_core(client_core_config config, time_point now);

  /// Takes one event; returns what to do. Datagrams, the screen and the end come with
  /// a `turn`; the datagrams go to the server; a send_result says how they went.
  client_actions handle(const client_event& event, time_point now);

  /// What to write when the session takes over the terminal, and when it gives it back.
  std::string open_screen() const { return display_.open(config_.term_init); }
  /// Once history flows the session draws on the terminal's main screen (whose
  /// scrollback gets the lines), and leaves its last screen there.
  std::string close_screen() const { return display_.close(config_.term_init && !history_screen_); }
  /// The history written into the local terminal so far.
  const history_writer& history() const { return history_; }

  // -- state ----------------------------------------------------------------------------

  bool ever_heard() const { return ever_heard_; }
  /// The server said the session was attached from elsewhere: the session is over
  /// (exit status 1) and the user should be told why.
  bool displaced() const { return displaced_; }
  /// The paragraph about UDP once the client has waited udp_timeout and heard nothing.
  std::optional<std::string> udp_advice() const;
  /// Which path the datagrams take, and its history.
  const path_choice& paths() const { return paths_; }
  /// Datagrams the stream's queue dropped.
  std::uint64_t stream_drops() const { return stream_drops_; }
  /// Why the session ended, when it was the paths' fault (one line), else empty.
  const std::string& path_failure() const { return path_failure_; }
  const peer_address& server() const { return config_.server; }
  status::session_status status(time_point now) const;
  /// The server's newest screen (without overlays).
  const terminal::framebuffer& server_screen() const { return transport_.remote().fb(); }
  /// The program's modes as the server last reported them (nothing: not known).
  const std::optional<terminal_mode>& program_mode() const { return mode_.mode(); }
  const overlay::prediction_engine& predictor() const { return predictor_; }
  /// Typed bytes still waiting for room in the input window.
  std::size_t waiting_input() const { return waiting_bytes_; }
  const transport_core<ssp::user_stream, terminal_state>& transport() const { return transport_; }
  /// The transport, for what owns a further stream (its stream_out/take_stream_items).
  transport_core<ssp::user_stream, terminal_state>& transport() { return transport_; }

private:
  void keyboard(bytes_view data, time_point now);
  void datagram(const incoming_datagram& d, time_point now, bool via_stream = false);
  void resized(int width, int height);
  void sent(int err, time_point now);
  void take_turn(client_actions& out, time_point now);
  std::string take_screen(time_point now);
  std::string take_history();
  std::optional<int> finished(time_point now);
  time_point next_deadline(time_point now);
  void queue_keys(bytes_view keys);
  void fill_input_window();
  void begin_shutdown(time_point now, const std::string& why);
  void check_connecting(time_point now);
  void follow_path(time_point now);
  void stream_failed(const std::string& reason, time_point now);
  void path_message(std::string text, time_point now, bool permanent);

  client_core_config config_;
  transport_core<ssp::user_stream, terminal_state> transport_;
  overlay::notification_bar bar_;
  terminal::display display_;
  terminal::terminal_profile local_profile_;  ///< the local terminal's, for history lines
  history_writer history_;
  bool history_screen_ = false;  ///< left the alternate screen for the history's sake
  overlay::prediction_engine predictor_;
  terminal_mode_receiver mode_;  ///< the program's modes, with the terminal_mode extension
  /// Typed bytes and sizes, in order, that do not fit in the input window yet.
  std::deque<std::variant<bytes, transport::resize>> waiting_;
  std::size_t waiting_bytes_ = 0;
  bool urgent_ = false;  ///< an interrupt waits: use client_urgent_window
  std::optional<terminal::framebuffer> drawn_;
  std::optional<terminal::framebuffer> last_server_frame_;  ///< for the predictor's screen_changed
  time_point started_;
  std::optional<time_point> last_keystroke_;
  bool repaint_ = true;
  bool suspend_ = false;
  bool ever_heard_ = false;
  bool displaced_ = false;
  bool advising_ = false;  ///< udp_timeout passed without a word: the advice is on screen
  path_choice paths_;
  std::string path_failure_;
  std::string last_stream_failure_;  ///< why the stream last ended, for the status file
  bool stream_lossy_ = false;
  std::uint64_t stream_mark_ = 0;  ///< the newest state sent when the stream last started
  bool stream_reliable_ = false;  ///< follow_path() made the path reliable  ///< the stream dropped a datagram since its start
  bool path_message_ = false;  ///< the bar shows a message about the path
  std::uint64_t stream_drops_ = 0;
};

}  // namespace mosh2::session

#pragma once
// The server's session as a core (protocol §8.4): events in (datagrams, the program's
// output, signals, the time), actions out (datagrams, bytes and sizes for the pty,
// signals for the program, utmp, log lines, the end). No I/O and no Asio; the stages
// in server_session.cpp carry the actions out. test/session runs it against the
// client core over a simulated link.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "mosh2/crypto/session_key.hpp"
#include "mosh2/session/core_events.hpp"
#include "mosh2/session/echo_ack.hpp"
#include "mosh2/session/history_stream.hpp"
#include "mosh2/session/program_input.hpp"
#include "mosh2/status/session_status.hpp"
#include "mosh2/session/terminal_mode.hpp"
#include "mosh2/session/terminal_state.hpp"
#include "mosh2/session/transport_core.hpp"
#include "mosh2/ssp/user_stream.hpp"

namespace mosh2::session {

/// Without a client state for this long, utmp shows the session as detached again.
inline constexpr auto utmp_detach_after = std::chrono::seconds(30);

/// The server's limits and starting size.
struct server_core_config {
  explicit server_core_config(crypto::session_key k) : key(std::move(k)) {}
  crypto::session_key key;
  int width = 80;
  int height = 24;
  std::chrono::seconds first_contact_limit{60};
  std::optional<std::chrono::seconds> network_timeout;  ///< MOSH_SERVER_NETWORK_TMOUT
  std::optional<std::chrono::seconds> signal_timeout;   ///< MOSH_SERVER_SIGNAL_TMOUT
  std::optional<std::chrono::seconds> idle_timeout;     ///< --idle-timeout
  std::vector<std::string> command;                     ///< for the status file
  std::size_t program_input_cap = session::program_input_cap;  ///< see program_input
  ssp::random_source random{};                          ///< chaff; empty = the kernel's
  extension_config extensions;                          ///< what a mosh2 client may agree to
  std::string name;                                     ///< --name, for the status file (may be empty)
  /// Lines of history kept (--history); 0 turns it off and the history stream with it.
  std::size_t history_lines = terminal::default_history_lines;
};

/// The characters the program's terminal turns into signals (termios ISIG), as the
/// pty stage reads them from the line discipline; `isig` false = none.
struct tty_signal_chars {
  bool isig = false;
  char intr = '\x03';
  char quit = '\x1c';
  char susp = '\x1a';
};

/// The session's utmp entry changes: attached to `client_ip`, or detached (nothing).
struct utmp_change {
  std::optional<std::string> client_ip;
};

/// A signal the program must get now, ahead of the bytes queued for it (TIOCSIG).
struct program_signal {
  int signo;
};

/// Bytes the program wrote to its terminal.
struct program_output {
  bytes_view data;
};
/// The program's terminal closed (it exited).
struct program_ended {};
/// The operation last handed out (server_actions::program_op) was carried out.
struct program_op_finished {};
/// What the program's terminal does with signal characters, as read from the line
/// discipline before a datagram is handled (see tty_signal_chars).
struct program_tty {
  tty_signal_chars chars;
  bool canonical = true;  ///< ICANON, for the terminal_mode stream
  bool echo = true;       ///< ECHO
};

/// After program output, the modes are read again this soon, so that a program that
/// writes its prompt before turning echo off is reported without waiting for a key.
inline constexpr auto terminal_mode_recheck = 5ms;
/// The session is handed to whoever holds `key` (docs/protocol.md, "Rekeying"): the
/// program and the screen stay, the client and its address are forgotten, and the
/// next client starts from the initial state with a full repaint.
struct rekey_requested {
  crypto::session_key key;
};

using server_event = std::variant<incoming_datagram, program_output, program_ended, program_op_finished, program_tty,
                                  signal_received, shutdown_requested, send_result, rekey_requested, turn>;

/// What the server must do after an event.
struct server_actions : common_actions {
  datagram_outcome datagram;  ///< for an incoming_datagram: what it did
  bool start_program = false;  ///< start the program now (the first client state arrived)
  std::optional<program_op> next_op;  ///< the next thing to do to the pty
  std::vector<program_signal> program_signals;  ///< signals the program must get now
  std::optional<utmp_change> utmp;
  std::vector<std::string> log;  ///< lines for the verbose log
};

class server_core {
public:
  server_core(server_core_config config, time_point now);

  /// Takes one event; returns what to do. Datagrams, the program's next operation and
  /// the end come with a `turn`; the datagrams go to peer().
  server_actions handle(const server_event& event, time_point now);

  /// Where datagrams go; nothing until a client was heard, or after 40 s of silence.
  const std::optional<peer_address>& peer() const { return transport_.peer(); }

  // -- state ----------------------------------------------------------------------------

  /// The status file's view of this session (local address filled by the stage).
  status::session_status status(time_point now) const;
  const terminal::framebuffer& screen() const { return transport_.local().fb(); }
  const program_input& program_queue() const { return to_program_; }
  const transport_core<terminal_state, ssp::user_stream>& transport() const { return transport_; }
  /// The transport, for what owns a further stream (its stream_out/take_stream_items).
  transport_core<terminal_state, ssp::user_stream>& transport() { return transport_; }
  /// When user input was last taken in, if ever.
  std::optional<time_point> last_keystroke() const { return last_keystroke_; }
  /// Whether a client agreed to terminal_mode: the stage then reads the modes every turn.
  bool wants_program_mode() const { return transport_.stream_open(extension::terminal_mode); }
  /// Client states not taken in because the program was not reading.
  std::uint64_t held_back() const { return held_back_; }

private:
  datagram_outcome datagram(const incoming_datagram& d, time_point now);
  void on_program_output(bytes_view data, time_point now);
  void signal(int signo, time_point now);
  void send_failed(int err, time_point now);
  void rekey(const crypto::session_key& key, time_point now);
  void take_turn(server_actions& out, time_point now);
  void feed_history();
  std::optional<program_op> next_program_op();
  std::optional<int> finished(time_point now);
  time_point next_deadline(time_point now);
  bool accept_state(const transport::instruction& inst);
  void take_user_events(time_point now);
  void apply_user_events(const std::vector<ssp::user_event>& events);
  void flush_keys(std::string& keys);
  void check_timeouts(time_point now);
  void report_program_mode(time_point now);
  void begin_shutdown(time_point now, const std::string& why);
  void log(std::string line) { log_.push_back(std::move(line)); }

  server_core_config config_;
  transport_core<terminal_state, ssp::user_stream> transport_;
  echo_ack_tracker echo_;
  history_sender history_;
  bool history_open_ = false;  ///< the history stream was open at the last turn
  std::uint64_t history_rekeys_ = 0;  ///< transport().rekeys() then
  program_input to_program_;
  tty_signal_chars signal_chars_;
  std::optional<terminal_mode> program_mode_;  ///< as the stage last read it
  terminal_mode_reporter mode_reporter_;
  std::optional<time_point> mode_recheck_;
  /// Signal characters already delivered by TIOCSIG while their state was held back;
  /// their bytes are not written again when the state is finally taken in.
  std::size_t signalled_chars_ = 0;
  std::vector<program_signal> program_signals_;
  std::optional<utmp_change> utmp_change_;
  std::vector<std::string> log_;
  time_point started_;
  time_point last_client_state_{};
  std::optional<time_point> last_keystroke_;
  bool ever_heard_ = false;
  bool start_program_ = false;
  bool utmp_attached_ = false;
  bool quit_now_ = false;
  bool send_error_logged_ = false;
  std::uint64_t held_back_ = 0;
  std::uint64_t attaches_ = 0;
  std::optional<time_point> last_attached_;
  std::optional<std::string> attached_from_;  ///< the first address heard under the newest key
};

}  // namespace mosh2::session

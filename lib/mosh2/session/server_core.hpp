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
#include <vector>

#include "mosh2/crypto/session_key.hpp"
#include "mosh2/session/echo_ack.hpp"
#include "mosh2/session/program_input.hpp"
#include "mosh2/status/session_status.hpp"
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

class server_core {
public:
  server_core(server_core_config config, time_point now);

  // -- events ---------------------------------------------------------------------------

  /// A datagram from `from` (authenticated and counted here); what it did.
  datagram_outcome datagram(bytes_view wire, const peer_address& from, time_point now, bool truncated = false,
                bool congestion = false);
  /// Bytes the program wrote to its terminal.
  void program_output(bytes_view data, time_point now);
  /// The program's terminal closed (it exited).
  void program_ended(time_point now);
  /// The operation last taken with next_program_op() was carried out.
  void program_op_done(time_point now);
  /// What the program's terminal does with signal characters (read before datagrams).
  void set_signal_chars(const tty_signal_chars& c) { signal_chars_ = c; }
  /// SIGTERM, SIGINT or SIGUSR1 arrived.
  void signal(int signo, time_point now);
  /// Someone asked the session to end (the control socket's kill).
  void shutdown_request(const std::string& why, time_point now) { begin_shutdown(now, why); }
  /// A sendto failed with `err` (EMSGSIZE lowers the MTU; others are logged once).
  void send_failed(int err, time_point now);

  // -- actions --------------------------------------------------------------------------

  /// The datagrams due now, for peer(). Call once per turn, before next_deadline().
  std::vector<bytes> take_datagrams(time_point now);
  /// Where datagrams go; nothing until a client was heard, or after 40 s of silence.
  const std::optional<peer_address>& peer() const { return transport_.peer(); }
  /// True once, when the program should start (the first client state arrived).
  bool take_start_program();
  /// The next thing to do to the pty, if the previous one is done.
  std::optional<program_op> next_program_op();
  /// Signals the program must get now, ahead of its queued input.
  std::vector<program_signal> take_program_signals() { return std::exchange(program_signals_, {}); }
  /// The utmp entry's new host, when it must change.
  std::optional<utmp_change> take_utmp_change() { return std::exchange(utmp_change_, std::nullopt); }
  /// Lines for the verbose log.
  std::vector<std::string> take_log() { return std::exchange(log_, {}); }
  /// The exit status once the session is over; nothing while it goes on.
  std::optional<int> finished(time_point now);
  /// When the core next has something to do by itself.
  time_point next_deadline(time_point now);

  // -- state ----------------------------------------------------------------------------

  /// The status file's view of this session (local address filled by the stage).
  status::session_status status(time_point now) const;
  const terminal::framebuffer& screen() const { return transport_.local().fb(); }
  const program_input& program_queue() const { return to_program_; }
  const transport_core<terminal_state, ssp::user_stream>& transport() const { return transport_; }
  /// When user input was last taken in, if ever.
  std::optional<time_point> last_keystroke() const { return last_keystroke_; }
  /// Client states not taken in because the program was not reading.
  std::uint64_t held_back() const { return held_back_; }

private:
  bool accept_state(const transport::instruction& inst);
  void take_user_events(time_point now);
  void apply_user_events(const std::vector<ssp::user_event>& events);
  void flush_keys(std::string& keys);
  void check_timeouts(time_point now);
  void begin_shutdown(time_point now, const std::string& why);
  void log(std::string line) { log_.push_back(std::move(line)); }

  server_core_config config_;
  transport_core<terminal_state, ssp::user_stream> transport_;
  echo_ack_tracker echo_;
  program_input to_program_;
  tty_signal_chars signal_chars_;
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
  int exit_status_ = 0;
  std::uint64_t held_back_ = 0;
};

}  // namespace mosh2::session

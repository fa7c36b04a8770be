#pragma once
// What the launcher reads from ssh (or the local server) until the server is up: the
// server's `MOSH CONNECT <port> <key>`, the address lines (`MOSH IP` from our own
// ProxyCommand, `MOSH SSH_CONNECTION` from the remote shell), and everything else, which
// is shown to the user. And, when no MOSH CONNECT came, one line saying why.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mosh2::launcher {

/// The server's startup message.
struct connect_line {
  std::string port;
  std::string key;
};

/// Splits the bootstrap's output into lines and picks out the protocol lines. Stops
/// at MOSH CONNECT: what follows is the server's own business. What it holds is
/// bounded: a line longer than max_line, or more than max_total bytes before MOSH
/// CONNECT, is an error() and ends the reading, so a broken or hostile bootstrap costs
/// at most max_line bytes of buffer and one scan of each byte.
class startup_reader {
public:
  /// Far longer than any protocol line (under 100 bytes) or a message from ssh.
  static constexpr std::size_t max_line = 64 * 1024;
  /// A server starts with a few lines; a remote shell's greeting adds some more.
  static constexpr std::size_t max_total = 4 * 1024 * 1024;

  /// Takes the next bytes; returns the complete lines to show the user (blank lines and
  /// the protocol lines are not shown; a trailing `\r` is removed).
  std::vector<std::string> feed(std::string_view bytes);
  /// At end of output: the unterminated last line, if any, handled like the others.
  std::vector<std::string> finish();

  /// MOSH CONNECT, once it arrived.
  const std::optional<connect_line>& connect() const { return connect_; }
  /// The address our ProxyCommand reported (`MOSH IP`).
  const std::optional<std::string>& proxy_ip() const { return proxy_ip_; }
  /// `MOSH2 DETACHED <labels>` from mosh2-server new: this user's detached sessions.
  const std::optional<std::string>& detached() const { return detached_; }
  /// `MOSH2 RELAY-END <token>` from mosh2-server new --relay-end: what ends the relays.
  const std::optional<std::string>& relay_end() const { return relay_end_; }
  /// The server's address from `MOSH SSH_CONNECTION client port server port`.
  const std::optional<std::string>& ssh_connection_ip() const { return ssh_connection_ip_; }
  /// A protocol violation (one line), e.g. `MOSH IP` twice.
  const std::optional<std::string>& error() const { return error_; }
  /// True once nothing more is needed: MOSH CONNECT arrived or the output is bad.
  bool done() const { return connect_.has_value() || error_.has_value(); }
  /// True when any line was shown to the user.
  bool printed_anything() const { return printed_; }
  /// Bytes held for a line not yet complete (at most max_line).
  std::size_t buffered() const { return pending_.size(); }

private:
  void line(std::string text, std::vector<std::string>& shown);

  std::string pending_;
  std::size_t total_ = 0;  ///< bytes taken so far
  std::optional<connect_line> connect_;
  std::optional<std::string> proxy_ip_;
  std::optional<std::string> ssh_connection_ip_;
  std::optional<std::string> detached_;
  std::optional<std::string> relay_end_;
  std::optional<std::string> error_;
  bool printed_ = false;
};

/// How the bootstrap process (ssh, or the server itself with --local) ended without a
/// MOSH CONNECT line.
struct startup_failure {
  bool local = false;            ///< --local: the process was the server itself
  std::string host;              ///< where the server was meant to run
  std::string ssh;               ///< the ssh command, as typed
  std::string server;            ///< the server command, as typed or defaulted
  bool proxy_used = false;       ///< our ProxyCommand was asked for
  bool reached_host = false;     ///< it reported `MOSH IP`: ssh connected
  bool printed_anything = false; ///< some output was shown above
  bool timed_out = false;        ///< still running when the launcher gave up
  int timeout_seconds = 0;
  bool signalled = false;        ///< killed by a signal (`status` is its number)
  int status = 0;                ///< exit status, or the signal
  std::string check{};           ///< the ssh command to try by hand; empty: `ssh host`
};

/// The line shown before a new session for `labels` (as `MOSH2 DETACHED` gives them),
/// e.g. "2 detached sessions (work, 4121); mosh2 --attach host to resume one"; empty
/// for none.
std::string detached_notice(const std::string& labels, const std::string& host);

/// One line saying what went wrong and what to check, without the "mosh2: " prefix.
std::string describe(const startup_failure& f);

}  // namespace mosh2::launcher

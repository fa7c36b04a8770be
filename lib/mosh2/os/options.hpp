#pragma once
// Command lines of mosh2-server and mosh2-client, argv-compatible with mosh-server and
// mosh-client 1.4 (protocol §1.2, §1.5). Parsing is pure: it returns a value or a
// one-line error, and the program decides how to exit.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "mosh2/os/environment.hpp"
#include "mosh2/os/pty_process.hpp"
#include "mosh2/util/result.hpp"

namespace mosh2::os {

/// A UDP port or an inclusive range to search in ascending order.
struct port_range {
  std::uint16_t low = 60001;
  std::uint16_t high = 60999;
  bool operator==(const port_range&) const = default;
};

/// Parses `N` or `LOW:HIGH` with the stock validation rules; the error is one line.
result<port_range, std::string> parse_port_range(const std::string& text);

/// Lines of history the server keeps unless told otherwise, and at most.
inline constexpr std::size_t default_history_lines = 10000;
inline constexpr std::size_t max_history_lines = 1000000;
/// Parses --history's value: a decimal count from 0 to max_history_lines.
result<std::size_t, std::string> parse_history_lines(std::string_view text);

struct server_options {
  enum class bind_mode { any, ssh_connection, address };
  bind_mode bind = bind_mode::any;
  std::string bind_address;              ///< numeric address or interface name (-i)
  bool legacy_form = false;              ///< `mosh-server IP [PORT]`: the address was no -i
  port_range ports;                      ///< -p; default 60001-60999
  std::optional<int> colors;             ///< -c
  int verbosity = 0;                     ///< -v, repeatable
  std::vector<std::pair<std::string, std::string>> locale_vars;  ///< -l NAME=VALUE
  std::vector<std::string> command;      ///< after --; empty = login shell
  std::optional<std::chrono::seconds> idle_timeout;  ///< --idle-timeout DURATION, after new
  std::string name;                      ///< --name NAME, after new (empty: none)
  std::size_t history_lines = default_history_lines;  ///< --history LINES, after new; 0: off
  /// --relay-end, after new (the launcher's, with -J): print `MOSH2 RELAY-END <token>`
  /// before MOSH CONNECT and send the relays' end datagram when the session ends
  /// (os/relay_end.hpp).
  bool relay_end = false;
};

/// A session name (--name): 1 to 32 of A-Z a-z 0-9 . _ -, not starting with '-', and
/// not all digits (a number means a process id). The reason when it is not one.
std::optional<std::string> session_name_problem(std::string_view name);

/// `mosh2-server attach [ID|NAME]`.
struct attach_options {
  std::optional<std::string> which;  ///< a process id or a session name; nothing: the only detached one
};

/// The environment variable that sets how long a new server waits for its first client
/// (seconds; the launcher sets it, a stock mosh-server ignores it).
inline constexpr const char* first_contact_variable = "MOSH2_FIRST_CONTACT_TIMEOUT";

/// Set to 1 by the launcher in the environment of `mosh2-server new`: the server then
/// prints `MOSH2 DETACHED <labels>` before MOSH CONNECT when this user has detached
/// sessions (their names, or ids for those without one, comma-separated). A stock
/// mosh-server ignores it.
inline constexpr const char* report_detached_variable = "MOSH2_REPORT_DETACHED";
inline constexpr const char* detached_line_prefix = "MOSH2 DETACHED ";

/// The environment variable that caps the typed input a server holds for a program that
/// is not reading (bytes; see session/program_input.hpp). Smaller caps are for tests.
inline constexpr const char* input_limit_variable = "MOSH2_INPUT_LIMIT";
inline constexpr std::size_t min_input_limit = 64 * 1024;
inline constexpr std::size_t max_input_limit = std::size_t{1} << 30;

/// Parses a MOSH2_INPUT_LIMIT value: a number of bytes with an optional K, M or G
/// (powers of 1024), from min_input_limit to max_input_limit. The error is one line.
result<std::size_t, std::string> parse_input_limit(std::string_view text);

/// What mosh2-server takes from its environment, with a one-line warning for each value
/// it ignores (as the stock server: the variable is then as if unset).
struct server_environment {
  std::optional<std::chrono::seconds> network_timeout;  ///< MOSH_SERVER_NETWORK_TMOUT
  std::optional<std::chrono::seconds> signal_timeout;   ///< MOSH_SERVER_SIGNAL_TMOUT
  std::chrono::seconds first_contact{60};               ///< MOSH2_FIRST_CONTACT_TIMEOUT, else the stock 60 s
  std::size_t input_limit = 0;                          ///< MOSH2_INPUT_LIMIT, else `default_input_limit`
  std::vector<std::string> warnings;                    ///< each a line for stderr
};

/// Reads the server's variables through `env`. The timeouts are positive whole seconds
/// (0 or empty: unset); `default_input_limit` is the session's own default cap.
server_environment read_server_environment(const environment_lookup& env, std::size_t default_input_limit);

/// The session's program: the command after --, or else `login_shell` started as a login
/// shell (argv[0] "-NAME", with the message of the day); TERM from -c, the locale's
/// variables `locale_env`, and the variables it must not inherit removed (the key, STY,
/// and those meant for the server only). The window size is left to the caller.
pty_spec session_program(const server_options& opts, const std::string& login_shell,
                         const std::vector<std::pair<std::string, std::string>>& locale_env);

/// The variable that lets mosh2-client run without a terminal (the launcher sets it for
/// --allow-no-tty).
inline constexpr const char* client_allow_no_tty_variable = "MOSH2_ALLOW_NO_TTY";
/// How long mosh2-client waits for a first answer over UDP before it says what is wrong
/// (a duration such as `5s`), and the host ssh reached to start the server: both set by
/// the launcher (--udp-timeout, the destination).
inline constexpr const char* udp_timeout_variable = "MOSH2_UDP_TIMEOUT";
inline constexpr const char* ssh_host_variable = "MOSH2_SSH_HOST";
/// --transport (udp, tcp or auto), and the command that carries the byte-stream path: its
/// words separated by the ASCII unit separator (0x1f), so that an argv needs no quoting.
inline constexpr const char* transport_variable = "MOSH2_TRANSPORT";
inline constexpr const char* stream_command_variable = "MOSH2_STREAM_COMMAND";

/// `mosh2-server relay NEXT_ADDRESS NEXT_PORT [-i BIND] [-p PORT[:PORT2]]
/// [--idle-timeout DURATION] [--end-token-stdin] [-f]`.
struct relay_options {
  std::string next_address;
  std::uint16_t next_port = 0;
  std::optional<std::string> bind;  ///< unset: the server side of $SSH_CONNECTION, else 127.0.0.1
  std::uint16_t port_low = 60001, port_high = 60999;
  std::chrono::seconds idle_timeout{120};
  bool foreground = false;  ///< -f: do not detach
  /// --end-token-stdin: the first line of standard input is the session's end token (not
  /// argv, which other users of the jump host can read).
  bool end_token_stdin = false;
};
result<relay_options, std::string> parse_relay_args(const std::vector<std::string>& args);

/// The argv in MOSH2_STREAM_COMMAND (no empty command, no empty first word).
result<std::vector<std::string>, std::string> parse_stream_command(const std::string& json);
/// The text of `argv` for MOSH2_STREAM_COMMAND; nothing when a word holds the separator.
std::optional<std::string> stream_command_text(const std::vector<std::string>& argv);

/// Why mosh2-client must not start a session, or nothing. Without a terminal on standard
/// input and output it would draw into a file and end the session at the end of its
/// input, so it refuses, unless MOSH2_ALLOW_NO_TTY is set to 1 (asked for explicitly).
std::optional<std::string> client_terminal_refusal(bool stdin_is_terminal, bool stdout_is_terminal,
                                                   const environment_lookup& env);

struct show_help {};
struct show_version {};

/// Parses mosh-server's argv (argv[0] excluded): `new [options] [-- command...]`, or
/// the legacy forms `[IP [PORT]]`. Errors are one line, for "mosh2-server: <error>".
result<std::variant<server_options, show_help, show_version>, std::string>
parse_server_args(const std::vector<std::string>& args);

/// Parses the words after `attach`; a bad command line is a one-line error (exit 2).
result<std::variant<attach_options, show_help>, std::string> parse_attach_args(const std::vector<std::string>& args);

struct client_options {
  std::string host;   ///< numeric IPv4 or IPv6 address
  std::uint16_t port = 0;
  int verbosity = 0;
  bool print_colors = false;  ///< -c: print the terminal's colour count and exit
  bool history = true;        ///< false with --no-history: the history is not asked for
};

/// Parses mosh-client's argv: `[-v] [-# ANY] IP PORT` or `-c`.
result<std::variant<client_options, show_help, show_version>, std::string>
parse_client_args(const std::vector<std::string>& args);

}  // namespace mosh2::os

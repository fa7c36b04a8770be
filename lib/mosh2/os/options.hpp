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

struct server_options {
  enum class bind_mode { any, ssh_connection, address };
  bind_mode bind = bind_mode::any;
  std::string bind_address;              ///< numeric address or interface name (-i)
  port_range ports;                      ///< -p; default 60001-60999
  std::optional<int> colors;             ///< -c
  int verbosity = 0;                     ///< -v, repeatable
  std::vector<std::pair<std::string, std::string>> locale_vars;  ///< -l NAME=VALUE
  std::vector<std::string> command;      ///< after --; empty = login shell
  std::optional<std::chrono::seconds> idle_timeout;  ///< --idle-timeout DURATION (issue 12)
};

/// The environment variable that sets how long a new server waits for its first client
/// (seconds; the launcher sets it, a stock mosh-server ignores it).
inline constexpr const char* first_contact_variable = "MOSH2_FIRST_CONTACT_TIMEOUT";

/// The environment variable that caps the typed input a server holds for a program that
/// is not reading (bytes; see session/program_input.hpp). Smaller caps are for tests.
inline constexpr const char* input_limit_variable = "MOSH2_INPUT_LIMIT";
inline constexpr std::size_t min_input_limit = 64 * 1024;
inline constexpr std::size_t max_input_limit = std::size_t{1} << 30;

/// Parses a MOSH2_INPUT_LIMIT value: a number of bytes with an optional K, M or G
/// (powers of 1024), from min_input_limit to max_input_limit. The error is one line.
result<std::size_t, std::string> parse_input_limit(std::string_view text);

struct show_help {};
struct show_version {};

/// Parses mosh-server's argv (argv[0] excluded): `new [options] [-- command...]`, or
/// the legacy forms `[IP [PORT]]`. Errors are one line, for "mosh2-server: <error>".
result<std::variant<server_options, show_help, show_version>, std::string>
parse_server_args(const std::vector<std::string>& args);

struct client_options {
  std::string host;   ///< numeric IPv4 or IPv6 address
  std::uint16_t port = 0;
  int verbosity = 0;
  bool print_colors = false;  ///< -c: print the terminal's colour count and exit
};

/// Parses mosh-client's argv: `[-v] [-# ANY] IP PORT` or `-c`.
result<std::variant<client_options, show_help, show_version>, std::string>
parse_client_args(const std::vector<std::string>& args);

}  // namespace mosh2::os

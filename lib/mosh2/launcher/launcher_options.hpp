#pragma once
// Command line of the mosh2 launcher, compatible with the stock `mosh` wrapper 1.4
// (protocol §1.1, §1.6). Parsing is pure: it returns a value or a one-line error.

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "mosh2/os/options.hpp"
#include "mosh2/util/result.hpp"

namespace mosh2::launcher {

using os::show_help;
using os::show_version;

/// Which addresses of the host the launcher tries, in what order (--family, -4, -6).
enum class address_family { inet, inet6, auto_detect, all, prefer_inet, prefer_inet6 };

/// How the client learns the server's address (--experimental-remote-ip).
enum class remote_ip_mode {
  proxy,   ///< our own ProxyCommand reports the address ssh connected to (default)
  local,   ///< resolve the host here; ssh and the client both use that address
  remote,  ///< the server's side of $SSH_CONNECTION, printed by the remote shell
};

struct launcher_options {
  std::string client;                          ///< --client; empty = next to mosh2, then PATH
  std::optional<std::string> server;           ///< --server; unset = mosh2-server
  std::vector<std::string> ssh{"ssh"};         ///< --ssh, split into words
  bool ssh_pty = true;                         ///< --[no-]ssh-pty
  std::optional<std::string> predict;          ///< --predict, -a, -n
  bool predict_overwrite = false;              ///< -o, --[no-]predict-overwrite
  std::optional<std::string> ports;            ///< -p, --port (validated, passed on as typed)
  enum class bind_mode { ssh, any, address };
  bind_mode bind = bind_mode::ssh;             ///< --bind-server
  bool bind_set = false;                       ///< --bind-server was given
  std::string bind_address;                    ///< --bind-server=IP
  address_family family = address_family::prefer_inet;
  remote_ip_mode remote_ip = remote_ip_mode::proxy;  ///< --experimental-remote-ip
  std::optional<std::string> idle_timeout;     ///< --idle-timeout (validated, passed on as typed)
  bool attach = false;                         ///< --attach[=ID|NAME]: resume a running session
  std::optional<std::string> attach_to;        ///< --attach=ID|NAME (else the only detached one)
  std::string name;                            ///< --name NAME for a new session
  bool detached_notice = true;                 ///< --no-detached-notice turns it off
  std::optional<std::string> history;          ///< --history LINES (validated, passed on as typed)
  bool no_history = false;                     ///< --no-history: the client does not ask for it
  std::optional<std::string> udp_timeout;      ///< --udp-timeout (validated, for the client's advice)
  std::string transport = "auto";              ///< --transport: udp, tcp or auto (the stream through ssh)
  std::vector<std::string> jumps;              ///< -J, --jump: [user@]host[:port], in order
  bool no_init = false;                        ///< --no-init
  bool local = false;                          ///< --local
  bool allow_no_tty = false;                   ///< --allow-no-tty: run even without a terminal
  bool fake_proxy = false;                     ///< --fake-proxy (internal: ssh's ProxyCommand)
  std::string host;                            ///< [user@]host (--fake-proxy: the host name)
  std::string proxy_port;                      ///< --fake-proxy: the TCP port
  std::vector<std::string> command;            ///< after the host (and an optional --)
  std::vector<std::string> original_args;      ///< argv as given, for the client's `-#`
};

/// Splits a command such as `ssh -p 2222 -F "my config"` into words: blanks separate,
/// single and double quotes group, a backslash escapes the next character.
result<std::vector<std::string>, std::string> split_command(const std::string& text);

/// The words --predict accepts (also the values of MOSH_PREDICTION_DISPLAY).
bool valid_prediction_mode(const std::string& mode);

/// The word --family takes for `f` (what the launcher passes to its own ProxyCommand).
const char* family_word(address_family f);

/// Checks `[user@]host` against the characters OpenSSH accepts in a user or host name
/// on its command line (letters, digits and `._:%@[]-`, not starting with `-`), so that
/// nothing else reaches ssh, a ProxyCommand's `%h` or a remote shell. Returns an error.
std::optional<std::string> check_destination(const std::string& destination);

/// Parses the launcher's argv (argv[0] excluded): `[options] [--] [user@]host
/// [options] [--] [command...]`. Options after the host end at `--` or at the first
/// word that is not an option, which starts the command; a `--` before the host ends
/// all options. With --local the host is a numeric address, optional when the options
/// end with `--` (`--local -- top`: the command is top). Errors are one line.
result<std::variant<launcher_options, show_help, show_version>, std::string>
parse_launcher_args(const std::vector<std::string>& args);

}  // namespace mosh2::launcher

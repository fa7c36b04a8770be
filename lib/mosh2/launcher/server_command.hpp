#pragma once
// What the launcher runs to start the server: the server's arguments (as the stock
// `mosh` wrapper 1.4 passes them), and the ssh command line around them, or the local
// command for --local. Pure: the caller gathers the environment and paths.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mosh2/launcher/launcher_options.hpp"

namespace mosh2::launcher {

/// How long a server started by the launcher waits for the client's first datagram
/// before it exits (the server's own default is 60 s). The client is exec'd right after
/// MOSH CONNECT (at most 5 s later, while ssh closes) and sends at once, retransmitting
/// every second or so; 20 s covers a slow start, and a client that never starts leaves
/// no server behind for long. Passed as MOSH2_FIRST_CONTACT_TIMEOUT, which a stock
/// mosh-server ignores.
inline constexpr std::chrono::seconds first_contact_window{20};

using os::first_contact_variable;
/// Set for `mosh2-server new` unless --no-detached-notice or --attach.
using os::report_detached_variable;

/// Quotes one word for a POSIX shell (and for csh and fish: single quotes, with `'`
/// written as `'\''`).
std::string shell_quote(const std::string& word);

/// The server's arguments: `new -c COLORS [-s | -i IP] [-p PORTS] [--idle-timeout D] [--history N]
/// [--name NAME] [-l NAME=VALUE]... [-- command...]`, or `attach [ID|NAME]` for --attach.
/// `locale` holds the locale variables set here, in order.
std::vector<std::string> server_arguments(const launcher_options& o, int colors,
                                          const std::vector<std::pair<std::string, std::string>>& locale);

/// The command line the remote shell runs: the server command as typed (default
/// mosh2-server), prefixed with `env MOSH2_FIRST_CONTACT_TIMEOUT=N` (and
/// MOSH2_REPORT_DETACHED=1 for a new session without --no-detached-notice), each argument
/// single-quoted; with --experimental-remote-ip=remote, preceded by a `sh -c` that
/// prints `MOSH SSH_CONNECTION <$SSH_CONNECTION>`.
std::string remote_command(const launcher_options& o, const std::vector<std::string>& server_args);

/// ssh's argv for the bootstrap. `self` is this program's path (for the ProxyCommand,
/// used with --experimental-remote-ip=proxy); `destination` is `[user@]host`, with the
/// host already replaced by its address for --experimental-remote-ip=local. ssh reads
/// no standard input (-n) unless `with_input` (the relays' end token goes that way).
std::vector<std::string> ssh_argv(const launcher_options& o, const std::string& self,
                                  const std::string& destination, const std::string& remote,
                                  bool with_input = false);

/// ssh's argv for the byte-stream path: `ssh -T -o BatchMode=yes [-4|-6] DESTINATION --
/// SERVER stream-relay PORT [ADDRESS]` (ADDRESS only with --bind-server=IP; otherwise the
/// relay finds the server's address in $SSH_CONNECTION, as `new -s` does).
std::vector<std::string> stream_ssh_argv(const launcher_options& o, const std::string& destination,
                                         const std::string& port);

/// Whether `server` (the --server command) is mosh2-server: only it has stream-relay
/// and relay. A stock mosh-server takes those words for a new session's arguments and
/// starts one, so it must never be given them.
bool names_mosh2_server(const std::string& server);

/// The ProxyJump that `ssh -G HOST` printed (its `proxyjump VALUE` line), unless none.
std::optional<std::string> proxy_jump_of(std::string_view ssh_g_output);

/// The ssh command a user can run by hand to check what the bootstrap's ssh did: the
/// --ssh words (quoted where a shell needs it), -4 or -6 for --family=inet or inet6
/// (which our ProxyCommand applies), and the destination ssh was given, user included.
std::string ssh_check_command(const launcher_options& o, const std::string& destination);

/// `word`, single-quoted only if a POSIX shell would otherwise split or expand it.
std::string shell_word(const std::string& word);

/// The part of `[user@]host` after the last `@`.
std::string host_part(const std::string& destination);

/// `[user@]` of `destination` followed by `address`.
std::string with_host(const std::string& destination, const std::string& address);

}  // namespace mosh2::launcher

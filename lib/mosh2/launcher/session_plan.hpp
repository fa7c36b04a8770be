#pragma once
// The launcher's decisions between its command line and the processes it starts: the
// prediction mode, the locale it passes on, what the bootstrap child and the client get
// in their environment, which address the client uses, and how a failed start is
// described. Pure: the environment comes in as a lookup, the results are data that
// tools/mosh2.cpp carries out through os/process.

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "mosh2/launcher/launcher_options.hpp"
#include "mosh2/launcher/startup_output.hpp"
#include "mosh2/os/environment.hpp"
#include "mosh2/os/options.hpp"
#include "mosh2/os/process.hpp"
#include "mosh2/util/result.hpp"

namespace mosh2::launcher {


/// MOSH_PREDICTION_DISPLAY for the client: --predict beats the variable, which beats
/// adaptive. A bad value of the variable is a one-line error.
result<std::string, std::string> prediction_mode(const launcher_options& o, const os::environment_lookup& env);

/// The locale variables set here, in the order they are passed to the server with -l.
std::vector<std::pair<std::string, std::string>> locale_variables(const os::environment_lookup& env);

/// The server's argv for --local: the --server words (default `default_server`) and
/// `server_args`; or a one-line error for an empty or badly quoted --server.
result<std::vector<std::string>, std::string> local_server_argv(const launcher_options& o,
                                                                const std::string& default_server,
                                                                const std::vector<std::string>& server_args);

/// What the bootstrap child (ssh, or the server with --local) changes before it runs.
/// The prediction mode is the client's business; --local has no ssh connection and a
/// short first-contact window, and starts in `home`; ssh runs the ProxyCommand with
/// $SHELL, which must be a POSIX shell.
os::child_setup bootstrap_setup(const launcher_options& o, const std::optional<std::string>& home);

/// The client's argv and environment.
struct client_launch {
  std::vector<std::string> argv;
  os::child_setup setup;
};

/// argv `client "-# <launcher args> |" IP PORT`, with MOSH_KEY, MOSH_PREDICTION_DISPLAY,
/// MOSH_CLIENT_PID and, as the options ask, MOSH_PREDICTION_OVERWRITE, MOSH_NO_TERM_INIT
/// and MOSH2_ALLOW_NO_TTY.
client_launch client_launch_for(const launcher_options& o, const std::string& client, const std::string& predict,
                                const std::string& ip, const connect_line& connect, long launcher_pid);

/// The address the client sends to: `known` (--local, --experimental-remote-ip=local),
/// the remote shell's $SSH_CONNECTION with remote mode, else our ProxyCommand's report;
/// or a one-line error saying which is missing.
result<std::string, std::string> server_address(const launcher_options& o, const std::optional<std::string>& known,
                                                const startup_reader& reader);

/// How the bootstrap ended, without MOSH CONNECT, for describe().
struct bootstrap_end {
  bool timed_out = false;
  int timeout_seconds = 0;
  bool signalled = false;
  int status = 0;  ///< exit status or signal number
};

/// The failure record for describe(): `server_name` as typed or defaulted, `destination`
/// as ssh was given it.
startup_failure failure_of(const launcher_options& o, const std::string& server_name, const std::string& destination,
                           const startup_reader& reader, const bootstrap_end& end);

}  // namespace mosh2::launcher

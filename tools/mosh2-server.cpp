// mosh2-server: argv-compatible with mosh-server 1.4. Binds a UDP port, prints
// "MOSH CONNECT <port> <key>", detaches, and serves one session. The command line and
// the environment are read by pure functions in os/options; failures are thrown as
// os::fatal_error and printed once, by main().

#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "mosh2/control/status_dir.hpp"
#include "mosh2/os/local_terminal.hpp"
#include "mosh2/os/locale_setup.hpp"
#include "mosh2/os/environment.hpp"
#include "mosh2/os/options.hpp"
#include "mosh2/os/process.hpp"
#include "mosh2/os/program_lookup.hpp"
#include "mosh2/session/attach.hpp"
#include "mosh2/os/stream_relay.hpp"
#include "mosh2/os/relay_end.hpp"
#include "mosh2/os/udp_relay.hpp"
#include "mosh2/session/server_session.hpp"
#include "mosh2/os/udp_socket.hpp"

namespace {

using namespace mosh2::os;
using namespace mosh2::session;

static_assert(mosh2::os::default_history_lines == mosh2::terminal::default_history_lines &&
              mosh2::os::max_history_lines == mosh2::terminal::max_history_lines);

constexpr const char* usage =
    "Usage: mosh2-server new [-s] [-v] [-i LOCALADDR|IFACE] [-p PORT[:PORT2]] [-c COLORS] [-l NAME=VALUE] "
    "[--idle-timeout DURATION] [--name NAME] [--history LINES] [--relay-end] [-- COMMAND...]\n"
    "       mosh2-server attach [ID|NAME]\n"
    "       mosh2-server stream-relay PORT [ADDRESS]\n"
    "       mosh2-server relay NEXT_ADDRESS NEXT_PORT [-i BIND] [-p PORT[:PORT2]] [--idle-timeout DURATION]\n"
    "                          [--end-token-stdin] [-f]\n"
    "  -s                 bind to the local address of the ssh connection (SSH_CONNECTION)\n"
    "  -i LOCALADDR|IFACE bind to this address, or to the first address of this interface\n"
    "  -p PORT[:PORT2]    UDP port or range (default 60001:60999; 0: the kernel chooses)\n"
    "  -c COLORS          colours of the client's terminal (256 gives TERM=xterm-256color)\n"
    "  -l NAME=VALUE      locale variable to try when this locale is not UTF-8 (repeatable)\n"
    "  --idle-timeout DURATION  end the session once the client has not been heard for DURATION (90s, 12h, 7d)\n"
    "  --name NAME        name the session (unique among your live sessions; letters, digits, . _ -)\n"
    "  --history LINES    lines of scrollback kept for a mosh2 client (default 10000, 0: none)\n"
    "  --relay-end        (for jump hosts) print MOSH2 RELAY-END TOKEN before MOSH CONNECT, and end the\n"
    "                     relays holding TOKEN when the session ends\n"
    "  -v                 verbose: stay attached and log session events to stderr\n"
    "  relay              forward the session's UDP between its client and NEXT_ADDRESS:NEXT_PORT (a jump\n"
    "                     host; binds the local address of $SSH_CONNECTION, prints MOSH RELAY PORT,\n"
    "                     detaches unless -f, ends after DURATION (default 2m) without a word from the next hop;\n"
    "                     --end-token-stdin: reads the session's end token from stdin and also ends with it)\n"
    "  stream-relay       bridge framed datagrams on stdin/stdout (ssh's) to UDP PORT on this host\n"
    "                     (ADDRESS, default the local address of $SSH_CONNECTION, else 127.0.0.1)\n"
    "  attach [ID|NAME]   hand one of your running sessions to a new client: rotates its key and prints\n"
    "                     MOSH CONNECT like new (without ID or NAME: the only detached session)\n"
    "  -h, --help         this message\n"
    "  --version          version and licence\n";

void warn(const std::string& line) { std::fprintf(stderr, "mosh2-server: %s\n", line.c_str()); }

void print_version(std::FILE* to) {
  std::fprintf(to,
               "mosh2-server (mosh2 %s), wire-compatible with mosh 1.4\n"
               "Copyright 2026 the mosh2 developers. License MIT.\n",
               MOSH2_VERSION);
}

/// The address `-i` (or the old form's first word) names, or nothing for "bind to any
/// address". A word that is neither an address nor an interface of this machine is a
/// typo, not a network problem: a bad command line (exit 2). An interface without a
/// usable address falls back to the wildcard.
std::optional<asio::ip::address> bind_address(const server_options& opts) {
  if (opts.bind == server_options::bind_mode::address) {
    if (auto a = resolve_bind_address(opts.bind_address)) return a;
    if (!is_interface_name(opts.bind_address)) {
      if (opts.legacy_form)
        throw fatal_error(2, fmt::format("\"{}\" is neither \"new\" nor an IP address or a network interface of "
                                         "this machine (see mosh2-server --help)",
                                         opts.bind_address));
      throw fatal_error(2, fmt::format("-i {}: not an IP address or a network interface of this machine "
                                       "(see mosh2-server --help)",
                                       opts.bind_address));
    }
    warn(fmt::format("interface {} has no usable address; binding to any address", opts.bind_address));
    return std::nullopt;
  }
  if (opts.bind == server_options::bind_mode::ssh_connection) {
    if (auto a = ssh_connection_address()) return a;
    warn("no usable SSH_CONNECTION; binding to any address");
  }
  return std::nullopt;
}

/// The directory the session's program starts in: $HOME when the child can enter it.
std::string session_directory() {
  if (const auto home = process_environment()("HOME"); home && ::access(home->c_str(), X_OK) == 0) return *home;
  return current_directory();
}

/// `attach [ID|NAME]`: finds the session, rotates its key, prints MOSH CONNECT.
int attach(const attach_options& opts) {
  const auto dirs = mosh2::control::status_directories();
  if (dirs.empty()) {
    warn("status files are off (MOSH2_STATUS_DIR is empty), so no session can be found");
    return 1;
  }
  const auto servers = find_servers(dirs);
  auto chosen = choose_session(servers, opts.which);
  if (!chosen) {
    const auto& why = chosen.error();
    if (why.text.find('\n') == std::string::npos) warn(why.text);
    else std::fprintf(stderr, "mosh2-server: %s", why.text.c_str());
    return why.status;
  }
  auto handed = attach_to(servers[*chosen]);
  if (!handed) {
    warn(handed.error());
    return 1;
  }
  if (::isatty(STDIN_FILENO)) std::fputs("\r\n", stdout);
  std::printf("MOSH CONNECT %u %s\n", handed->port, handed->key.c_str());
  std::fflush(stdout);
  std::fprintf(stderr, "\n[mosh2-server attached session %d]\n", static_cast<int>(servers[*chosen].view.pid));
  return 0;
}

int serve(const server_options& opts) {
  // Names are unique among the live sessions, and the launcher may ask what is detached.
  const bool report = process_environment()(report_detached_variable) == "1";
  if (!opts.name.empty() || report) {
    const auto servers = find_servers(mosh2::control::status_directories());
    if (const auto pid = name_taken(servers, opts.name))
      throw fatal_error(2, fmt::format("a session named {} is already running (id {}); mosh2-server attach {} "
                                       "resumes it",
                                       opts.name, *pid, opts.name));
    if (const auto labels = detached_labels(servers); report && !labels.empty())
      std::printf("%s%s\n", detached_line_prefix, labels.c_str());
  }
  auto locale = choose_utf8_locale(opts.locale_vars);
  if (locale.fell_back) warn(locale.note);

  const auto size = query_window_size(STDIN_FILENO).value_or(window_size{80, 24});
  const auto bind_to = bind_address(opts);

  asio::io_context ctx;
  std::string note;
  asio::ip::udp::socket socket = bind_server_socket(ctx, bind_to, opts.ports, note);
  if (!note.empty()) warn(note);

  const auto env = read_server_environment(process_environment(), program_input_cap);
  for (const auto& w : env.warnings) std::fprintf(stderr, "%s\n", w.c_str());
  server_config config{.core = server_core_config(mosh2::crypto::session_key::generate()),
                       .program = {},
                       .verbosity = opts.verbosity,
                       .end_datagram = std::nullopt};
  config.core.width = size.width;
  config.core.height = size.height;
  config.core.network_timeout = env.network_timeout;
  config.core.signal_timeout = env.signal_timeout;
  // The stock server's 60 s, unless the launcher asks for less so that a client that
  // never starts leaves no server behind.
  config.core.first_contact_limit = env.first_contact;
  config.core.idle_timeout = opts.idle_timeout;
  config.core.history_lines = opts.history_lines;
  config.core.program_input_cap = env.input_limit;
  config.core.name = opts.name;
  config.program = session_program(opts, opts.command.empty() ? login_shell() : std::string(), locale.child_env);
  // Find the program now, as the child's execvp will (same PATH, from $HOME), so that a
  // typo is reported here instead of a session that ends before anyone sees why.
  auto program = find_program(config.program.argv[0], process_environment()("PATH"), session_directory());
  if (!program) throw fatal_error(1, cannot_run_message(config.program.argv[0], program.error()));
  config.program.width = size.width;
  config.program.height = size.height;

  if (::isatty(STDIN_FILENO)) std::fputs("\r\n", stdout);
  if (opts.relay_end) {
    const auto token = relay_end_token::generate();
    std::printf("%s%s\n", std::string(relay_end_line_prefix).c_str(), token.text().c_str());
    config.end_datagram = token.datagram();
  }
  std::printf("MOSH CONNECT %u %s\n", socket.local_endpoint().port(), config.core.key.to_string().c_str());
  std::fflush(stdout);

  std::signal(SIGHUP, SIG_IGN);
  std::signal(SIGPIPE, SIG_IGN);
  ctx.notify_fork(asio::io_context::fork_prepare);
  const pid_t pid = ::fork();
  if (pid < 0) {
    std::perror("mosh2-server: fork");
    return 1;
  }
  if (pid > 0) {
    ctx.notify_fork(asio::io_context::fork_parent);
    std::fputs("\n", stderr);
    print_version(stderr);
    std::fprintf(stderr, "\n[mosh-server detached, pid = %d]\n", static_cast<int>(pid));
    return 0;
  }
  ctx.notify_fork(asio::io_context::fork_child);
  ::setsid();  // leave the ssh session's terminal behind
  if (opts.verbosity == 0) {
    int null = ::open("/dev/null", O_RDWR);
    if (null >= 0) {
      ::dup2(null, STDIN_FILENO);
      ::dup2(null, STDOUT_FILENO);
      ::dup2(null, STDERR_FILENO);
      if (null > STDERR_FILENO) ::close(null);
    }
  }
  const int status = run_server_session(ctx, std::move(socket), std::move(config));
  std::puts("[mosh-server is exiting.]");
  return status;
}

}  // namespace

/// `stream-relay PORT [ADDRESS]`: the host's end of the client's byte-stream path.
int stream_relay(const std::vector<std::string>& args) {
  if (args.size() < 2 || args.size() > 3) {
    std::fputs("mosh2-server: stream-relay needs PORT [ADDRESS] (see mosh2-server --help)\n", stderr);
    return 2;
  }
  char* end = nullptr;
  const long port = std::strtol(args[1].c_str(), &end, 10);
  if (args[1].empty() || *end != '\0' || port < 1 || port > 65535) {
    std::fprintf(stderr, "mosh2-server: stream-relay: bad port \"%s\" (see mosh2-server --help)\n", args[1].c_str());
    return 2;
  }
  const auto env = process_environment();
  const auto target = stream_relay_target(args.size() == 3 ? std::optional(args[2]) : std::nullopt,
                                          env("SSH_CONNECTION"));
  auto r = run_stream_relay(STDIN_FILENO, STDOUT_FILENO, target, static_cast<std::uint16_t>(port));
  if (!r) {
    warn(r.error());
    return 1;
  }
  return *r;
}

/// `relay NEXT_ADDRESS NEXT_PORT ...`: a UDP forwarder for a client behind this jump host.
int relay(const std::vector<std::string>& args) {
  auto o = parse_relay_args(args);
  if (!o) {
    std::fprintf(stderr, "mosh2-server: %s (see mosh2-server --help)\n", o.error().c_str());
    return 2;
  }
  relay_config c;
  if (o->bind) c.bind_address = *o->bind;
  else if (auto ssh = ssh_connection_address()) c.bind_address = ssh->to_string();
  else c.bind_address = "127.0.0.1";
  c.port_low = o->port_low;
  c.port_high = o->port_high;
  c.next_address = o->next_address;
  c.next_port = o->next_port;
  c.idle_timeout = o->idle_timeout;
  if (o->end_token_stdin) {
    auto token = read_end_token(STDIN_FILENO, std::chrono::seconds(10));
    if (!token) {
      warn(token.error());
      return 2;
    }
    c.end_token = *token;
  }
  auto bound = bind_relay(c);
  if (!bound) {
    warn(bound.error());
    return 1;
  }
  c.status_dirs = mosh2::control::status_directories();
  // Said now, while the launcher still reads this: the detached relay has no stderr.
  if (!c.status_dirs.empty())
    if (auto dir = mosh2::control::choose_status_directory(c.status_dirs, ::getpid()); !dir)
      warn(fmt::format("relay: no status file ({}); forwarding all the same", dir.error()));
  std::printf("MOSH RELAY %u\n", static_cast<unsigned>(bound->port));
  std::fflush(stdout);
  if (!o->foreground) {
    const pid_t pid = ::fork();
    if (pid < 0) {
      std::perror("mosh2-server: fork");
      return 1;
    }
    if (pid > 0) return 0;
    ::setsid();
    const int null = ::open("/dev/null", O_RDWR);
    if (null >= 0) {
      ::dup2(null, STDIN_FILENO);
      ::dup2(null, STDOUT_FILENO);
      ::dup2(null, STDERR_FILENO);
    }
  }
  auto r = run_relay(c, *bound);
  if (!r) {
    warn(r.error());
    return 1;
  }
  return *r;
}

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty() && args[0] == "stream-relay") return stream_relay(args);
  if (!args.empty() && args[0] == "relay") return relay(args);
  if (!args.empty() && args[0] == "attach") {
    auto a = parse_attach_args(std::vector<std::string>(args.begin() + 1, args.end()));
    if (!a) {
      std::fprintf(stderr, "mosh2-server: %s (see mosh2-server --help)\n", a.error().c_str());
      return 2;
    }
    if (std::holds_alternative<show_help>(*a)) {
      std::fputs(usage, stdout);
      return 0;
    }
    try {
      return attach(std::get<attach_options>(*a));
    } catch (const std::exception& e) {
      warn(e.what());
      return 1;
    }
  }
  auto parsed = parse_server_args(args);
  if (!parsed) {
    std::fprintf(stderr, "mosh2-server: %s (see mosh2-server --help)\n", parsed.error().c_str());
    return 2;
  }
  if (std::holds_alternative<show_help>(*parsed)) {
    std::fputs(usage, stdout);
    return 0;
  }
  if (std::holds_alternative<show_version>(*parsed)) {
    print_version(stdout);
    return 0;
  }
  try {
    return serve(std::get<server_options>(*parsed));
  } catch (const fatal_error& e) {
    warn(e.what());
    return e.status;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mosh2-server: %s\n", e.what());
    return 1;
  }
}

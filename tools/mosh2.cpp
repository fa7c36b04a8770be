// mosh2: the launcher, a drop-in for the stock `mosh` wrapper's core job. Runs
// mosh2-server on the host over the user's ssh (or locally with --local), reads
// "MOSH CONNECT <port> <key>" from its output, and becomes mosh2-client with the key
// in its environment. The server's address is what ssh connected to: ssh runs this
// program as its ProxyCommand (--fake-proxy), which resolves the host, connects, prints
// "MOSH IP <address>" on stderr and then relays the TCP stream.
//
// What the launcher decides is pure and tested in lib/mosh2/launcher/; the processes,
// names and sockets are lib/mosh2/os/. This file puts them in order: parse, plan, start
// the server, read its startup lines, become the client. Failures are thrown as
// os::fatal_error and printed once, by main().

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "mosh2/launcher/address_choice.hpp"
#include "mosh2/launcher/launcher_options.hpp"
#include "mosh2/launcher/server_command.hpp"
#include "mosh2/launcher/session_plan.hpp"
#include "mosh2/launcher/startup_output.hpp"
#include "mosh2/os/environment.hpp"
#include "mosh2/os/line_end.hpp"
#include "mosh2/os/name_resolution.hpp"
#include "mosh2/os/process.hpp"
#include "mosh2/os/program_lookup.hpp"
#include "mosh2/os/tcp_relay.hpp"

namespace {

using namespace mosh2::launcher;
using mosh2::os::fatal_error;
using clock_type = std::chrono::steady_clock;

constexpr const char* usage =
    "Usage: mosh2 [options] [--] [user@]host [options] [--] [command...]\n"
    "       mosh2 --local [options] [ADDRESS] [--] [command...]\n"
    "        --client=PATH        mosh client on this machine (default: mosh2-client)\n"
    "        --server=COMMAND     mosh server on the host (default: mosh2-server)\n"
    "        --ssh=COMMAND        ssh command for the bootstrap (default: ssh)\n"
    "        --ssh-pty            ask ssh for a pseudo-terminal (the default)\n"
    "        --no-ssh-pty         do not ask ssh for a pseudo-terminal\n"
    "        --predict=adaptive|always|never|experimental   local echo (default: adaptive)\n"
    "-a      --predict=always     -n  --predict=never\n"
    "-o      --predict-overwrite  predictions overwrite instead of inserting\n"
    "        --no-predict-overwrite   predictions insert (the default)\n"
    "-4      --family=inet        -6  --family=inet6\n"
    "        --family=auto|all|prefer-inet|prefer-inet6   (default: prefer-inet)\n"
    "-p PORT[:PORT2]  --port=PORT[:PORT2]   server-side UDP port or range\n"
    "        --bind-server={ssh|any|IP}     address the server replies from (default: ssh)\n"
    "        --experimental-remote-ip={proxy|local|remote}   how the server's address is learned\n"
    "        --idle-timeout=DURATION   the server ends the session once the client has been\n"
    "                             gone that long (90s, 12h, 7d; needs mosh2-server)\n"
    "        --attach[=ID|NAME]   resume a running session of yours on the host (without ID or\n"
    "                             NAME: the only detached one); its old client is told and exits\n"
    "        --name=NAME          name the new session (unique among your live sessions)\n"
    "        --no-detached-notice do not say that the host has detached sessions of yours\n"
    "        --history=LINES      lines of scrollback the server keeps for the client\n"
    "                             (default 10000, 0: none; needs mosh2-server)\n"
    "        --no-history         the client does not ask for the server's scrollback\n"
    "-J [user@]host[:port]  --jump=...   reach the host through this jump host: ssh -J, and\n"
    "                             mosh2-server relay there carries the UDP datagrams\n"
    "        --udp-timeout=DURATION   say what is wrong when UDP gets no answer that long\n"
    "                             from the start (default: 5s)\n"
    "        --transport=udp|tcp|auto   udp only; tcp: through ssh from the start; auto (the\n"
    "                             default): through ssh when UDP gets no answer, back when it does\n"
    "        --no-init            do not send the terminal initialisation string\n"
    "        --local              run the server on this machine without ssh (default 127.0.0.1)\n"
    "        --allow-no-tty       run even when standard input or output is not a terminal\n"
    "-h      --help               this message\n"
    "        --version            version and licence\n";

constexpr auto connect_timeout = std::chrono::seconds(120);

/// Writes `text` as one line on stderr, ending it as the terminal there needs.
void print_line(const std::string& text) {
  const auto end = mosh2::os::line_end_of(STDERR_FILENO);
  std::fprintf(stderr, "%s%.*s", text.c_str(), static_cast<int>(end.size()), end.data());
}

/// Checks that execvp will find `program` here.
void require_program(const std::string& program, const char* option) {
  const auto env = mosh2::os::process_environment();
  auto found = mosh2::os::find_program(program, env("PATH"), mosh2::os::current_directory());
  if (!found)
    throw fatal_error(1, fmt::format("{} (see {})", mosh2::os::cannot_run_message(program, found.error()), option));
}

/// The host's addresses in the order --family asks for.
std::vector<mosh2::os::resolved_address> resolve(const std::string& host, const std::string& port,
                                                 address_family family) {
  auto found = mosh2::os::resolve_stream(host, port, resolver_family(family));
  if (!found) throw fatal_error(1, found.error());
  auto ordered = order_addresses(std::move(*found), family, host);
  if (!ordered) throw fatal_error(1, ordered.error());
  return std::move(*ordered);
}

// ---- --fake-proxy: ssh's ProxyCommand ----

int run_proxy(const launcher_options& o) {
  auto connection = mosh2::os::connect_first(resolve(o.host, o.proxy_port, o.family));
  if (!connection)
    throw fatal_error(1, fmt::format("could not connect to {} port {}: {}", o.host, o.proxy_port,
                                     std::strerror(connection.error())));
  std::fprintf(stderr, "MOSH IP %s\n", connection->numeric.c_str());
  std::fflush(stderr);
  return mosh2::os::relay(STDIN_FILENO, STDOUT_FILENO, connection->fd);
}

// ---- the launcher ----

/// Everything decided and checked before anything starts.
struct session_plan {
  std::string predict;                   ///< MOSH_PREDICTION_DISPLAY for the client
  std::string client;                    ///< the client program
  std::vector<std::string> server_argv;  ///< ssh ... or the local server's command
  std::string server_name;               ///< the server command, for messages
  std::string destination;               ///< what ssh was given as [user@]host
  std::optional<std::string> server_ip;  ///< known before the start (--local, remote-ip=local)
};

/// The colour count of the local terminal, as `<client> -c` reports it; the client's
/// own message when it cannot tell (an unknown TERM), as the stock wrapper does.
int terminal_colors(const std::string& client) {
  mosh2::os::child_process c = mosh2::os::spawn_with_output({client, "-c"}, {});
  std::string out = mosh2::os::read_output(c.output, 16 * 1024);
  ::close(c.output);
  const int status = mosh2::os::wait_for(c.pid);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw fatal_error(1, out.empty() ? fmt::format("{} -c failed", client) : out);
  return std::max(0, std::atoi(out.c_str()));  // terminfo says -1 for "no colours"
}

/// Step 1: read the environment, check the terminal, the client and the address, and
/// build the server's command line. Nothing has started yet.
session_plan plan_session(const launcher_options& o) {
  const auto env = mosh2::os::process_environment();
  session_plan plan;
  auto predict = prediction_mode(o, env);
  if (!predict) throw fatal_error(2, predict.error());
  plan.predict = *predict;

  if (!o.allow_no_tty && (!::isatty(STDIN_FILENO) || !::isatty(STDOUT_FILENO)))
    throw fatal_error(1, "standard input and output must be a terminal (--allow-no-tty runs the session anyway)");
  if (o.local && !mosh2::os::is_local_address(o.host))
    throw fatal_error(2, fmt::format("--local needs an address of this machine, and {} is not one (try 127.0.0.1)",
                                     o.host));

  plan.client = o.client.empty() ? mosh2::os::beside_self("mosh2-client") : o.client;
  require_program(plan.client, "--client");
  const auto server_args = server_arguments(o, terminal_colors(plan.client), locale_variables(env));
  plan.server_name = o.server.value_or("mosh2-server");

  if (o.local) {
    auto argv = local_server_argv(o, mosh2::os::beside_self("mosh2-server"), server_args);
    if (!argv) throw fatal_error(2, argv.error());
    require_program(argv->front(), "--server");
    plan.server_argv = std::move(*argv);
    plan.server_ip = o.host;
    return plan;
  }
  plan.destination = o.host;
  if (o.remote_ip == remote_ip_mode::local) {
    // Resolve here, and let ssh and the client use the same address.
    plan.server_ip = resolve(host_part(o.host), "22", o.family).front().numeric;
    plan.destination = with_host(o.host, *plan.server_ip);
  }
  const std::string self = mosh2::os::self_path();
  if (self.empty() && o.remote_ip == remote_ip_mode::proxy)
    throw fatal_error(1, "cannot find this program's own path (/proc/self/exe) for ssh's ProxyCommand");
  plan.server_argv = ssh_argv(o, self, plan.destination, remote_command(o, server_args));
  return plan;
}

/// Step 2: start the server, through ssh or (--local) here, with its output on a pipe.
mosh2::os::child_process start_server(const launcher_options& o, const session_plan& plan) {
  return mosh2::os::spawn_with_output(plan.server_argv, bootstrap_setup(o, mosh2::os::process_environment()("HOME")));
}

/// What the server's startup told: its address, MOSH CONNECT, and the relays' end token
/// (with -J).
struct server_start {
  std::string ip;
  connect_line connect;
  std::optional<std::string> relay_end;
};

/// Step 3: show what ssh and the server print until MOSH CONNECT; learn the server's
/// address. Without MOSH CONNECT, one line saying why.
server_start read_connect(const launcher_options& o, const session_plan& plan,
                                                  mosh2::os::child_process& server) {
  startup_reader reader;
  auto show = [](const std::vector<std::string>& lines) {
    for (const auto& l : lines) print_line(l);
  };
  const auto ended =
      mosh2::os::read_until(server.output, clock_type::now() + connect_timeout, [&](std::string_view bytes) {
        show(reader.feed(bytes));
        return !reader.done();
      });
  const bool eof = ended == mosh2::os::read_end::eof;
  if (!reader.done()) show(reader.finish());
  ::close(server.output);

  // ssh ends once the server has detached; wait for it a little, never forever.
  auto status = mosh2::os::reap_within(server.pid, 50, 100);
  if (reader.error()) throw fatal_error(1, *reader.error());
  if (!reader.connect()) {
    if (!status) {
      ::kill(server.pid, SIGTERM);
      status = mosh2::os::wait_for(server.pid);
    }
    bootstrap_end end;
    end.timed_out = !eof;
    end.timeout_seconds = static_cast<int>(connect_timeout.count());
    end.signalled = WIFSIGNALED(*status);
    end.status = end.signalled ? WTERMSIG(*status) : WEXITSTATUS(*status);
    throw fatal_error(1, describe(failure_of(o, plan.server_name, plan.destination, reader, end)));
  }
  if (o.detached_notice && reader.detached())
    if (const auto notice = detached_notice(*reader.detached(), o.host); !notice.empty()) print_line(notice);
  auto ip = server_address(o, plan.server_ip, reader);
  if (!ip) throw fatal_error(1, ip.error());
  return {*ip, *reader.connect(), reader.relay_end()};
}

/// Step 4: become the client; the key goes into its environment only.
[[noreturn]] void exec_client(const launcher_options& o, const session_plan& plan, const std::string& ip,
                              const connect_line& connect, const std::string& server_port) {
  auto launch = client_launch_for(o, plan.client, plan.predict, ip, connect, static_cast<long>(::getpid()));
  // Over ssh the session can fall back to a byte stream through a second ssh connection.
  if (!o.local && o.transport != "udp" && names_mosh2_server(plan.server_name))
    if (auto text = mosh2::os::stream_command_text(stream_ssh_argv(o, plan.destination, server_port)))
      launch.setup.set.emplace_back(mosh2::os::stream_command_variable, *text);
  const int e = mosh2::os::exec_program(launch.argv, launch.setup);
  ::unsetenv("MOSH_KEY");
  throw fatal_error(1, mosh2::os::cannot_run_message(plan.client, e));
}

/// With -J: starts `mosh2-server relay NEXT_IP NEXT_PORT` on jump host `k` over ssh and
/// returns the address the previous hop (the client, for the first jump) sends to and
/// the relay's port. The first jump's address is what our ProxyCommand connected to; a
/// later jump is reached through the ones before it (ssh -J), and its address is the
/// server's side of $SSH_CONNECTION there, which its relay binds. Failures: one line
/// naming the jump host.
std::pair<std::string, std::string> start_relay(const launcher_options& o, std::size_t k, const std::string& next_ip,
                                                const std::string& next_port,
                                                const std::optional<std::string>& end_token) {
  launcher_options jo = o;
  jo.ssh_pty = false;
  std::string jump = o.jumps[k];
  // [user@]host[:port]: ssh takes the port apart (an IPv6 jump needs brackets).
  const auto colon = jump.rfind(':');
  if (colon != std::string::npos && jump.find(']') == std::string::npos && jump.find(':') == colon) {
    jo.ssh.insert(jo.ssh.end(), {"-p", jump.substr(colon + 1)});
    jump.resize(colon);
  }
  std::string remote =
      fmt::format("{} relay {} {}", o.server.value_or("mosh2-server"), shell_quote(next_ip), shell_quote(next_port));
  // The token goes on ssh's standard input, never on a command line the jump host's
  // other users can read.
  if (end_token) remote += " --end-token-stdin";
  if (k == 0) {
    jo.remote_ip = remote_ip_mode::proxy;
  } else {
    jo.remote_ip = remote_ip_mode::remote;
    std::string before;
    for (std::size_t i = 0; i < k; ++i) before += (i ? "," : "") + o.jumps[i];
    jo.ssh.insert(jo.ssh.end(), {"-J", before});
    remote = shell_quote("sh") + " -c " +
             shell_quote(R"([ -n "$SSH_CONNECTION" ] && printf '\nMOSH SSH_CONNECTION %s\n' "$SSH_CONNECTION")") +
             " ; " + remote;
  }
  const std::string self = mosh2::os::self_path();
  auto setup = bootstrap_setup(o, mosh2::os::process_environment()("HOME"));
  if (end_token) setup.input = *end_token + "\n";
  mosh2::os::child_process relay =
      mosh2::os::spawn_with_output(ssh_argv(jo, self, jump, remote, end_token.has_value()), setup);
  std::string out;
  (void)mosh2::os::read_until(relay.output, clock_type::now() + connect_timeout, [&](std::string_view bytes) {
    out.append(bytes);
    const auto at = out.find("MOSH RELAY ");
    return at == std::string::npos || out.find('\n', at) == std::string::npos;
  });
  ::close(relay.output);
  auto status = mosh2::os::reap_within(relay.pid, 50, 100);
  if (!status) {
    ::kill(relay.pid, SIGTERM);
    status = mosh2::os::wait_for(relay.pid);
  }
  std::optional<std::string> jump_ip, relay_port;
  std::string last;
  std::size_t start = 0;
  while (start < out.size()) {
    auto end = out.find('\n', start);
    if (end == std::string::npos) end = out.size();
    std::string line = out.substr(start, end - start);
    while (!line.empty() && (line.back() == '\r')) line.pop_back();
    if (k == 0 && line.rfind("MOSH IP ", 0) == 0) {
      jump_ip = line.substr(8);
    } else if (k > 0 && line.rfind("MOSH SSH_CONNECTION ", 0) == 0) {
      std::istringstream words(line.substr(20));
      std::string client_ip, client_port, server_ip;
      if (words >> client_ip >> client_port >> server_ip) jump_ip = server_ip;
    } else if (line.rfind("MOSH RELAY ", 0) == 0) {
      relay_port = line.substr(11);
    } else if (!line.empty()) {
      last = line;
    }
    start = end + 1;
  }
  if (!relay_port || !jump_ip)
    throw fatal_error(1, fmt::format("could not start the relay on jump host {}: {}", o.jumps[k],
                                     last.empty() ? std::string("ssh gave no reason") : last));
  return {*jump_ip, *relay_port};
}

/// The ProxyJump ssh's configuration gives the host, as `ssh -G` reports it.
std::optional<std::string> configured_jump(const launcher_options& o) {
  std::vector<std::string> argv = o.ssh;
  argv.insert(argv.end(), {"-G", o.host});
  mosh2::os::child_process c = mosh2::os::spawn_with_output(argv, {});
  const std::string out = mosh2::os::read_output(c.output, 256 * 1024);
  ::close(c.output);
  const int status = mosh2::os::wait_for(c.pid);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return std::nullopt;  // the bootstrap will say why
  return proxy_jump_of(out);
}

int run_launcher(const launcher_options& given) {
  launcher_options o = given;
  if (o.jumps.empty() && !o.local && o.remote_ip == remote_ip_mode::proxy &&
      names_mosh2_server(o.server.value_or("mosh2-server")))
    if (auto jump = configured_jump(o)) {
      // Our ProxyCommand would replace the configured ProxyJump and go around the jump.
      auto parsed = parse_launcher_args({"-J", *jump, "h"});
      if (!parsed) throw fatal_error(2, fmt::format("the ProxyJump of {}: {}", o.host, parsed.error()));
      o.jumps = std::get<launcher_options>(*parsed).jumps;
    }
  if (!o.jumps.empty()) {
    if (o.local) throw fatal_error(2, "--local and -J do not go together");
    if (!names_mosh2_server(o.server.value_or("mosh2-server")))
      throw fatal_error(2, "-J needs mosh2-server on the jump host and the host (--server names it)");
    // The host is reached through the jump with ssh's own -J; its address as the jump sees
    // it is the server's side of $SSH_CONNECTION there.
    o.remote_ip = remote_ip_mode::remote;
    std::string all;
    for (const auto& j : o.jumps) all += (all.empty() ? "" : ",") + j;
    o.ssh.insert(o.ssh.end(), {"-J", all});
  }
  const session_plan plan = plan_session(o);
  mosh2::os::child_process server = start_server(o, plan);
  auto [ip, connect, relay_end] = read_connect(o, plan, server);
  const std::string server_port = connect.port;  // the stream's relay on the host goes straight to it
  if (!o.jumps.empty()) {
    launcher_options relay_options = given;
    relay_options.jumps = o.jumps;
    // From the last jump back to the first: each relay forwards to the next hop's.
    for (std::size_t k = o.jumps.size(); k-- > 0;) {
      auto [jump_ip, relay_port] = start_relay(relay_options, k, ip, connect.port, relay_end);
      ip = jump_ip;
      connect.port = relay_port;
    }
  }
  exec_client(o, plan, ip, connect, server_port);
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  auto parsed = parse_launcher_args(args);
  if (!parsed) {
    std::fprintf(stderr, "mosh2: %s (see mosh2 --help)\n", parsed.error().c_str());
    return 2;
  }
  if (std::holds_alternative<show_help>(*parsed)) {
    std::fputs(usage, stdout);
    return 0;
  }
  if (std::holds_alternative<show_version>(*parsed)) {
    std::printf("mosh2 %s, a launcher compatible with mosh 1.4\n"
                "Copyright 2026 the mosh2 developers. License MIT.\n",
                MOSH2_VERSION);
    return 0;
  }
  const auto& o = std::get<launcher_options>(*parsed);
  try {
    return o.fake_proxy ? run_proxy(o) : run_launcher(o);
  } catch (const fatal_error& e) {
    print_line(fmt::format("mosh2: {}", e.what()));
    return e.status;
  }
}

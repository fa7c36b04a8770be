// mosh2: the launcher, a drop-in for the stock `mosh` wrapper's core job. Runs
// mosh2-server on the host over the user's ssh (or locally with --local), reads
// "MOSH CONNECT <port> <key>" from its output, and becomes mosh2-client with the key
// in its environment. The server's address is what ssh connected to: ssh runs this
// program as its ProxyCommand (--fake-proxy), which resolves the host, connects, prints
// "MOSH IP <address>" on stderr and then relays the TCP stream.
//
// What the launcher builds and reads is pure and tested in lib/mosh2/launcher/; this
// file is the processes, descriptors and sockets around it.

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "mosh2/launcher/launcher_options.hpp"
#include "mosh2/launcher/server_command.hpp"
#include "mosh2/launcher/startup_output.hpp"
#include "mosh2/os/local_terminal.hpp"
#include "mosh2/os/program_lookup.hpp"

namespace {

using namespace mosh2::launcher;
using clock_type = std::chrono::steady_clock;

constexpr const char* usage =
    "Usage: mosh2 [options] [--] [user@]host [--] [command...]\n"
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
    "        --no-init            do not send the terminal initialisation string\n"
    "        --local              run the server on this machine without ssh (default 127.0.0.1)\n"
    "        --allow-no-tty       run even when standard input or output is not a terminal\n"
    "-h      --help               this message\n"
    "        --version            version and licence\n";

constexpr auto connect_timeout = std::chrono::seconds(120);

[[noreturn]] void die(int status, const std::string& message) {
  std::fprintf(stderr, "mosh2: %s\n", message.c_str());
  std::exit(status);
}

std::string self_path() {
  std::vector<char> buf(PATH_MAX + 1);
  const ssize_t n = ::readlink("/proc/self/exe", buf.data(), buf.size() - 1);
  return n > 0 ? std::string(buf.data(), static_cast<std::size_t>(n)) : std::string{};
}

/// `name` next to this program if it is there and executable, else `name` (for PATH).
std::string beside_self(const std::string& name) {
  const std::string self = self_path();
  const auto slash = self.rfind('/');
  if (slash != std::string::npos) {
    std::string candidate = self.substr(0, slash + 1) + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return name;
}

std::vector<char*> c_argv(std::vector<std::string>& words) {
  std::vector<char*> out;
  for (auto& w : words) out.push_back(w.data());
  out.push_back(nullptr);
  return out;
}

std::optional<std::string> env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::optional<std::string>(v) : std::nullopt;
}

/// Checks that execvp will find `program` here; dies with one line if not.
void require_program(const std::string& program, const char* option) {
  std::vector<char> cwd(PATH_MAX + 1);
  const std::string here = ::getcwd(cwd.data(), cwd.size()) ? cwd.data() : ".";
  auto found = mosh2::os::find_program(program, env("PATH"), here);
  if (!found) die(1, fmt::format("{} (see {})", mosh2::os::cannot_run_message(program, found.error()), option));
}

/// A child process with its stdout and stderr on one pipe. An exec failure comes back
/// through a close-on-exec pipe as an errno, so it is told apart from the program's
/// own exit status.
struct child_process {
  pid_t pid = -1;
  int output = -1;
};

child_process spawn(std::vector<std::string> words, const std::function<void()>& in_child) {
  int out[2], exec_error[2];
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(exec_error, O_CLOEXEC) != 0)
    die(1, fmt::format("pipe: {}", std::strerror(errno)));
  const pid_t pid = ::fork();
  if (pid < 0) die(1, fmt::format("fork: {}", std::strerror(errno)));
  if (pid == 0) {
    ::dup2(out[1], STDOUT_FILENO);
    ::dup2(out[1], STDERR_FILENO);
    in_child();
    auto argv = c_argv(words);
    ::execvp(argv[0], argv.data());
    const int e = errno;
    if (::write(exec_error[1], &e, sizeof e) < 0) {
      // The parent then sees a plain exit status 127.
    }
    ::_exit(127);
  }
  ::close(out[1]);
  ::close(exec_error[1]);
  int e = 0;
  ssize_t n;
  do {
    n = ::read(exec_error[0], &e, sizeof e);
  } while (n < 0 && errno == EINTR);
  ::close(exec_error[0]);
  if (n == sizeof e) {
    ::waitpid(pid, nullptr, 0);
    die(1, mosh2::os::cannot_run_message(words[0], e));
  }
  return {pid, out[0]};
}

// ---- name resolution, shared by --fake-proxy and --experimental-remote-ip=local ----

struct address_candidate {
  sockaddr_storage address{};
  socklen_t length = 0;
  int family = AF_UNSPEC;
  std::string numeric;
};

/// The host's addresses in the order --family asks for, or a one-line error.
std::vector<address_candidate> resolve(const std::string& host, const std::string& port, address_family family) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_family = family == address_family::inet ? AF_INET : family == address_family::inet6 ? AF_INET6 : AF_UNSPEC;
  addrinfo* found = nullptr;
  if (int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &found); rc != 0)
    die(1, fmt::format("could not resolve {}: {}", host, ::gai_strerror(rc)));
  std::vector<address_candidate> out;
  for (addrinfo* a = found; a; a = a->ai_next) {
    address_candidate c;
    std::memcpy(&c.address, a->ai_addr, a->ai_addrlen);
    c.length = a->ai_addrlen;
    c.family = a->ai_family;
    char numeric[NI_MAXHOST] = {};
    if (::getnameinfo(a->ai_addr, a->ai_addrlen, numeric, sizeof numeric, nullptr, 0, NI_NUMERICHOST) == 0) {
      c.numeric = numeric;
      out.push_back(c);
    }
  }
  ::freeaddrinfo(found);
  auto first = [&](int f) {
    std::stable_partition(out.begin(), out.end(), [=](const address_candidate& a) { return a.family == f; });
  };
  if (family == address_family::prefer_inet) first(AF_INET);
  if (family == address_family::prefer_inet6) first(AF_INET6);
  const auto has = [&](int f) {
    return std::any_of(out.begin(), out.end(), [=](const address_candidate& a) { return a.family == f; });
  };
  if (family == address_family::auto_detect && has(AF_INET) && has(AF_INET6))
    die(1, fmt::format("{} has both IPv4 and IPv6 addresses; --family=auto needs a single-family host "
                       "(use -4, -6 or --family=all)", host));
  if (out.empty()) die(1, fmt::format("could not resolve {}: no usable address", host));
  return out;
}

// ---- --fake-proxy: ssh's ProxyCommand ----

int run_proxy(const launcher_options& o) {
  int sock = -1;
  std::string reached;
  int last_error = 0;
  for (const auto& a : resolve(o.host, o.proxy_port, o.family)) {
    sock = ::socket(a.family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (sock < 0) continue;
    if (::connect(sock, reinterpret_cast<const sockaddr*>(&a.address), a.length) == 0) {
      reached = a.numeric;
      break;
    }
    last_error = errno;
    ::close(sock);
    sock = -1;
  }
  if (sock < 0) die(1, fmt::format("could not connect to {} port {}: {}", o.host, o.proxy_port, std::strerror(last_error)));
  std::fprintf(stderr, "MOSH IP %s\n", reached.c_str());
  std::fflush(stderr);

  std::signal(SIGPIPE, SIG_IGN);
  std::vector<char> buf(65536);
  bool stdin_open = true;
  for (;;) {
    pollfd fds[2] = {{STDIN_FILENO, static_cast<short>(stdin_open ? POLLIN : 0), 0}, {sock, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return 1;
    }
    if (stdin_open && (fds[0].revents & (POLLIN | POLLHUP | POLLERR))) {
      const ssize_t n = ::read(STDIN_FILENO, buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        stdin_open = false;
        ::shutdown(sock, SHUT_WR);
      } else if (!mosh2::os::write_all(sock, std::string_view(buf.data(), static_cast<std::size_t>(n)))) {
        return 1;
      }
    }
    if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
      const ssize_t n = ::read(sock, buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return 0;
      if (!mosh2::os::write_all(STDOUT_FILENO, std::string_view(buf.data(), static_cast<std::size_t>(n))))
        return 1;
    }
  }
}

// ---- the launcher ----

/// Everything decided and checked before anything starts.
struct session_plan {
  std::string predict;                   ///< MOSH_PREDICTION_DISPLAY for the client
  std::string client;                    ///< the client program
  std::vector<std::string> server_argv;  ///< ssh ... or the local server's command
  std::string server_name;               ///< the server command, for messages
  std::optional<std::string> server_ip;  ///< known before the start (--local, remote-ip=local)
};

/// The server's address and the session's port and key.
struct server_contact {
  std::string ip;
  connect_line connect;
};

/// The colour count of the local terminal, as `<client> -c` reports it; dies with the
/// client's own message when it cannot tell (an unknown TERM), as the stock wrapper does.
int terminal_colors(const std::string& client) {
  child_process c = spawn({client, "-c"}, [] {});
  std::string out;
  char buf[256];
  for (int reads = 0; reads < 64; ++reads) {
    const ssize_t n = ::read(c.output, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(c.output);
  int status = 0;
  ::waitpid(c.pid, &status, 0);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    die(1, out.empty() ? fmt::format("{} -c failed", client) : out);
  return std::max(0, std::atoi(out.c_str()));  // terminfo says -1 for "no colours"
}

/// Dies (exit 2) when --local names an address that is not one of this machine's.
void require_local_address(const std::string& address) {
  addrinfo hints{};
  hints.ai_flags = AI_NUMERICHOST;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* found = nullptr;
  if (::getaddrinfo(address.c_str(), "0", &hints, &found) != 0) return;  // the parser checked it is numeric
  const int s = ::socket(found->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  const int rc = s < 0 ? 0 : ::bind(s, found->ai_addr, found->ai_addrlen);
  const int e = errno;
  if (s >= 0) ::close(s);
  ::freeaddrinfo(found);
  if (rc != 0 && e == EADDRNOTAVAIL)
    die(2, fmt::format("--local needs an address of this machine, and {} is not one (try 127.0.0.1)", address));
}

/// Step 1: read the environment, check the terminal, the client and the address, and
/// build the server's command line. Nothing has started yet.
session_plan plan_session(const launcher_options& o) {
  session_plan plan;
  // Prediction mode: the option beats MOSH_PREDICTION_DISPLAY, which beats adaptive.
  plan.predict = "adaptive";
  if (auto e = env("MOSH_PREDICTION_DISPLAY"); e && !e->empty()) {
    if (!valid_prediction_mode(*e))
      die(2, fmt::format("unknown MOSH_PREDICTION_DISPLAY \"{}\" (adaptive, always, never or experimental)", *e));
    plan.predict = *e;
  }
  if (o.predict) plan.predict = *o.predict;

  if (!o.allow_no_tty && (!::isatty(STDIN_FILENO) || !::isatty(STDOUT_FILENO)))
    die(1, "standard input and output must be a terminal (--allow-no-tty runs the session anyway)");
  if (o.local) require_local_address(o.host);

  plan.client = o.client.empty() ? beside_self("mosh2-client") : o.client;
  require_program(plan.client, "--client");
  const int colors = terminal_colors(plan.client);

  std::vector<std::pair<std::string, std::string>> locale;
  for (const char* name : {"LANG", "LANGUAGE", "LC_CTYPE", "LC_NUMERIC", "LC_TIME", "LC_COLLATE", "LC_MONETARY",
                           "LC_MESSAGES", "LC_PAPER", "LC_NAME", "LC_ADDRESS", "LC_TELEPHONE", "LC_MEASUREMENT",
                           "LC_IDENTIFICATION", "LC_ALL"}) {
    if (auto v = env(name)) locale.emplace_back(name, *v);
  }
  const auto server_args = server_arguments(o, colors, locale);

  if (o.local) {
    plan.server_name = o.server.value_or("mosh2-server");
    auto server = split_command(o.server.value_or(beside_self("mosh2-server")));
    if (!server || server->empty()) die(2, "bad --server command");
    require_program(server->front(), "--server");
    plan.server_argv = *server;
    plan.server_argv.insert(plan.server_argv.end(), server_args.begin(), server_args.end());
    plan.server_ip = o.host;
    return plan;
  }
  plan.server_name = o.server.value_or("mosh2-server");
  std::string destination = o.host;
  if (o.remote_ip == remote_ip_mode::local) {
    // Resolve here, and let ssh and the client use the same address.
    plan.server_ip = resolve(host_part(o.host), "22", o.family).front().numeric;
    destination = with_host(o.host, *plan.server_ip);
  }
  const std::string self = self_path();
  if (self.empty() && o.remote_ip == remote_ip_mode::proxy)
    die(1, "cannot find this program's own path (/proc/self/exe) for ssh's ProxyCommand");
  plan.server_argv = ssh_argv(o, self, destination, remote_command(o, server_args));
  return plan;
}

/// Step 2: start the server, through ssh or (--local) here, with its output on a pipe.
child_process start_server(const launcher_options& o, const session_plan& plan) {
  return spawn(plan.server_argv, [&o] {
    ::unsetenv("MOSH_PREDICTION_DISPLAY");  // the client's business, set again for it in step 4
    if (o.local) {
      ::unsetenv("SSH_CONNECTION");
      ::setenv(first_contact_variable, std::to_string(first_contact_window.count()).c_str(), 1);
      if (const char* home = std::getenv("HOME")) {
        if (::chdir(home) != 0) {
          // Stay where we are; the server changes to $HOME for the session anyway.
        }
      }
    } else {
      ::setenv("SHELL", "/bin/sh", 1);  // ssh runs the ProxyCommand with $SHELL
    }
  });
}

/// Waits up to 5 s for the child to end; its wait status, or nothing if it still runs.
std::optional<int> reap_within_5s(pid_t pid) {
  int status = 0;
  for (int i = 0; i < 50; ++i) {
    if (::waitpid(pid, &status, WNOHANG) == pid) return status;
    ::usleep(100 * 1000);
  }
  return std::nullopt;
}

/// Step 3: show what ssh and the server print until MOSH CONNECT; learn the server's
/// address. Without MOSH CONNECT, dies with one line saying why.
server_contact read_connect(const launcher_options& o, const session_plan& plan, child_process& server) {
  startup_reader reader;
  const auto deadline = clock_type::now() + connect_timeout;
  bool eof = false;
  auto show = [](const std::vector<std::string>& lines) {
    for (const auto& l : lines) std::fprintf(stderr, "%s\n", l.c_str());
  };
  while (!reader.done() && !eof) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now()).count();
    if (left <= 0) break;
    pollfd p{server.output, POLLIN, 0};
    const int rc = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 1000)));
    if (rc < 0 && errno != EINTR) break;
    if (rc <= 0) continue;
    char buf[4096];
    const ssize_t n = ::read(server.output, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      eof = true;
      break;
    }
    show(reader.feed(std::string_view(buf, static_cast<std::size_t>(n))));
  }
  if (!reader.done()) show(reader.finish());
  ::close(server.output);

  // ssh ends once the server has detached; wait for it a little, never forever.
  auto status = reap_within_5s(server.pid);
  if (reader.error()) die(1, *reader.error());
  if (!reader.connect()) {
    startup_failure f;
    f.local = o.local;
    f.host = o.local ? o.host : host_part(o.host);
    for (const auto& word : o.ssh) f.ssh += (f.ssh.empty() ? "" : " ") + word;
    f.server = plan.server_name;
    f.proxy_used = !o.local && o.remote_ip == remote_ip_mode::proxy;
    f.reached_host = reader.proxy_ip().has_value();
    f.printed_anything = reader.printed_anything();
    f.timed_out = !eof;
    f.timeout_seconds = static_cast<int>(connect_timeout.count());
    if (!status) {
      ::kill(server.pid, SIGTERM);
      int s = 0;
      ::waitpid(server.pid, &s, 0);
      status = s;
    }
    f.signalled = WIFSIGNALED(*status);
    f.status = f.signalled ? WTERMSIG(*status) : WEXITSTATUS(*status);
    die(1, describe(f));
  }

  server_contact contact{{}, *reader.connect()};
  if (plan.server_ip) contact.ip = *plan.server_ip;
  else if (o.remote_ip == remote_ip_mode::remote && reader.ssh_connection_ip()) contact.ip = *reader.ssh_connection_ip();
  else if (reader.proxy_ip()) contact.ip = *reader.proxy_ip();
  else if (o.remote_ip == remote_ip_mode::remote)
    die(1, "the remote shell did not print its SSH_CONNECTION (try --experimental-remote-ip=proxy)");
  else die(1, "did not learn the server's IP address (is ssh's ProxyCommand disabled?)");
  return contact;
}

/// Step 4: become the client; the key goes into its environment only.
[[noreturn]] void exec_client(const launcher_options& o, const session_plan& plan, server_contact contact) {
  ::setenv("MOSH_KEY", contact.connect.key.c_str(), 1);
  contact.connect.key.assign(contact.connect.key.size(), '\0');
  ::setenv("MOSH_PREDICTION_DISPLAY", plan.predict.c_str(), 1);
  if (o.predict_overwrite) ::setenv("MOSH_PREDICTION_OVERWRITE", "yes", 1);
  if (o.no_init) ::setenv("MOSH_NO_TERM_INIT", "1", 1);
  ::setenv("MOSH_CLIENT_PID", std::to_string(::getpid()).c_str(), 1);
  std::string decoration = "-# mosh2";
  for (const auto& a : o.original_args) decoration += " " + a;
  decoration += " |";
  std::vector<std::string> words{plan.client, decoration, contact.ip, contact.connect.port};
  auto argv = c_argv(words);
  ::execvp(argv[0], argv.data());
  const int e = errno;
  ::unsetenv("MOSH_KEY");
  die(1, mosh2::os::cannot_run_message(plan.client, e));
}

int run_launcher(const launcher_options& o) {
  const session_plan plan = plan_session(o);
  child_process server = start_server(o, plan);
  const server_contact contact = read_connect(o, plan, server);
  exec_client(o, plan, contact);
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
  return o.fake_proxy ? run_proxy(o) : run_launcher(o);
}

// mosh2: the launcher, a drop-in for the stock `mosh` wrapper's core job. Runs
// mosh2-server on the host over the user's ssh (or locally with --local), reads
// "MOSH CONNECT <port> <key>" from its output, and becomes mosh2-client with the key
// in its environment. The server's address is what ssh connected to: ssh runs this
// program as its ProxyCommand (--fake-proxy), which resolves the host, connects, prints
// "MOSH IP <address>" on stderr and then relays the TCP stream.

#include <fcntl.h>
#include <netdb.h>
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
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "mosh2/session/launcher_options.hpp"
#include "mosh2/session/local_terminal.hpp"

namespace {

using namespace mosh2::session;
using clock_type = std::chrono::steady_clock;

constexpr const char* usage =
    "Usage: mosh2 [options] [--] [user@]host [--] [command...]\n"
    "       mosh2 --local [options] [ADDRESS] [--] [command...]\n"
    "        --client=PATH        mosh client on this machine (default: mosh2-client)\n"
    "        --server=COMMAND     mosh server on the host (default: mosh2-server)\n"
    "        --ssh=COMMAND        ssh command for the bootstrap (default: ssh)\n"
    "        --predict=adaptive|always|never|experimental   local echo (default: adaptive)\n"
    "-a      --predict=always     -n  --predict=never\n"
    "-o      --predict-overwrite  predictions overwrite instead of inserting\n"
    "-4      --family=inet        -6  --family=inet6\n"
    "        --family=auto|all|prefer-inet|prefer-inet6   (default: prefer-inet)\n"
    "-p PORT[:PORT2]  --port=PORT[:PORT2]   server-side UDP port or range\n"
    "        --bind-server={ssh|any|IP}     address the server replies from (default: ssh)\n"
    "        --no-ssh-pty         do not ask ssh for a pseudo-terminal\n"
    "        --no-init            do not send the terminal initialisation string\n"
    "        --local              run the server on this machine without ssh (default 127.0.0.1)\n"
    "        --help, --version\n";

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

/// Quotes one word for a POSIX shell.
std::string shell_quote(const std::string& word) {
  std::string out = "'";
  for (char c : word) {
    if (c == '\'') out += "'\\''";
    else out += c;
  }
  return out + "'";
}

std::vector<char*> c_argv(std::vector<std::string>& words) {
  std::vector<char*> out;
  for (auto& w : words) out.push_back(w.data());
  out.push_back(nullptr);
  return out;
}

// ---- --fake-proxy: ssh's ProxyCommand ----

int run_proxy(const launcher_options& o) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_family = o.family == address_family::inet ? AF_INET : o.family == address_family::inet6 ? AF_INET6 : AF_UNSPEC;
  addrinfo* found = nullptr;
  if (int rc = ::getaddrinfo(o.host.c_str(), o.proxy_port.c_str(), &hints, &found); rc != 0)
    die(1, fmt::format("could not resolve {}: {}", o.host, ::gai_strerror(rc)));
  std::vector<addrinfo*> candidates;
  for (addrinfo* a = found; a; a = a->ai_next) candidates.push_back(a);
  auto first = [&](int family) {
    std::stable_partition(candidates.begin(), candidates.end(), [=](addrinfo* a) { return a->ai_family == family; });
  };
  if (o.family == address_family::prefer_inet) first(AF_INET);
  if (o.family == address_family::prefer_inet6) first(AF_INET6);
  if (o.family == address_family::auto_detect &&
      std::any_of(candidates.begin(), candidates.end(), [](addrinfo* a) { return a->ai_family == AF_INET; }) &&
      std::any_of(candidates.begin(), candidates.end(), [](addrinfo* a) { return a->ai_family == AF_INET6; }))
    die(1, fmt::format("{} has both IPv4 and IPv6 addresses; --family=auto needs a single-family host "
                       "(use -4, -6 or --family=all)", o.host));
  int sock = -1;
  char numeric[NI_MAXHOST] = {};
  for (addrinfo* a : candidates) {
    sock = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (sock < 0) continue;
    if (::connect(sock, a->ai_addr, a->ai_addrlen) == 0 &&
        ::getnameinfo(a->ai_addr, a->ai_addrlen, numeric, sizeof numeric, nullptr, 0, NI_NUMERICHOST) == 0)
      break;
    ::close(sock);
    sock = -1;
  }
  ::freeaddrinfo(found);
  if (sock < 0) die(1, fmt::format("could not connect to {} port {}: {}", o.host, o.proxy_port, std::strerror(errno)));
  std::fprintf(stderr, "MOSH IP %s\n", numeric);
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
      } else if (!write_all(sock, std::string_view(buf.data(), static_cast<std::size_t>(n)))) {
        return 1;
      }
    }
    if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
      const ssize_t n = ::read(sock, buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return 0;
      if (!write_all(STDOUT_FILENO, std::string_view(buf.data(), static_cast<std::size_t>(n)))) return 1;
    }
  }
}

// ---- the launcher ----

/// The colour count of the local terminal, as `<client> -c` reports it (0 on any failure).
int terminal_colors(const std::string& client) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return 0;
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(fds[1], STDOUT_FILENO);
    std::vector<std::string> words{client, "-c"};
    auto argv = c_argv(words);
    ::execvp(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  std::string out;
  char buf[256];
  for (int reads = 0; pid > 0 && reads < 64; ++reads) {
    const ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fds[0]);
  if (pid > 0) ::waitpid(pid, nullptr, 0);
  const int colors = std::atoi(out.c_str());
  return colors > 0 ? colors : 0;
}

struct connect_info {
  std::string port;
  std::string key;
};

const char* family_word(address_family f) {
  switch (f) {
    case address_family::inet: return "inet";
    case address_family::inet6: return "inet6";
    case address_family::auto_detect: return "auto";
    case address_family::all: return "all";
    case address_family::prefer_inet: return "prefer-inet";
    case address_family::prefer_inet6: return "prefer-inet6";
  }
  return "prefer-inet";
}

int run_launcher(const launcher_options& o) {
  // Prediction mode: the option beats MOSH_PREDICTION_DISPLAY, which beats adaptive.
  std::string predict = "adaptive";
  if (const char* env = std::getenv("MOSH_PREDICTION_DISPLAY"); env && *env) {
    if (!valid_prediction_mode(env))
      die(2, fmt::format("unknown MOSH_PREDICTION_DISPLAY \"{}\" (adaptive, always, never or experimental)", env));
    predict = env;
  }
  if (o.predict) predict = *o.predict;
  ::unsetenv("MOSH_PREDICTION_DISPLAY");

  const std::string client = o.client.empty() ? beside_self("mosh2-client") : o.client;
  const int colors = terminal_colors(client);

  std::vector<std::string> server_args{"new", "-c", std::to_string(colors)};
  if (o.bind == launcher_options::bind_mode::address) {
    server_args.insert(server_args.end(), {"-i", o.bind_address});
  } else if (o.bind == launcher_options::bind_mode::ssh) {
    if (o.local && !o.bind_set) server_args.insert(server_args.end(), {"-i", o.host});
    else server_args.push_back("-s");
  }
  if (o.ports) server_args.insert(server_args.end(), {"-p", *o.ports});
  for (const char* name : {"LANG", "LANGUAGE", "LC_CTYPE", "LC_NUMERIC", "LC_TIME", "LC_COLLATE", "LC_MONETARY",
                           "LC_MESSAGES", "LC_PAPER", "LC_NAME", "LC_ADDRESS", "LC_TELEPHONE", "LC_MEASUREMENT",
                           "LC_IDENTIFICATION", "LC_ALL"}) {
    if (const char* v = std::getenv(name)) server_args.insert(server_args.end(), {"-l", fmt::format("{}={}", name, v)});
  }
  if (!o.command.empty()) {
    server_args.push_back("--");
    server_args.insert(server_args.end(), o.command.begin(), o.command.end());
  }

  std::vector<std::string> child_argv;
  std::optional<std::string> ip;
  if (o.local) {
    auto server = split_command(o.server.value_or(beside_self("mosh2-server")));
    if (!server || server->empty()) die(2, "bad --server command");
    child_argv = *server;
    child_argv.insert(child_argv.end(), server_args.begin(), server_args.end());
    ip = o.host;
  } else {
    const std::string self = self_path();
    if (self.empty()) die(1, "cannot find this program's own path (/proc/self/exe) for ssh's ProxyCommand");
    std::string remote = o.server.value_or("mosh2-server");
    for (const auto& a : server_args) remote += " " + shell_quote(a);
    child_argv = o.ssh;
    child_argv.push_back("-n");
    if (o.ssh_pty) child_argv.push_back("-tt");
    child_argv.insert(child_argv.end(),
                      {"-S", "none", "-o",
                       fmt::format("ProxyCommand={} --family={} --fake-proxy -- %h %p", shell_quote(self),
                                   family_word(o.family)),
                       o.host, "--", remote});
  }

  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) die(1, fmt::format("pipe: {}", std::strerror(errno)));
  const pid_t child = ::fork();
  if (child < 0) die(1, fmt::format("fork: {}", std::strerror(errno)));
  if (child == 0) {
    ::dup2(fds[1], STDOUT_FILENO);
    ::dup2(fds[1], STDERR_FILENO);
    if (o.local) {
      ::unsetenv("SSH_CONNECTION");
      if (const char* home = std::getenv("HOME")) {
        if (::chdir(home) != 0) {
          // Stay where we are; the server changes to $HOME for the session anyway.
        }
      }
    } else {
      ::setenv("SHELL", "/bin/sh", 1);  // ssh runs the ProxyCommand with $SHELL
    }
    auto argv = c_argv(child_argv);
    ::execvp(argv[0], argv.data());
    std::fprintf(stderr, "mosh2: cannot run %s: %s\n", argv[0], std::strerror(errno));
    ::_exit(127);
  }
  ::close(fds[1]);

  // Read line by line until MOSH CONNECT, EOF, or the deadline.
  static const std::regex connect_re(R"(^MOSH CONNECT (\d+) ([A-Za-z0-9+/]{22})\s*$)");
  static const std::regex ip_re(R"(^MOSH IP (\S+)\s*$)");
  std::optional<connect_info> found;
  std::string pending;
  const auto deadline = clock_type::now() + connect_timeout;
  bool eof = false;
  auto handle_line = [&](std::string line) {
    while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.pop_back();
    std::smatch m;
    if (std::regex_match(line, m, connect_re)) {
      found = connect_info{m[1], m[2]};
    } else if (std::regex_match(line, m, ip_re)) {
      if (ip && !o.local) die(1, "ssh reported the server's IP address twice");
      ip = m[1];
    } else if (!line.empty()) {
      std::fprintf(stderr, "%s\n", line.c_str());
    }
  };
  while (!found && !eof) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now()).count();
    if (left <= 0) break;
    pollfd p{fds[0], POLLIN, 0};
    const int rc = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 1000)));
    if (rc < 0 && errno != EINTR) break;
    if (rc <= 0) continue;
    char buf[4096];
    const ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      eof = true;
      break;
    }
    pending.append(buf, static_cast<std::size_t>(n));
    for (auto nl = pending.find('\n'); nl != std::string::npos && !found; nl = pending.find('\n')) {
      handle_line(pending.substr(0, nl));
      pending.erase(0, nl + 1);
    }
  }
  if (!found && !pending.empty()) handle_line(pending);
  ::close(fds[0]);

  // ssh ends once the server has detached; wait for it a little, never forever.
  int status = 0;
  bool reaped = false;
  for (int i = 0; i < 50 && !reaped; ++i) {
    if (::waitpid(child, &status, WNOHANG) == child) reaped = true;
    else ::usleep(100 * 1000);
  }
  if (!found) {
    if (!reaped) ::kill(child, SIGTERM);
    if (eof)
      die(1, o.local ? "did not find the server's startup message (MOSH CONNECT); is --server right?"
                     : fmt::format("did not find the server's startup message (MOSH CONNECT); is {} installed on {}?",
                                   o.server.value_or("mosh2-server"), o.host));
    die(1, fmt::format("no server startup message (MOSH CONNECT) within {} s", connect_timeout.count()));
  }
  if (!ip) die(1, "did not learn the server's IP address (is ssh's ProxyCommand disabled?)");

  // Become the client: the key goes into its environment only.
  ::setenv("MOSH_KEY", found->key.c_str(), 1);
  found->key.assign(found->key.size(), '\0');
  ::setenv("MOSH_PREDICTION_DISPLAY", predict.c_str(), 1);
  if (o.predict_overwrite) ::setenv("MOSH_PREDICTION_OVERWRITE", "yes", 1);
  if (o.no_init) ::setenv("MOSH_NO_TERM_INIT", "1", 1);
  ::setenv("MOSH_CLIENT_PID", std::to_string(::getpid()).c_str(), 1);
  std::string decoration = "-# mosh2";
  for (const auto& a : o.original_args) decoration += " " + a;
  decoration += " |";
  std::vector<std::string> words{client, decoration, *ip, found->port};
  auto argv = c_argv(words);
  ::execvp(argv[0], argv.data());
  ::unsetenv("MOSH_KEY");
  die(1, fmt::format("cannot run {}: {}", client, std::strerror(errno)));
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

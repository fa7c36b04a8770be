// Parsing of the server's and the client's argv, with getopt's bundling rules.

#include "mosh2/os/options.hpp"

#include <arpa/inet.h>

#include <array>
#include <charconv>
#include <cstdlib>
#include <string_view>

#include <fmt/format.h>

#include "mosh2/control/duration.hpp"

namespace mosh2::os {
namespace {

/// A number made only of digits that fits in `long`; anything else is not a number.
std::optional<long> parse_decimal(std::string_view s) {
  if (s.empty() || s.size() > 18) return std::nullopt;
  long v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size() || v < 0) return std::nullopt;
  return v;
}

/// True for a non-empty run of digits (a number, perhaps too large for parse_decimal).
bool is_digits(std::string_view s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos;
}

/// getopt-style scan: `spec` lists option letters, a letter followed by ':' takes an
/// argument (attached, `-p60001`, or the next word). Stops at "--" or the first
/// non-option word; returns the index of the first operand.
template <class OnOption>
result<std::size_t, std::string> scan_options(const std::vector<std::string>& args,
                                              std::size_t start, std::string_view spec,
                                              OnOption on_option) {
  std::size_t i = start;
  for (; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") return i;
    if (a.size() < 2 || a[0] != '-') return i;
    // getopt would report the second '-' of a long option; name the whole word.
    if (a[1] == '-') return failure{fmt::format("unknown option {}", a)};
    for (std::size_t k = 1; k < a.size(); ++k) {
      const char letter = a[k];
      const auto pos = spec.find(letter);
      if (pos == std::string_view::npos || letter == ':')
        return failure{fmt::format("unknown option -{}", letter)};
      const bool takes_arg = pos + 1 < spec.size() && spec[pos + 1] == ':';
      if (!takes_arg) {
        if (auto err = on_option(letter, std::string{}); !err.empty()) return failure{err};
        continue;
      }
      std::string value;
      if (k + 1 < a.size()) {
        value = a.substr(k + 1);
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        return failure{fmt::format("option -{} needs an argument", letter)};
      }
      if (auto err = on_option(letter, value); !err.empty()) return failure{err};
      break;
    }
  }
  return i;
}

}  // namespace

result<std::size_t, std::string> parse_input_limit(std::string_view text) {
  const auto bad = [&] {
    return failure{fmt::format("{} must be a size from 64K to 1G (e.g. 4M), not \"{}\"", input_limit_variable,
                               text.substr(0, 40))};
  };
  std::uint64_t n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc{} || end == text.data()) return bad();
  const std::string_view suffix(end, static_cast<std::size_t>(text.data() + text.size() - end));
  int shift = 0;
  if (suffix == "K" || suffix == "k") shift = 10;
  else if (suffix == "M" || suffix == "m") shift = 20;
  else if (suffix == "G" || suffix == "g") shift = 30;
  else if (!suffix.empty()) return bad();
  // Checked before shifting, so a huge number cannot wrap into the range.
  if (n > (max_input_limit >> shift)) return bad();
  n <<= shift;
  if (n < min_input_limit) return bad();
  return static_cast<std::size_t>(n);
}

namespace {

/// A MOSH_SERVER_*_TMOUT-style value: a positive number of seconds, or nothing (with a
/// warning for a value that is not a non-negative integer, in the stock server's words).
std::optional<std::chrono::seconds> timeout_variable(const environment_lookup& env, const char* name,
                                                     std::vector<std::string>& warnings) {
  const auto v = env(name);
  if (!v || v->empty()) return std::nullopt;
  // strtol's rules (leading blanks and a sign allowed), as the stock server reads them.
  char* end = nullptr;
  const long n = std::strtol(v->c_str(), &end, 10);
  if (*end != '\0') {
    warnings.push_back(fmt::format("{} not a valid integer, ignoring", name));
    return std::nullopt;
  }
  if (n < 0) {
    warnings.push_back(fmt::format("{} is negative, ignoring", name));
    return std::nullopt;
  }
  if (n == 0) return std::nullopt;
  return std::chrono::seconds(n);
}

}  // namespace

server_environment read_server_environment(const environment_lookup& env, std::size_t default_input_limit) {
  server_environment out;
  out.network_timeout = timeout_variable(env, "MOSH_SERVER_NETWORK_TMOUT", out.warnings);
  out.signal_timeout = timeout_variable(env, "MOSH_SERVER_SIGNAL_TMOUT", out.warnings);
  out.first_contact = timeout_variable(env, first_contact_variable, out.warnings).value_or(std::chrono::seconds(60));
  out.input_limit = default_input_limit;
  if (const auto v = env(input_limit_variable); v && !v->empty()) {
    if (auto n = parse_input_limit(*v)) out.input_limit = *n;
    else out.warnings.push_back(fmt::format("mosh2-server: {}; ignoring", n.error()));
  }
  return out;
}

pty_spec session_program(const server_options& opts, const std::string& login_shell,
                         const std::vector<std::pair<std::string, std::string>>& locale_env) {
  pty_spec p;
  if (opts.command.empty()) {
    p.argv = {login_shell};
    const auto slash = login_shell.rfind('/');
    p.argv0_override = "-" + (slash == std::string::npos ? login_shell : login_shell.substr(slash + 1));
    p.show_motd = true;
  } else {
    p.argv = opts.command;
  }
  p.set_env = {{"TERM", opts.colors == 256 ? "xterm-256color" : "xterm"}, {"NCURSES_NO_UTF8_ACS", "1"}};
  p.set_env.insert(p.set_env.end(), locale_env.begin(), locale_env.end());
  p.unset_env = {"STY", "MOSH_KEY", first_contact_variable, input_limit_variable};
  return p;
}

std::optional<std::string> client_terminal_refusal(bool stdin_is_terminal, bool stdout_is_terminal,
                                                   const environment_lookup& env) {
  if (stdin_is_terminal && stdout_is_terminal) return std::nullopt;
  if (env(client_allow_no_tty_variable) == "1") return std::nullopt;
  return fmt::format("standard input and output must be a terminal ({}=1 runs the session anyway)",
                     client_allow_no_tty_variable);
}

result<port_range, std::string> parse_port_range(const std::string& text) {
  const auto colon = text.find(':');
  const std::string low_text = text.substr(0, colon);
  const auto low = parse_decimal(low_text);
  if (!low && !is_digits(low_text))
    return failure{fmt::format("Bad UDP port range ({}): \"{}\" is not a number", text, low_text)};
  if (!low || *low > 65535)
    return failure{fmt::format("Bad UDP port range ({}): (low) port number must be in [0..65535]", text)};
  if (colon == std::string::npos) {
    auto p = static_cast<std::uint16_t>(*low);
    return port_range{p, p};
  }
  const std::string_view high_text = std::string_view(text).substr(colon + 1);
  const auto high = parse_decimal(high_text);
  if (!high && !is_digits(high_text))
    return failure{fmt::format("Bad UDP port range ({}): \"{}\" is not a number", text, high_text)};
  if (!high || *high < 1 || *high > 65535)
    return failure{fmt::format("Bad UDP port range ({}): high port number must be in [1..65535]", text)};
  if (*low > *high)
    return failure{fmt::format("Bad UDP port range ({}): low port {} greater than high port {}", text, *low, *high)};
  if (*low == 0)
    return failure{fmt::format("Bad UDP port range ({}): low port 0 incompatible with port ranges", text)};
  return port_range{static_cast<std::uint16_t>(*low), static_cast<std::uint16_t>(*high)};
}

result<std::size_t, std::string> parse_history_lines(std::string_view text) {
  auto n = parse_decimal(std::string(text));
  if (!n || *n < 0 || static_cast<unsigned long>(*n) > max_history_lines)
    return failure{fmt::format("\"{}\" is not a number of lines from 0 to {}", text, max_history_lines)};
  return static_cast<std::size_t>(*n);
}

namespace {

/// One of mosh2's own long options of `new`: taken out before getopt's letter scan (which
/// would read "--name" as letters), as `--opt VALUE` or `--opt=VALUE`; like the stock
/// options they belong after "new", elsewhere they are a bad command line.
struct new_long_option {
  std::string_view name;
  std::string_view usage;  ///< the form shown when it comes before "new"
  std::string_view needs;  ///< what its value is, for "--opt needs ..."; empty: a flag
  /// Takes the value into `opts`; the reason when it is not one.
  std::optional<std::string> (*take)(std::string_view value, server_options& opts);
};

constexpr std::array new_long_options{
    new_long_option{"--name", "mosh2-server new --name NAME [-- command...]", "a session name",
                    [](std::string_view v, server_options& o) {
                      o.name = std::string(v);
                      return session_name_problem(o.name);
                    }},
    new_long_option{"--idle-timeout", "mosh2-server new [options] [-- command...]",
                    "a duration (e.g. 90s, 12h, 7d)",
                    [](std::string_view v, server_options& o) -> std::optional<std::string> {
                      auto d = control::parse_duration(std::string(v));
                      if (!d) return d.error();
                      o.idle_timeout = *d;
                      return std::nullopt;
                    }},
    new_long_option{"--history", "mosh2-server new [options] [-- command...]", "a number of lines (0 turns it off)",
                    [](std::string_view v, server_options& o) -> std::optional<std::string> {
                      auto n = parse_history_lines(v);
                      if (!n) return n.error();
                      o.history_lines = *n;
                      return std::nullopt;
                    }},
    new_long_option{"--relay-end", "mosh2-server new --relay-end [...]", "",
                    [](std::string_view, server_options& o) -> std::optional<std::string> {
                      o.relay_end = true;
                      return std::nullopt;
                    }},
};

/// The long option `word` names (itself, or with "=VALUE"), if any.
const new_long_option* find_new_long_option(std::string_view word) {
  for (const auto& o : new_long_options)
    if (word == o.name || (!o.needs.empty() && word.starts_with(o.name) && word.substr(o.name.size()).starts_with('=')))
      return &o;
  return nullptr;
}

}  // namespace

result<std::variant<server_options, show_help, show_version>, std::string>
parse_server_args(const std::vector<std::string>& all_args) {
  // The command after the first "--" belongs to the session, whatever it looks like.
  std::vector<std::string> args;
  server_options opts;
  bool seen_separator = false;
  const new_long_option* value_next = nullptr;  // the option whose value is the next word
  for (const auto& a : all_args) {
    if (seen_separator) { opts.command.push_back(a); continue; }
    if (value_next) {
      if (auto bad = value_next->take(a, opts)) return failure{fmt::format("{}: {}", value_next->name, *bad)};
      value_next = nullptr;
      continue;
    }
    if (const auto* o = find_new_long_option(a)) {
      if (args.empty() || args[0] != "new")
        return failure{fmt::format("expected \"new\" before {}: {}", o->name, o->usage)};
      if (a.size() == o->name.size() && !o->needs.empty()) {
        value_next = o;
        continue;
      }
      const std::string_view value = a.size() > o->name.size() ? std::string_view(a).substr(o->name.size() + 1) : "";
      if (auto bad = o->take(value, opts)) return failure{fmt::format("{}: {}", o->name, *bad)};
      continue;
    }
    if (a == "--") { seen_separator = true; continue; }
    if (a == "--help" || a == "-h") return show_help{};
    if (a == "--version") return show_version{};
    args.push_back(a);
  }
  if (value_next) return failure{fmt::format("{} needs {}", value_next->name, value_next->needs)};

  if (args.empty()) return opts;
  if (args[0] != "new" && args[0].size() > 1 && args[0][0] == '-')
    return failure{fmt::format("expected \"new\" before {}: mosh2-server new [options] [-- command...]", args[0])};
  if (args[0] != "new") {
    // Legacy syntax: mosh-server [IP [PORT]].
    if (args.size() > 2) return failure{std::string("too many arguments")};
    opts.bind = server_options::bind_mode::address;
    opts.bind_address = args[0];
    opts.legacy_form = true;
    if (args.size() == 2) {
      auto ports = parse_port_range(args[1]);
      if (!ports) return failure{ports.error()};
      opts.ports = *ports;
    }
    return opts;
  }

  auto end = scan_options(args, 1, "@:i:p:c:svl:", [&](char letter, const std::string& value) -> std::string {
    switch (letter) {
      case '@': return {};  // consumes one argument, as the stock server does
      case 'i':
        opts.bind = server_options::bind_mode::address;
        opts.bind_address = value;
        return {};
      case 's':
        opts.bind = server_options::bind_mode::ssh_connection;
        return {};
      case 'p': {
        auto ports = parse_port_range(value);
        if (!ports) return ports.error();
        opts.ports = *ports;
        return {};
      }
      case 'c': {
        auto n = parse_decimal(value);
        if (!n || *n > 1 << 24) return fmt::format("bad colour count \"{}\"", value);
        opts.colors = static_cast<int>(*n);
        return {};
      }
      case 'v': ++opts.verbosity; return {};
      case 'l': {
        const auto eq = value.find('=');
        if (eq == std::string::npos || eq == 0)
          return fmt::format("-l needs NAME=VALUE, got \"{}\"", value);
        opts.locale_vars.emplace_back(value.substr(0, eq), value.substr(eq + 1));
        return {};
      }
    }
    return fmt::format("unknown option -{}", letter);
  });
  if (!end) return failure{end.error()};
  if (*end != args.size()) return failure{fmt::format("unexpected argument \"{}\"", args[*end])};
  return opts;
}

std::optional<std::string> session_name_problem(std::string_view name) {
  constexpr std::size_t longest = 32;
  if (name.empty()) return std::string("a session name cannot be empty");
  if (name.size() > longest) return fmt::format("a session name has at most {} characters", longest);
  if (name[0] == '-') return std::string("a session name cannot start with '-'");
  bool digits_only = true;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '_' || c == '-';
    if (!ok) return fmt::format("\"{}\": a session name uses only letters, digits, '.', '_' and '-'", name);
    if (c < '0' || c > '9') digits_only = false;
  }
  if (digits_only) return fmt::format("\"{}\": a session name cannot be all digits (that is a process id)", name);
  return std::nullopt;
}

result<std::variant<attach_options, show_help>, std::string> parse_attach_args(const std::vector<std::string>& args) {
  attach_options opts;
  for (const auto& a : args) {
    if (a == "-h" || a == "--help") return show_help{};
    if (a.starts_with("-")) return failure{fmt::format("attach: unknown option {}", a)};
    if (opts.which) return failure{std::string("attach takes at most one session (a process id or a name)")};
    if (!is_digits(a))
      if (auto bad = session_name_problem(a)) return failure{"attach: " + *bad};
    opts.which = a;
  }
  return opts;
}

result<std::variant<client_options, show_help, show_version>, std::string>
parse_client_args(const std::vector<std::string>& all_args) {
  client_options opts;
  std::vector<std::string> args;
  for (const auto& a : all_args) {
    if (a == "--help" || a == "-h") return show_help{};
    if (a == "--version") return show_version{};
    if (a == "--no-history") opts.history = false;
    else args.push_back(a);
  }
  auto end = scan_options(args, 0, "#:cv", [&](char letter, const std::string&) -> std::string {
    if (letter == 'c') opts.print_colors = true;
    if (letter == 'v') ++opts.verbosity;
    return {};  // -# takes an argument that only decorates `ps` output
  });
  if (!end) return failure{end.error()};
  std::size_t i = *end;
  if (i < args.size() && args[i] == "--") ++i;
  if (opts.print_colors) return opts;
  if (args.size() - i != 2) return failure{std::string("expected exactly two arguments: IP PORT")};
  opts.host = args[i];
  std::array<unsigned char, 16> address{};
  if (::inet_pton(AF_INET, opts.host.c_str(), address.data()) != 1 &&
      ::inet_pton(AF_INET6, opts.host.c_str(), address.data()) != 1)
    return failure{fmt::format("bad IP address \"{}\" (a numeric IPv4 or IPv6 address is needed)", opts.host)};
  auto port = parse_decimal(args[i + 1]);
  if (!port || *port < 1 || *port > 65535)
    return failure{fmt::format("bad port \"{}\"", args[i + 1])};
  opts.port = static_cast<std::uint16_t>(*port);
  return opts;
}

result<std::vector<std::string>, std::string> parse_stream_command(const std::string& text) {
  std::vector<std::string> argv;
  std::size_t start = 0;
  for (;;) {
    const auto end = text.find('\x1f', start);
    argv.push_back(text.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  if (argv.front().empty()) return failure{std::string("the command is empty")};
  return argv;
}

std::optional<std::string> stream_command_text(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) {
    if (a.find('\x1f') != std::string::npos) return std::nullopt;
    if (!out.empty() || &a != &argv.front()) out += '\x1f';
    out += a;
  }
  return out;
}

result<relay_options, std::string> parse_relay_args(const std::vector<std::string>& args) {
  relay_options o;
  std::vector<std::string> words;
  for (std::size_t i = 1; i < args.size(); ++i) {
    const auto& a = args[i];
    auto value = [&]() -> std::optional<std::string> {
      if (i + 1 >= args.size()) return std::nullopt;
      return args[++i];
    };
    if (a == "-f") {
      o.foreground = true;
    } else if (a == "--end-token-stdin") {
      o.end_token_stdin = true;
    } else if (a == "-i" || a == "-p" || a == "--idle-timeout") {
      auto v = value();
      if (!v) return failure{fmt::format("relay: option {} needs a value", a)};
      if (a == "-i") {
        o.bind = *v;
      } else if (a == "-p") {
        auto ports = parse_port_range(*v);
        if (!ports) return failure{fmt::format("relay: {}", ports.error())};
        o.port_low = ports->low;
        o.port_high = ports->high;
      } else {
        auto d = control::parse_duration(*v);
        if (!d) return failure{fmt::format("relay: --idle-timeout: {}", d.error())};
        o.idle_timeout = *d;
      }
    } else if (!a.empty() && a[0] == '-') {
      return failure{fmt::format("relay: unknown option {}", a)};
    } else {
      words.push_back(a);
    }
  }
  if (words.size() != 2) return failure{std::string("relay needs NEXT_ADDRESS NEXT_PORT")};
  o.next_address = words[0];
  auto port = parse_decimal(words[1]);
  if (!port || *port < 1 || *port > 65535) return failure{fmt::format("relay: bad port \"{}\"", words[1])};
  o.next_port = static_cast<std::uint16_t>(*port);
  return o;
}

}  // namespace mosh2::os

// Parsing of the mosh2 launcher's argv: GNU-style long options (`--name=value` or
// `--name value`), bundled short flags, and the host with its command.

#include "mosh2/launcher/launcher_options.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <string_view>

#include <fmt/format.h>

#include "mosh2/control/duration.hpp"
#include "mosh2/os/options.hpp"

namespace mosh2::launcher {
namespace {

bool numeric_address(const std::string& text) {
  std::array<unsigned char, 16> buf{};
  return ::inet_pton(AF_INET, text.c_str(), buf.data()) == 1 || ::inet_pton(AF_INET6, text.c_str(), buf.data()) == 1;
}

std::optional<address_family> parse_family(std::string_view word) {
  if (word == "inet") return address_family::inet;
  if (word == "inet6") return address_family::inet6;
  if (word == "auto") return address_family::auto_detect;
  if (word == "all") return address_family::all;
  if (word == "prefer-inet") return address_family::prefer_inet;
  if (word == "prefer-inet6") return address_family::prefer_inet6;
  return std::nullopt;
}

/// Applies one long option; `value` is set when the option takes one. Returns an error or "".
std::string apply_long(launcher_options& o, std::string_view name, const std::string& value) {
  if (name == "client") {
    if (value.empty()) return "--client needs a program";
    o.client = value;
  } else if (name == "server") {
    if (value.find_first_not_of(" \t") == std::string::npos) return "--server needs a command";
    o.server = value;
  } else if (name == "ssh") {
    auto words = split_command(value);
    if (!words) return fmt::format("--ssh: {}", words.error());
    if (words->empty()) return "--ssh needs a command";
    o.ssh = *words;
  } else if (name == "predict") {
    if (!valid_prediction_mode(value))
      return fmt::format("unknown --predict mode \"{}\" (adaptive, always, never or experimental)", value);
    o.predict = value;
  } else if (name == "port") {
    auto ports = os::parse_port_range(value);
    if (!ports) return ports.error();
    o.ports = value;
  } else if (name == "bind-server") {
    o.bind_set = true;
    if (value == "ssh") {
      o.bind = launcher_options::bind_mode::ssh;
    } else if (value == "any") {
      o.bind = launcher_options::bind_mode::any;
    } else if (numeric_address(value)) {
      o.bind = launcher_options::bind_mode::address;
      o.bind_address = value;
    } else {
      return fmt::format("--bind-server needs ssh, any or a numeric IP address, not \"{}\"", value);
    }
  } else if (name == "experimental-remote-ip") {
    if (value == "proxy") o.remote_ip = remote_ip_mode::proxy;
    else if (value == "local") o.remote_ip = remote_ip_mode::local;
    else if (value == "remote") o.remote_ip = remote_ip_mode::remote;
    else return fmt::format("unknown --experimental-remote-ip \"{}\" (proxy, local or remote)", value);
  } else if (name == "name") {
    if (auto bad = os::session_name_problem(value)) return fmt::format("--name: {}", *bad);
    o.name = value;
  } else if (name == "attach") {
    // Only ever `--attach=WHICH`: a separate word after --attach is the host.
    const bool id = !value.empty() && value.find_first_not_of("0123456789") == std::string::npos;
    if (value.empty() || (!id && os::session_name_problem(value)))
      return fmt::format("--attach=: \"{}\" is neither a session id nor a session name", value);
    o.attach = true;
    o.attach_to = value;
  } else if (name == "idle-timeout") {
    auto d = control::parse_duration(value);
    if (!d) return fmt::format("--idle-timeout: {}", d.error());
    o.idle_timeout = value;
  } else if (name == "history") {
    auto n = os::parse_history_lines(value);
    if (!n) return fmt::format("--history: {}", n.error());
    o.history = value;
  } else if (name == "udp-timeout") {
    auto d = control::parse_duration(value);
    if (!d) return fmt::format("--udp-timeout: {}", d.error());
    o.udp_timeout = value;
  } else if (name == "jump") {
    // A comma list chains, as ssh's -J does; each hop is [user@]host[:port].
    std::size_t start = 0;
    for (;;) {
      const auto end = value.find(',', start);
      const std::string hop = value.substr(start, end == std::string::npos ? std::string::npos : end - start);
      if (hop.empty()) return fmt::format("-J: empty jump host in \"{}\"", value);
      if (auto bad = check_destination(hop)) return fmt::format("-J: {}", *bad);
      o.jumps.push_back(hop);
      if (end == std::string::npos) break;
      start = end + 1;
    }
  } else if (name == "transport") {
    if (value != "udp" && value != "tcp" && value != "auto")
      return fmt::format("unknown --transport \"{}\" (udp, tcp or auto)", value);
    o.transport = value;
  } else if (name == "family") {
    auto f = parse_family(value);
    if (!f) return fmt::format("unknown --family \"{}\" (inet, inet6, auto, all, prefer-inet or prefer-inet6)", value);
    o.family = *f;
  } else {
    return fmt::format("unknown option --{}", name);
  }
  return {};
}

/// Long options that take no value; returns false if `name` is not one.
bool apply_flag(launcher_options& o, std::string_view name) {
  if (name == "ssh-pty") o.ssh_pty = true;
  else if (name == "no-ssh-pty") o.ssh_pty = false;
  else if (name == "predict-overwrite") o.predict_overwrite = true;
  else if (name == "no-predict-overwrite") o.predict_overwrite = false;
  else if (name == "no-init") o.no_init = true;
  else if (name == "local") o.local = true;
  else if (name == "attach") o.attach = true;
  else if (name == "no-detached-notice") o.detached_notice = false;
  else if (name == "allow-no-tty") o.allow_no_tty = true;
  else if (name == "fake-proxy") o.fake_proxy = true;
  else if (name == "no-history") o.no_history = true;
  else return false;
  return true;
}

bool takes_value(std::string_view name) {
  return name == "client" || name == "server" || name == "ssh" || name == "predict" || name == "port" ||
         name == "bind-server" || name == "family" || name == "experimental-remote-ip" || name == "idle-timeout" ||
         name == "name" || name == "history" ||
         name == "udp-timeout" || name == "transport" || name == "jump";
}

}  // namespace

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

std::optional<std::string> check_destination(const std::string& destination) {
  // The set OpenSSH 9.x allows for a user or host name given on its command line; a
  // leading '-' would be read as an option.
  constexpr std::string_view allowed_punctuation = "._:%@[]-";
  const auto bad = std::find_if(destination.begin(), destination.end(), [&](char c) {
    const auto u = static_cast<unsigned char>(c);
    const bool alnum = (u >= '0' && u <= '9') || (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z');
    return !alnum && allowed_punctuation.find(c) == std::string_view::npos;
  });
  if (destination.empty()) return std::string("empty host name");
  if (destination[0] == '-') return fmt::format("bad host \"{}\": it must not start with -", destination);
  if (bad != destination.end())
    return fmt::format("bad host \"{}\": only letters, digits and . _ : % @ [ ] - are allowed in a user or host name",
                       destination);
  return std::nullopt;
}

bool valid_prediction_mode(const std::string& mode) {
  return mode == "adaptive" || mode == "always" || mode == "never" || mode == "experimental";
}

result<std::vector<std::string>, std::string> split_command(const std::string& text) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  char quote = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quote) {
      if (c == quote) {
        quote = 0;
      } else if (c == '\\' && quote == '"' && i + 1 < text.size()) {
        word += text[++i];
      } else {
        word += c;
      }
    } else if (c == ' ' || c == '\t' || c == '\n') {
      if (in_word) words.push_back(std::move(word));
      word.clear();
      in_word = false;
    } else if (c == '\'' || c == '"') {
      quote = c;
      in_word = true;
    } else if (c == '\\' && i + 1 < text.size()) {
      word += text[++i];
      in_word = true;
    } else {
      word += c;
      in_word = true;
    }
  }
  if (quote) return failure{fmt::format("unterminated {} quote in \"{}\"", quote, text)};
  if (in_word) words.push_back(std::move(word));
  return words;
}

namespace {

/// Where an option scan stopped.
struct scan_end {
  std::size_t next = 0;    ///< the first word not taken
  bool separator = false;  ///< it stopped at "--" (taken)
};

using parsed_args = std::variant<launcher_options, show_help, show_version>;

/// Takes options from args[i] on, up to "--" (taken) or the first word that is not an
/// option. Returns where it stopped, or help, version or a one-line error.
result<std::variant<scan_end, show_help, show_version>, std::string> scan_options(
    launcher_options& o, const std::vector<std::string>& args, std::size_t i) {
  for (; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") return scan_end{i + 1, true};
    if (a.size() < 2 || a[0] != '-') break;
    if (a[1] == '-') {
      const auto eq = a.find('=');
      const std::string name = a.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
      if (name == "help") return show_help{};
      if (name == "version") return show_version{};
      if (name == "attach" && eq != std::string::npos) {
        if (auto err = apply_long(o, name, a.substr(eq + 1)); !err.empty()) return failure{err};
        continue;
      }
      if (apply_flag(o, name)) {
        if (eq != std::string::npos) return failure{fmt::format("option --{} takes no value", name)};
        continue;
      }
      if (!takes_value(name)) return failure{fmt::format("unknown option --{}", name)};
      std::string value;
      if (eq != std::string::npos) {
        value = a.substr(eq + 1);
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        return failure{fmt::format("option --{} needs a value", name)};
      }
      if (auto err = apply_long(o, name, value); !err.empty()) return failure{err};
      continue;
    }
    for (std::size_t k = 1; k < a.size(); ++k) {
      const char letter = a[k];
      if (letter == 'a') o.predict = "always";
      else if (letter == 'n') o.predict = "never";
      else if (letter == 'o') o.predict_overwrite = true;
      else if (letter == 'h') return show_help{};
      else if (letter == '4') o.family = address_family::inet;
      else if (letter == '6') o.family = address_family::inet6;
      else if (letter == 'p' || letter == 'J') {
        std::string value;
        if (k + 1 < a.size()) value = a.substr(k + 1);
        else if (i + 1 < args.size()) value = args[++i];
        else return failure{fmt::format("option -{} needs a value", letter)};
        if (auto err = apply_long(o, letter == 'p' ? "port" : "jump", value); !err.empty()) return failure{err};
        break;
      } else {
        return failure{fmt::format("unknown option -{}", letter)};
      }
    }
  }
  return scan_end{i, false};
}

}  // namespace

result<std::variant<launcher_options, show_help, show_version>, std::string>
parse_launcher_args(const std::vector<std::string>& args) {
  launcher_options o;
  o.original_args = args;
  auto first = scan_options(o, args, 0);
  if (!first) return failure{first.error()};
  if (std::holds_alternative<show_help>(*first)) return show_help{};
  if (std::holds_alternative<show_version>(*first)) return show_version{};
  std::size_t i = std::get<scan_end>(*first).next;
  const bool separator = std::get<scan_end>(*first).separator;  // the options ended at "--"

  if (o.fake_proxy) {
    if (args.size() - i != 2) return failure{std::string("--fake-proxy needs exactly HOST PORT")};
    o.host = args[i];
    o.proxy_port = args[i + 1];
    return o;
  }
  // `mosh2 --local -- command`: no address, so the default one and all words are the command.
  const bool local_without_host = o.local && separator && i < args.size() && !numeric_address(args[i]);
  if (i < args.size() && !local_without_host) {
    o.host = args[i++];
    if (separator) {
      if (i < args.size() && args[i] == "--") ++i;
    } else {
      // As the stock wrapper, options may follow the host; they end at "--" or at the
      // command's first word, so that the command keeps its own options.
      auto more = scan_options(o, args, i);
      if (!more) return failure{more.error()};
      if (std::holds_alternative<show_help>(*more)) return show_help{};
      if (std::holds_alternative<show_version>(*more)) return show_version{};
      i = std::get<scan_end>(*more).next;
    }
  }
  o.command.assign(args.begin() + static_cast<std::ptrdiff_t>(std::min(i, args.size())), args.end());
  if (o.local) {
    if (o.host.empty()) o.host = "127.0.0.1";
    if (!numeric_address(o.host))
      return failure{fmt::format("--local needs a numeric local address, not \"{}\"", o.host)};
  } else if (o.host.empty()) {
    return failure{std::string("no host given (usage: mosh2 [options] [user@]host [-- command...])")};
  }
  if (auto err = check_destination(o.host)) return failure{*err};
  // An attach resumes what runs already: nothing about a new session applies.
  if (o.attach && !o.command.empty()) return failure{std::string("--attach resumes a session and takes no command")};
  if (o.attach && !o.name.empty()) return failure{std::string("--attach and --name exclude each other")};
  return o;
}

}  // namespace mosh2::launcher

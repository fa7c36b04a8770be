// The server's command line and the ssh command around it.

#include "mosh2/launcher/server_command.hpp"

#include <string_view>

#include <fmt/format.h>

namespace mosh2::launcher {

std::string shell_quote(const std::string& word) {
  std::string out = "'";
  for (char c : word) {
    if (c == '\'') out += "'\\''";
    else out += c;
  }
  return out + "'";
}

std::vector<std::string> server_arguments(const launcher_options& o, int colors,
                                          const std::vector<std::pair<std::string, std::string>>& locale) {
  if (o.attach) {
    std::vector<std::string> args{"attach"};
    if (o.attach_to) args.push_back(*o.attach_to);
    return args;
  }
  std::vector<std::string> args{"new", "-c", std::to_string(colors)};
  if (o.bind == launcher_options::bind_mode::address) {
    args.insert(args.end(), {"-i", o.bind_address});
  } else if (o.bind == launcher_options::bind_mode::ssh) {
    // --local has no ssh connection to bind to: the server binds the address given.
    if (o.local && !o.bind_set) args.insert(args.end(), {"-i", o.host});
    else args.push_back("-s");
  }
  if (o.ports) args.insert(args.end(), {"-p", *o.ports});
  if (o.idle_timeout) args.insert(args.end(), {"--idle-timeout", *o.idle_timeout});
  if (!o.name.empty()) args.insert(args.end(), {"--name", o.name});
  if (o.history) args.insert(args.end(), {"--history", *o.history});
  // Through jump hosts: the relays there end with the session (os/relay_end.hpp).
  if (!o.jumps.empty()) args.push_back("--relay-end");
  for (const auto& [name, value] : locale) args.insert(args.end(), {"-l", fmt::format("{}={}", name, value)});
  if (!o.command.empty()) {
    args.push_back("--");
    args.insert(args.end(), o.command.begin(), o.command.end());
  }
  return args;
}

std::string remote_command(const launcher_options& o, const std::vector<std::string>& server_args) {
  std::string out;
  if (o.remote_ip == remote_ip_mode::remote) {
    // Run by sh whatever the login shell is; `;` separates commands in every shell.
    out = shell_quote("sh") + " -c " +
          shell_quote(R"([ -n "$SSH_CONNECTION" ] && printf '\nMOSH SSH_CONNECTION %s\n' "$SSH_CONNECTION")") + " ; ";
  }
  out += fmt::format("env {}={} ", first_contact_variable, first_contact_window.count());
  if (o.detached_notice && !o.attach) out += fmt::format("{}=1 ", report_detached_variable);
  out += o.server.value_or("mosh2-server");
  // Two appends rather than `" " + quoted`: GCC 12 at -O3 warns a false -Wrestrict
  // (bug 105329) on operator+(const char*, string&&).
  for (const auto& a : server_args) {
    out += ' ';
    out += shell_quote(a);
  }
  return out;
}

std::vector<std::string> ssh_argv(const launcher_options& o, const std::string& self, const std::string& destination,
                                  const std::string& remote, bool with_input) {
  std::vector<std::string> argv = o.ssh;
  if (!with_input) argv.push_back("-n");
  if (o.ssh_pty) argv.push_back("-tt");
  if (o.remote_ip == remote_ip_mode::proxy) {
    // No connection sharing: a shared connection would not run our ProxyCommand.
    argv.insert(argv.end(), {"-S", "none", "-o",
                             fmt::format("ProxyCommand={} --family={} --fake-proxy -- %h %p", shell_quote(self),
                                         family_word(o.family))});
  }
  argv.insert(argv.end(), {destination, "--", remote});
  return argv;
}

std::vector<std::string> stream_ssh_argv(const launcher_options& o, const std::string& destination,
                                         const std::string& port) {
  std::vector<std::string> argv = o.ssh;
  // No pseudo-terminal (it would mangle the frames) and no questions: the terminal is the
  // session's by then, so ssh must log in by itself (agent, key, ControlMaster).
  argv.insert(argv.end(), {"-T", "-o", "BatchMode=yes"});
  if (o.family == address_family::inet) argv.push_back("-4");
  if (o.family == address_family::inet6) argv.push_back("-6");
  std::string remote = fmt::format("{} stream-relay {}", o.server.value_or("mosh2-server"), shell_quote(port));
  if (o.bind == launcher_options::bind_mode::address) {
    remote += ' ';
    remote += shell_quote(o.bind_address);
  }
  argv.insert(argv.end(), {destination, "--", remote});
  return argv;
}

bool names_mosh2_server(const std::string& server) {
  std::string first = server.substr(0, server.find_first_of(" \t"));
  const auto slash = first.rfind('/');
  if (slash != std::string::npos) first.erase(0, slash + 1);
  return first.rfind("mosh2-server", 0) == 0;
}

std::optional<std::string> proxy_jump_of(std::string_view out) {
  std::size_t start = 0;
  while (start < out.size()) {
    auto end = out.find('\n', start);
    if (end == std::string_view::npos) end = out.size();
    std::string_view line = out.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    constexpr std::string_view key = "proxyjump ";
    if (line.substr(0, key.size()) == key) {
      std::string_view value = line.substr(key.size());
      if (value.empty() || value == "none") return std::nullopt;
      return std::string(value);
    }
    start = end + 1;
  }
  return std::nullopt;
}

std::string shell_word(const std::string& word) {
  constexpr std::string_view plain = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./_-";
  if (!word.empty() && word.find_first_not_of(plain) == std::string::npos) return word;
  return shell_quote(word);
}

std::string ssh_check_command(const launcher_options& o, const std::string& destination) {
  std::string out;
  for (const auto& w : o.ssh) {
    if (!out.empty()) out += ' ';
    out += shell_word(w);
  }
  if (o.family == address_family::inet) out += " -4";
  if (o.family == address_family::inet6) out += " -6";
  out += ' ';
  out += destination;
  return out;
}

std::string host_part(const std::string& destination) {
  const auto at = destination.rfind('@');
  return at == std::string::npos ? destination : destination.substr(at + 1);
}

std::string with_host(const std::string& destination, const std::string& address) {
  const auto at = destination.rfind('@');
  return at == std::string::npos ? address : destination.substr(0, at + 1) + address;
}

}  // namespace mosh2::launcher

// The launcher's environment, address and failure decisions.

#include "mosh2/launcher/session_plan.hpp"

#include <fmt/format.h>

#include "mosh2/launcher/server_command.hpp"

namespace mosh2::launcher {

result<std::string, std::string> prediction_mode(const launcher_options& o, const os::environment_lookup& env) {
  std::string mode = "adaptive";
  if (auto e = env("MOSH_PREDICTION_DISPLAY"); e && !e->empty()) {
    if (!valid_prediction_mode(*e))
      return failure{
          fmt::format("unknown MOSH_PREDICTION_DISPLAY \"{}\" (adaptive, always, never or experimental)", *e)};
    mode = *e;
  }
  if (o.predict) mode = *o.predict;
  return mode;
}

std::vector<std::pair<std::string, std::string>> locale_variables(const os::environment_lookup& env) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const char* name : {"LANG", "LANGUAGE", "LC_CTYPE", "LC_NUMERIC", "LC_TIME", "LC_COLLATE", "LC_MONETARY",
                           "LC_MESSAGES", "LC_PAPER", "LC_NAME", "LC_ADDRESS", "LC_TELEPHONE", "LC_MEASUREMENT",
                           "LC_IDENTIFICATION", "LC_ALL"}) {
    if (auto v = env(name)) out.emplace_back(name, *v);
  }
  return out;
}

result<std::vector<std::string>, std::string> local_server_argv(const launcher_options& o,
                                                                const std::string& default_server,
                                                                const std::vector<std::string>& server_args) {
  auto server = split_command(o.server.value_or(default_server));
  if (!server || server->empty()) return failure{std::string("bad --server command")};
  std::vector<std::string> argv = *server;
  argv.insert(argv.end(), server_args.begin(), server_args.end());
  return argv;
}

os::child_setup bootstrap_setup(const launcher_options& o, const std::optional<std::string>& home) {
  os::child_setup s;
  s.unset = {"MOSH_PREDICTION_DISPLAY"};
  if (o.local) {
    s.unset.push_back("SSH_CONNECTION");
    s.set.emplace_back(first_contact_variable, std::to_string(first_contact_window.count()));
    if (o.detached_notice && !o.attach) s.set.emplace_back(report_detached_variable, "1");
    s.directory = home;
  } else {
    s.set.emplace_back("SHELL", "/bin/sh");
  }
  return s;
}

client_launch client_launch_for(const launcher_options& o, const std::string& client, const std::string& predict,
                                const std::string& ip, const connect_line& connect, long launcher_pid) {
  client_launch c;
  std::string decoration = "-# mosh2";
  for (const auto& a : o.original_args) decoration += " " + a;
  decoration += " |";
  c.argv = {client, decoration, ip, connect.port};
  // Only when asked: a stock mosh-client (--client) knows no such option.
  if (o.no_history) c.argv.insert(c.argv.begin() + 1, "--no-history");
  c.setup.set = {{"MOSH_KEY", connect.key}, {"MOSH_PREDICTION_DISPLAY", predict}};
  if (o.predict_overwrite) c.setup.set.emplace_back("MOSH_PREDICTION_OVERWRITE", "yes");
  if (o.no_init) c.setup.set.emplace_back("MOSH_NO_TERM_INIT", "1");
  if (o.allow_no_tty) c.setup.set.emplace_back(os::client_allow_no_tty_variable, "1");
  if (o.udp_timeout) c.setup.set.emplace_back(os::udp_timeout_variable, *o.udp_timeout);
  c.setup.set.emplace_back(os::transport_variable, o.transport);
  // Over ssh the host answered and the server started: the client's advice about UDP says so.
  if (!o.local) c.setup.set.emplace_back(os::ssh_host_variable, host_part(o.host));
  c.setup.set.emplace_back("MOSH_CLIENT_PID", std::to_string(launcher_pid));
  return c;
}

result<std::string, std::string> server_address(const launcher_options& o, const std::optional<std::string>& known,
                                                const startup_reader& reader) {
  if (known) return *known;
  if (o.remote_ip == remote_ip_mode::remote && reader.ssh_connection_ip()) return *reader.ssh_connection_ip();
  if (reader.proxy_ip()) return *reader.proxy_ip();
  if (o.remote_ip == remote_ip_mode::remote)
    return failure{
        std::string("the remote shell did not print its SSH_CONNECTION (try --experimental-remote-ip=proxy)")};
  return failure{std::string("did not learn the server's IP address (is ssh's ProxyCommand disabled?)")};
}

startup_failure failure_of(const launcher_options& o, const std::string& server_name, const std::string& destination,
                           const startup_reader& reader, const bootstrap_end& end) {
  startup_failure f;
  f.local = o.local;
  f.host = o.local ? o.host : host_part(o.host);
  for (const auto& word : o.ssh) f.ssh += (f.ssh.empty() ? "" : " ") + word;
  f.server = server_name;
  f.proxy_used = !o.local && o.remote_ip == remote_ip_mode::proxy;
  f.reached_host = reader.proxy_ip().has_value();
  f.printed_anything = reader.printed_anything();
  f.timed_out = end.timed_out;
  f.timeout_seconds = end.timeout_seconds;
  f.signalled = end.signalled;
  f.status = end.status;
  if (!o.local) f.check = ssh_check_command(o, destination);
  return f;
}

}  // namespace mosh2::launcher

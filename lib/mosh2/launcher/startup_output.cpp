// Reading the bootstrap's output, and explaining a bootstrap that ended without MOSH CONNECT.

#include "mosh2/launcher/startup_output.hpp"

#include <regex>

#include <fmt/format.h>

namespace mosh2::launcher {

std::vector<std::string> startup_reader::feed(std::string_view bytes) {
  std::vector<std::string> shown;
  if (done()) return shown;
  pending_.append(bytes);
  for (auto nl = pending_.find('\n'); nl != std::string::npos && !done(); nl = pending_.find('\n')) {
    std::string text = pending_.substr(0, nl);
    pending_.erase(0, nl + 1);
    line(std::move(text), shown);
  }
  return shown;
}

std::vector<std::string> startup_reader::finish() {
  std::vector<std::string> shown;
  if (!done() && !pending_.empty()) line(std::move(pending_), shown);
  pending_.clear();
  return shown;
}

void startup_reader::line(std::string text, std::vector<std::string>& shown) {
  // ssh -tt turns the server's "\n" into "\r\n".
  while (!text.empty() && (text.back() == '\r' || text.back() == '\n')) text.pop_back();
  static const std::regex connect_re(R"(^MOSH CONNECT (\d+) ([A-Za-z0-9+/]{22})\s*$)");
  static const std::regex ip_re(R"(^MOSH IP (\S+)\s*$)");
  static const std::regex ssh_connection_re(R"(^MOSH SSH_CONNECTION \S+ \S+ (\S+) \S+\s*$)");
  std::smatch m;
  if (std::regex_match(text, m, connect_re)) {
    connect_ = connect_line{m[1], m[2]};
  } else if (std::regex_match(text, m, ip_re)) {
    if (proxy_ip_) error_ = "ssh reported the server's IP address twice";
    else proxy_ip_ = m[1];
  } else if (std::regex_match(text, m, ssh_connection_re)) {
    std::string ip = m[1];
    if (ip.rfind("::ffff:", 0) == 0) ip = ip.substr(7);  // an IPv4 peer of a dual-stack sshd
    ssh_connection_ip_ = ip;
  } else if (!text.empty()) {
    printed_ = true;
    shown.push_back(std::move(text));
  }
}

std::string describe(const startup_failure& f) {
  if (f.timed_out)
    return fmt::format("no server startup message (MOSH CONNECT) within {} s", f.timeout_seconds);
  if (f.local) {
    if (f.signalled) return fmt::format("{} was killed by signal {} before it started", f.server, f.status);
    if (f.status == 0)
      return fmt::format("did not find the server's startup message (MOSH CONNECT); is --server={} a mosh server?",
                         f.server);
    return fmt::format("{} did not start (exit status {})", f.server, f.status);
  }
  if (f.signalled) return fmt::format("{} was killed by signal {}", f.ssh, f.status);
  const std::string output = f.printed_anything ? "" : " and printed nothing";
  // Our ProxyCommand runs before anything reaches the host: without its `MOSH IP`,
  // ssh never connected, whatever its exit status says.
  if ((f.proxy_used && !f.reached_host) || f.status == 255) {
    const char* when = f.proxy_used && !f.reached_host ? "before connecting to" : "while talking to";
    return fmt::format("{} failed (exit status {}) {} {}{}; check that `{} {}` works", f.ssh, f.status, when,
                       f.host, output, f.ssh, f.host);
  }
  if (f.status == 127)
    return fmt::format("did not find the server's startup message (MOSH CONNECT); is {} installed on {}? "
                       "(the remote shell did not find it, exit status 127)",
                       f.server, f.host);
  if (f.status == 126)
    return fmt::format("{} on {} is not executable (exit status 126)", f.server, f.host);
  if (f.status == 0)
    return fmt::format("did not find the server's startup message (MOSH CONNECT); is {} on {} a mosh server?",
                       f.server, f.host);
  return fmt::format("{} on {} did not start (exit status {})", f.server, f.host, f.status);
}

}  // namespace mosh2::launcher

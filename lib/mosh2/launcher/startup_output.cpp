// Reading the bootstrap's output, and explaining a bootstrap that ended without MOSH CONNECT.

#include "mosh2/launcher/startup_output.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace mosh2::launcher {
namespace {

/// What the protocol lines call white space (a line's end has no '\\n' left in it).
bool blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

bool digit(char c) { return c >= '0' && c <= '9'; }

/// The characters of a base64 session key.
bool key_char(char c) {
  return digit(c) || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '+' || c == '/';
}

/// `text` without trailing white space.
std::string_view trim_end(std::string_view text) {
  while (!text.empty() && blank(text.back())) text.remove_suffix(1);
  return text;
}

/// Splits `text` at single spaces into exactly `n` non-empty words without white space,
/// or returns nothing.
std::optional<std::vector<std::string_view>> words(std::string_view text, std::size_t n) {
  std::vector<std::string_view> out;
  for (;;) {
    const auto space = text.find(' ');
    const std::string_view word = text.substr(0, space);
    if (word.empty() || std::any_of(word.begin(), word.end(), blank) || out.size() == n) return std::nullopt;
    out.push_back(word);
    if (space == std::string_view::npos) break;
    text.remove_prefix(space + 1);
  }
  if (out.size() != n) return std::nullopt;
  return out;
}

/// `MOSH CONNECT <port digits> <22-character key>`, the rest of the line after the prefix.
std::optional<connect_line> parse_connect(std::string_view rest) {
  auto w = words(trim_end(rest), 2);
  if (!w) return std::nullopt;
  const auto port = (*w)[0], key = (*w)[1];
  if (!std::all_of(port.begin(), port.end(), digit)) return std::nullopt;
  if (key.size() != 22 || !std::all_of(key.begin(), key.end(), key_char)) return std::nullopt;
  return connect_line{std::string(port), std::string(key)};
}

}  // namespace

std::vector<std::string> startup_reader::feed(std::string_view bytes) {
  std::vector<std::string> shown;
  while (!done() && !bytes.empty()) {
    // Only the new bytes are scanned: the held part is known to hold no newline.
    const auto nl = bytes.find('\n');
    const std::string_view piece = bytes.substr(0, nl);
    if (total_ + piece.size() + 1 > max_total) {
      error_ = fmt::format("more than {} MiB of output from the bootstrap before MOSH CONNECT",
                           max_total / (1024 * 1024));
      break;
    }
    if (pending_.size() + piece.size() > max_line) {
      error_ = fmt::format("a line of the bootstrap's output is longer than {} KiB", max_line / 1024);
      break;
    }
    total_ += piece.size() + (nl == std::string_view::npos ? 0 : 1);
    pending_.append(piece);
    if (nl == std::string_view::npos) break;
    bytes.remove_prefix(nl + 1);
    std::string text = std::move(pending_);
    pending_.clear();
    line(std::move(text), shown);
  }
  if (done()) pending_.clear();
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
  const std::string_view t = text;
  constexpr std::string_view connect_prefix = "MOSH CONNECT ", ip_prefix = "MOSH IP ",
                             ssh_connection_prefix = "MOSH SSH_CONNECTION ", detached_prefix = "MOSH2 DETACHED ",
                             relay_end_prefix = "MOSH2 RELAY-END ";
  if (t.starts_with(connect_prefix)) {
    if (auto c = parse_connect(t.substr(connect_prefix.size()))) {
      connect_ = std::move(*c);
      return;
    }
  } else if (t.starts_with(ip_prefix)) {
    if (auto w = words(trim_end(t.substr(ip_prefix.size())), 1)) {
      if (proxy_ip_) error_ = "ssh reported the server's IP address twice";
      else proxy_ip_ = std::string((*w)[0]);
      return;
    }
  } else if (t.starts_with(detached_prefix)) {
    if (auto w = words(trim_end(t.substr(detached_prefix.size())), 1)) {
      detached_ = std::string((*w)[0]);
      return;
    }
  } else if (t.starts_with(relay_end_prefix)) {
    if (auto w = words(trim_end(t.substr(relay_end_prefix.size())), 1)) {
      relay_end_ = std::string((*w)[0]);
      return;
    }
  } else if (t.starts_with(ssh_connection_prefix)) {
    // client address, client port, server address, server port
    if (auto w = words(trim_end(t.substr(ssh_connection_prefix.size())), 4)) {
      std::string ip((*w)[2]);
      if (ip.rfind("::ffff:", 0) == 0) ip = ip.substr(7);  // an IPv4 peer of a dual-stack sshd
      ssh_connection_ip_ = ip;
      return;
    }
  }
  if (!text.empty()) {
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
    const std::string check = f.check.empty() ? fmt::format("{} {}", f.ssh, f.host) : f.check;
    return fmt::format("{} failed (exit status {}) {} {}{}; check that `{}` works", f.ssh, f.status, when, f.host,
                       output, check);
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

std::string detached_notice(const std::string& labels, const std::string& host) {
  if (labels.empty()) return {};
  std::string shown;
  std::size_t n = 0, start = 0;
  while (start <= labels.size()) {
    const auto comma = std::min(labels.find(',', start), labels.size());
    if (comma > start) {
      if (n++) shown += ", ";
      shown.append(labels, start, comma - start);
    }
    start = comma + 1;
  }
  if (n == 0) return {};
  return fmt::format("{} detached session{} ({}); mosh2 --attach {} to resume {}", n, n == 1 ? "" : "s", shown, host,
                     n == 1 ? "it" : "one");
}

}  // namespace mosh2::launcher

// The reader's side of the control socket; see control_client.hpp.

#include "mosh2/control/control_client.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace mosh2::control {
namespace {

/// Closes a descriptor on every way out.
struct fd_guard {
  int fd;
  ~fd_guard() {
    if (fd >= 0) ::close(fd);
  }
};

std::string system_error(std::string_view what) { return fmt::format("{}: {}", what, std::strerror(errno)); }

}  // namespace

result<reply, std::string> call(const std::filesystem::path& path, const request& r,
                                std::chrono::milliseconds timeout) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return failure{system_error(path.string())};
  if (!S_ISSOCK(st.st_mode)) return failure{fmt::format("{} is not a socket", path.string())};
  if (st.st_uid != ::geteuid()) return failure{fmt::format("{} belongs to another user", path.string())};
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.string().size() >= sizeof addr.sun_path) return failure{fmt::format("{}: path too long", path.string())};
  std::memcpy(addr.sun_path, path.c_str(), path.string().size());

  fd_guard s{::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)};
  if (s.fd < 0) return failure{system_error("socket")};
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>(timeout.count() % 1000 * 1000);
  ::setsockopt(s.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(s.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (::connect(s.fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0)
    return failure{system_error(fmt::format("cannot connect to {}", path.string()))};

  const std::string text = format_request(r);
  std::size_t sent = 0;
  while (sent < text.size()) {
    const ssize_t n = ::send(s.fd, text.data() + sent, text.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EPIPE) break;  // it answered (a refusal) before reading: read that
    if (n <= 0) return failure{system_error(fmt::format("cannot send to {}", path.string()))};
    sent += static_cast<std::size_t>(n);
  }
  std::string in;
  char buf[4096];
  while (in.find('\n') == std::string::npos && in.size() <= max_reply_bytes) {
    const ssize_t n = ::recv(s.fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      return failure{fmt::format("{}: no reply within {} ms", path.string(), timeout.count())};
    if (n < 0) return failure{system_error(fmt::format("cannot read from {}", path.string()))};
    if (n == 0) break;
    in.append(buf, static_cast<std::size_t>(n));
  }
  const auto newline = in.find('\n');
  if (newline == std::string::npos) return failure{fmt::format("{}: incomplete reply", path.string())};
  return parse_reply(std::string_view(in).substr(0, newline));
}

}  // namespace mosh2::control

#pragma once
// The session's side of the control socket (docs/status.md, "Control socket"): a Unix
// stream socket `<pid>.sock` beside the status file, mode 0600 in a private directory,
// and the stage that serves it. Every connection's peer credentials are checked
// (SO_PEERCRED): only this user and root are served.

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/local/stream_protocol.hpp>

#include "mosh2/control/protocol.hpp"

namespace mosh2::control {

/// How long one connection may take to send its request and read the reply. The
/// stage serves connections one by one, so this bounds what a silent client costs
/// the others.
inline constexpr std::chrono::milliseconds connection_limit{1000};

/// `<dir>/<pid>.sock`.
inline std::filesystem::path control_socket_path(const std::filesystem::path& dir, pid_t pid) {
  // Inline: status readers need the name without compiling the coroutine stage (clang
  // 14 cannot build that with the fuzz build's instrumentation and debug info).
  return dir / (std::to_string(pid) + ".sock");
}

/// True when the process at the other end of the connected Unix socket `fd` runs as
/// this user or as root.
bool peer_allowed(int fd);

/// A session's listening socket, removed again when it closes. Opening never throws:
/// a session without a control socket still works, and problem() says why.
class control_endpoint {
public:
  /// Listens on `<dir>/<pid>.sock` in the first of `dirs` that passes
  /// check_private_directory (created if missing). A stale socket of a dead process
  /// with the same pid is replaced.
  control_endpoint(asio::io_context& ctx, const std::vector<std::filesystem::path>& dirs, pid_t pid);
  ~control_endpoint();
  control_endpoint(const control_endpoint&) = delete;
  control_endpoint& operator=(const control_endpoint&) = delete;

  asio::local::stream_protocol::acceptor& acceptor() { return acceptor_; }
  /// The socket's path while listening.
  const std::optional<std::filesystem::path>& path() const { return path_; }
  /// Why there is no socket (empty when listening).
  const std::string& problem() const { return problem_; }
  /// Stops listening (serve_control returns) and removes the socket.
  void close();

private:
  asio::local::stream_protocol::acceptor acceptor_;
  std::optional<std::filesystem::path> path_;
  std::string problem_;
};

/// Serves `acceptor` until it is closed or cancelled: one request per connection, one
/// connection at a time, each bounded by connection_limit. A bad client (wrong user,
/// silent, oversize, malformed, gone) costs at most that and never throws; only a
/// shutdown (io::is_shutdown) ends the stage. Returns at once when not listening.
asio::awaitable<void> serve_control(asio::local::stream_protocol::acceptor& acceptor, control_handler& handler);

}  // namespace mosh2::control

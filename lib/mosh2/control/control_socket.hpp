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
#include <asio/posix/stream_descriptor.hpp>

#include "mosh2/control/protocol.hpp"
#include "mosh2/control/status_dir.hpp"

namespace mosh2::control {

/// How long one connection may take to send its request and read the reply. The
/// stage serves connections one by one, so this bounds what a silent client costs
/// the others.
inline constexpr std::chrono::milliseconds connection_limit{1000};

/// True when the process at the other end of the connected Unix socket `fd` runs as
/// this user or as root.
bool peer_allowed(int fd);

/// The listening socket `<pid>.sock` in the chosen status directory, created
/// close-on-exec (the programs a session forks must not inherit it). It is the
/// acceptor serve_control runs on, and knows how to listen again elsewhere. It watches
/// its directory (inotify: removed, moved away, unmounted) so that an idle session
/// learns that the directory went without waking up to look.
class control_listener : public asio::local::stream_protocol::acceptor {
public:
  control_listener(asio::io_context& ctx, std::vector<std::filesystem::path> dirs, pid_t pid);
  control_listener(const control_listener&) = delete;
  control_listener& operator=(const control_listener&) = delete;
  ~control_listener();

  /// Listens in the directory choose_status_directory picks now, replacing a socket
  /// this one had. False (and problem() says why) when no directory takes it; a socket
  /// it had keeps listening then.
  bool listen_in_choice();
  /// True while the socket is still at path() and path()'s directory is the one it was
  /// made in.
  bool in_place() const;
  /// Stops listening and removes the socket; serve_control returns.
  void stop();

  const std::optional<std::filesystem::path>& path() const { return path_; }
  const std::string& problem() const { return problem_; }
  /// Readable when the directory changed as above; closed when inotify is unavailable.
  asio::posix::stream_descriptor& directory_changes() { return changes_; }

private:
  void watch_directory();

  asio::posix::stream_descriptor changes_;
  std::vector<std::filesystem::path> dirs_;
  pid_t pid_;
  std::optional<private_directory> dir_;
  std::optional<std::filesystem::path> path_;
  ino_t socket_ino_ = 0;
  std::string problem_;
};

/// A session's listening socket, removed again when it closes. Opening never throws:
/// a session without a control socket still works, and problem() says why.
class control_endpoint {
public:
  /// Listens on `<dir>/<pid>.sock` in the directory choose_status_directory picks from
  /// `dirs` (the status file's choice). A stale socket of a dead process with the same
  /// pid is replaced.
  control_endpoint(asio::io_context& ctx, const std::vector<std::filesystem::path>& dirs, pid_t pid)
      : listener_(ctx, dirs, pid) {}
  ~control_endpoint() { close(); }
  control_endpoint(const control_endpoint&) = delete;
  control_endpoint& operator=(const control_endpoint&) = delete;

  control_listener& acceptor() { return listener_; }
  /// The socket's path while listening.
  const std::optional<std::filesystem::path>& path() const { return listener_.path(); }
  /// Why there is no socket (empty when listening).
  const std::string& problem() const { return listener_.problem(); }
  /// Stops listening (serve_control returns) and removes the socket.
  void close() { listener_.stop(); }

private:
  control_listener listener_;
};

/// Serves `listener` until it is stopped or cancelled: one request per connection, one
/// connection at a time, each bounded by connection_limit. A bad client (wrong user,
/// silent, oversize, malformed, gone) costs at most that and never throws; only a
/// shutdown (io::is_shutdown) ends the stage. When the socket's directory goes
/// (logind removes /run/user/UID at logout), it listens again where the one directory
/// choice (status_dir.hpp) now points, as the status file does on its next write.
/// Returns at once when not listening.
asio::awaitable<void> serve_control(control_listener& listener, control_handler& handler);

}  // namespace mosh2::control

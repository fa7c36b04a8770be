// The session's control socket; see control_socket.hpp.

#include "mosh2/control/control_socket.hpp"

#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <tuple>
#include <cerrno>
#include <cstring>

#include <asio/steady_timer.hpp>
#include <asio/write.hpp>
#include <fmt/format.h>

#include "mosh2/util/io.hpp"

namespace mosh2::control {
namespace {

using namespace asio::experimental::awaitable_operators;
using stream = asio::local::stream_protocol;

/// How long the socket waits after its directory changed before it looks again.
constexpr std::chrono::milliseconds removal_settle_time{1000};

/// Writes `text` to `peer` unless `deadline` expires first; errors mean the client left.
asio::awaitable<void> send_bounded(stream::socket& peer, const std::string& text, asio::steady_timer& deadline) {
  co_await (asio::async_write(peer, asio::buffer(text), io::use_nothrow) || deadline.async_wait(io::use_nothrow));
}

/// One connection: read one request line within the deadline, answer it, close.
asio::awaitable<void> serve_one(stream::socket peer, control_handler& handler) {
  // Asio accepts without SOCK_CLOEXEC. The session is one thread, so nothing forks
  // between the accept and this.
  ::fcntl(peer.native_handle(), F_SETFD, FD_CLOEXEC);
  asio::steady_timer deadline(peer.get_executor(), connection_limit);
  if (!peer_allowed(peer.native_handle())) {
    co_await send_bounded(peer, refused_reply(), deadline);
    co_return;
  }
  request_buffer request;
  std::array<char, 512> chunk{};
  while (request.current() == request_buffer::state::incomplete) {
    auto r = co_await (peer.async_read_some(asio::buffer(chunk), io::use_nothrow) ||
                       deadline.async_wait(io::use_nothrow));
    if (r.index() == 1) co_return;  // silent for too long: the next client's turn
    auto [ec, n] = std::get<0>(r);
    request.feed(std::string_view(chunk.data(), n));
    if (ec == asio::error::eof) request.end_of_input();
    else if (ec) co_return;  // the client went away
    if (ec && request.current() == request_buffer::state::incomplete) co_return;
  }
  const std::string reply = request.current() == request_buffer::state::oversize
                                ? oversize_reply()
                                : respond(request.line(), handler);
  co_await send_bounded(peer, reply, deadline);
}

}  // namespace

bool peer_allowed(int fd) {
  struct ucred cred {};
  socklen_t len = sizeof cred;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || len != sizeof cred) return false;
  return cred.uid == ::geteuid() || cred.uid == 0;
}

control_listener::control_listener(asio::io_context& ctx, std::vector<std::filesystem::path> dirs, pid_t pid)
    : stream::acceptor(ctx), changes_(ctx), dirs_(std::move(dirs)), pid_(pid) {
  if (const int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC); fd >= 0) {
    asio::error_code ec;
    changes_.assign(fd, ec);
    if (ec) ::close(fd);
  }
  (void)listen_in_choice();
}

void control_listener::watch_directory() {
  if (!changes_.is_open() || !dir_) return;
  // Through the descriptor, so the watches are on what was checked. Not the directory's
  // entries (they change on every status rewrite): the directory itself (moved away,
  // unmounted) and the socket, whose unlinking (as removing the directory must do
  // first) changes its link count. Our open descriptor delays the directory's own
  // IN_DELETE_SELF until it is closed.
  ::inotify_add_watch(changes_.native_handle(), dir_->through_fd("").c_str(),
                      IN_DELETE_SELF | IN_MOVE_SELF | IN_UNMOUNT | IN_ONLYDIR);
  ::inotify_add_watch(changes_.native_handle(), dir_->through_fd(control_socket_name(pid_)).c_str(),
                      IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF);
}

control_listener::~control_listener() { stop(); }

bool control_listener::listen_in_choice() {
  auto dir = choose_status_directory(dirs_, pid_);
  if (!dir) {
    problem_ = dir.error();
    return false;
  }
  const std::string name = control_socket_name(pid_);
  const auto path = control_socket_path(dir->path(), pid_);
  // choose_status_directory left only a socket (a dead process's with our pid, or our
  // own old one) under this name.
  ::unlinkat(dir->fd(), name.c_str(), 0);
  const auto fail = [&](const char* what, int e) {
    problem_ = fmt::format("cannot {} on {}: {}", what, path.string(), std::strerror(e));
    return false;
  };
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail("listen", errno);
  // Bound through the directory's descriptor, so the name lands in the directory that
  // was checked even if its path was swapped since; the plain path when /proc is not
  // mounted.
  const auto bind_to = [&](const std::string& where) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, where.c_str(), where.size() + 1);
    return ::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  };
  int rc = bind_to(dir->through_fd(name));
  if (rc != 0 && errno == ENOENT) rc = bind_to(path.string());
  // The directory is already 0700; 0600 on the socket is the second lock.
  if (rc == 0) rc = ::fchmodat(dir->fd(), name.c_str(), 0600, 0);
  if (rc == 0) rc = ::listen(fd, 8);
  struct stat st {};
  if (rc == 0) rc = ::fstatat(dir->fd(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW);
  if (rc != 0) {
    const int e = errno;
    ::close(fd);
    ::unlinkat(dir->fd(), name.c_str(), 0);
    return fail("listen", e);
  }
  asio::error_code ec;
  stream::acceptor fresh(get_executor());
  fresh.assign(stream(), fd, ec);
  if (ec) {
    ::close(fd);
    ::unlinkat(dir->fd(), name.c_str(), 0);
    return fail("listen", ec.value());
  }
  // The old socket (if any) goes; a name it left in a directory still reachable is
  // removed, unless the new socket took that very name.
  const bool same_name = dir_ && path_ && *path_ == path;
  if (dir_ && path_ && !same_name) {
    struct stat old {};
    if (::fstatat(dir_->fd(), name.c_str(), &old, AT_SYMLINK_NOFOLLOW) == 0 && old.st_ino == socket_ino_)
      ::unlinkat(dir_->fd(), name.c_str(), 0);
  }
  static_cast<stream::acceptor&>(*this) = std::move(fresh);
  dir_ = std::move(*dir);
  path_ = path;
  socket_ino_ = st.st_ino;
  problem_.clear();
  watch_directory();
  return true;
}

bool control_listener::in_place() const {
  if (!dir_ || !path_ || !dir_->still_at_path()) return false;
  struct stat st {};
  return ::fstatat(dir_->fd(), control_socket_name(pid_).c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
         S_ISSOCK(st.st_mode) && st.st_ino == socket_ino_;
}

void control_listener::stop() {
  asio::error_code ignored;
  stream::acceptor::close(ignored);
  if (dir_ && path_) {
    struct stat st {};
    const std::string name = control_socket_name(pid_);
    if (::fstatat(dir_->fd(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_ino == socket_ino_)
      ::unlinkat(dir_->fd(), name.c_str(), 0);
  }
  path_.reset();
  dir_.reset();
  changes_.close(ignored);
}

asio::awaitable<void> serve_control(control_listener& acceptor, control_handler& handler) {
  std::array<char, 4096> events{};
  while (acceptor.is_open()) {
    stream::socket peer(acceptor.get_executor());
    asio::error_code ec;
    if (acceptor.directory_changes().is_open()) {
      auto r = co_await (acceptor.async_accept(io::use_nothrow) ||
                         acceptor.directory_changes().async_read_some(asio::buffer(events), io::use_nothrow));
      if (!acceptor.is_open()) co_return;
      if (r.index() == 1) {
        auto [rec, n] = std::get<1>(r);
        (void)n;
        if (io::is_shutdown(rec)) co_return;
        if (rec) {
          asio::error_code ignored;
          acceptor.directory_changes().close(ignored);  // watching broke: serve on without it
          continue;
        }
        // The socket goes first when the whole directory is being removed (rm -rf, as at
        // logout): listening again at once would put it back into the dying directory
        // and make its removal fail. A moment later the removal is over.
        asio::steady_timer settle(acceptor.get_executor(), removal_settle_time);
        auto [sec] = co_await settle.async_wait(io::use_nothrow);
        if (io::is_shutdown(sec) || !acceptor.is_open()) co_return;
        if (!acceptor.in_place()) (void)acceptor.listen_in_choice();
        continue;
      }
      std::tie(ec, peer) = std::move(std::get<0>(r));
    } else {
      std::tie(ec, peer) = co_await acceptor.async_accept(io::use_nothrow);
      if (!acceptor.is_open()) co_return;
    }
    if (io::is_shutdown(ec)) co_return;
    if (ec) {
      // Not a client's doing (e.g. out of descriptors) and no reason to end the session:
      // pause so that a persistent error does not spin, then listen again.
      asio::steady_timer pause(acceptor.get_executor(), std::chrono::milliseconds(100));
      auto [pec] = co_await pause.async_wait(io::use_nothrow);
      if (io::is_shutdown(pec)) co_return;
      continue;
    }
    co_await serve_one(std::move(peer), handler);
  }
}

}  // namespace mosh2::control

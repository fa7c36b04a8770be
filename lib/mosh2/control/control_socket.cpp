// The session's control socket; see control_socket.hpp.

#include "mosh2/control/control_socket.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include <asio/steady_timer.hpp>
#include <asio/write.hpp>
#include <fmt/format.h>

#include "mosh2/control/private_dir.hpp"
#include "mosh2/util/io.hpp"

namespace mosh2::control {
namespace {

using namespace asio::experimental::awaitable_operators;
using stream = asio::local::stream_protocol;

/// Writes `text` to `peer` unless `deadline` expires first; errors mean the client left.
asio::awaitable<void> send_bounded(stream::socket& peer, const std::string& text, asio::steady_timer& deadline) {
  co_await (asio::async_write(peer, asio::buffer(text), io::use_nothrow) || deadline.async_wait(io::use_nothrow));
}

/// One connection: read one request line within the deadline, answer it, close.
asio::awaitable<void> serve_one(stream::socket peer, control_handler& handler) {
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

control_endpoint::control_endpoint(asio::io_context& ctx, const std::vector<std::filesystem::path>& dirs, pid_t pid)
    : acceptor_(ctx) {
  for (const auto& dir : dirs) {
    if (auto bad = check_private_directory(dir, true)) {
      problem_ = *bad;
      continue;
    }
    const auto path = control_socket_path(dir, pid);
    if (path.string().size() >= sizeof(sockaddr_un::sun_path)) {
      problem_ = fmt::format("{}: path too long for a Unix socket", path.string());
      continue;
    }
    // A socket with our pid is a dead process's (pids are reused); anything else there
    // was not made by us and is left alone.
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0) {
      if (!S_ISSOCK(st.st_mode)) {
        problem_ = fmt::format("{} exists and is not a socket", path.string());
        continue;
      }
      ::unlink(path.c_str());
    }
    asio::error_code ec;
    acceptor_.open(stream(), ec);
    if (!ec) acceptor_.bind(stream::endpoint(path.string()), ec);
    // The directory is already 0700; 0600 on the socket is the second lock.
    if (!ec && ::chmod(path.c_str(), 0600) != 0) ec = asio::error_code(errno, asio::system_category());
    if (!ec) acceptor_.listen(8, ec);
    if (ec) {
      problem_ = fmt::format("cannot listen on {}: {}", path.string(), ec.message());
      asio::error_code ignored;
      acceptor_.close(ignored);
      ::unlink(path.c_str());
      continue;
    }
    path_ = path;
    problem_.clear();
    return;
  }
  if (dirs.empty()) problem_ = "status files are off (MOSH2_STATUS_DIR is empty)";
}

control_endpoint::~control_endpoint() { close(); }

void control_endpoint::close() {
  asio::error_code ignored;
  acceptor_.close(ignored);
  if (path_) ::unlink(path_->c_str());
  path_.reset();
}

asio::awaitable<void> serve_control(stream::acceptor& acceptor, control_handler& handler) {
  while (acceptor.is_open()) {
    auto [ec, peer] = co_await acceptor.async_accept(io::use_nothrow);
    if (!acceptor.is_open() || io::is_shutdown(ec)) co_return;
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

// A two-way copy loop over poll(2).

#include "mosh2/os/tcp_relay.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <string_view>
#include <vector>

#include "mosh2/os/local_terminal.hpp"

namespace mosh2::os {

int relay(int in, int out, int sock) {
  std::signal(SIGPIPE, SIG_IGN);
  std::vector<char> buf(65536);
  bool in_open = true;
  for (;;) {
    pollfd fds[2] = {{in, static_cast<short>(in_open ? POLLIN : 0), 0}, {sock, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return 1;
    }
    if (in_open && (fds[0].revents & (POLLIN | POLLHUP | POLLERR))) {
      const ssize_t n = ::read(in, buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        in_open = false;
        ::shutdown(sock, SHUT_WR);
      } else if (!write_all(sock, std::string_view(buf.data(), static_cast<std::size_t>(n)))) {
        return 1;
      }
    }
    if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
      const ssize_t n = ::read(sock, buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return 0;
      if (!write_all(out, std::string_view(buf.data(), static_cast<std::size_t>(n)))) return 1;
    }
  }
}

}  // namespace mosh2::os

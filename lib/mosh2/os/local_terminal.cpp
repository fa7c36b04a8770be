// Raw mode and the terminal init/reset strings of the client.

#include "mosh2/os/local_terminal.hpp"

#include <poll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <string_view>

#include "mosh2/terminal/limits.hpp"

namespace mosh2::os {

std::optional<window_size> query_window_size(int fd) {
  winsize ws {};
  if (::ioctl(fd, TIOCGWINSZ, &ws) != 0 || ws.ws_col == 0 || ws.ws_row == 0) return std::nullopt;
  // Clamped like every later resize, so the first screen obeys the same limits.
  const auto size = terminal::clamp_screen_size(ws.ws_col, ws.ws_row);
  return window_size{size.width, size.height};
}

raw_mode::raw_mode(int fd) : fd_(fd) {
  if (::tcgetattr(fd_, &saved_) == 0) have_saved_ = true;
  enter();
}

raw_mode::~raw_mode() { restore(); }

void raw_mode::enter() {
  if (!have_saved_) return;
  termios raw = saved_;
  ::cfmakeraw(&raw);
  raw.c_iflag |= IUTF8;
  if (::tcsetattr(fd_, TCSANOW, &raw) == 0) active_ = true;
}

void raw_mode::restore() {
  if (active_ && have_saved_) ::tcsetattr(fd_, TCSANOW, &saved_);
  active_ = false;
}

bool write_all(int fd, std::string_view data) {
  int stalls = 0;
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n > 0) {
      data.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN && ++stalls < 1000) {
      pollfd p{fd, POLLOUT, 0};
      ::poll(&p, 1, 100);
      continue;
    }
    return false;
  }
  return true;
}

}  // namespace mosh2::os

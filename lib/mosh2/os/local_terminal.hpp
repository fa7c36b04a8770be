#pragma once
// The user's real terminal on the client side: raw mode in, everything restored out,
// on every exit path (the destructor runs on return, exception and signal shutdown).

#include <termios.h>

#include <optional>
#include <string>

namespace mosh2::os {

/// Rows and columns of a terminal, or nothing if `fd` is not one.
struct window_size {
  int width = 80;
  int height = 24;
};
std::optional<window_size> query_window_size(int fd);

/// Puts a tty in raw mode (cfmakeraw + IUTF8) and restores it when destroyed.
class raw_mode {
public:
  explicit raw_mode(int fd);
  ~raw_mode();
  raw_mode(const raw_mode&) = delete;
  raw_mode& operator=(const raw_mode&) = delete;

  /// Back to the saved settings (for suspend); `enter` re-applies raw mode.
  void restore();
  void enter();
  bool active() const { return active_; }

private:
  int fd_;
  termios saved_ {};
  bool have_saved_ = false;
  bool active_ = false;
};

/// Writes all of `data` to `fd`, retrying on EINTR/EAGAIN a bounded number of times.
bool write_all(int fd, std::string_view data);

}  // namespace mosh2::os
